"""Faces for the frameworks people already use: pyannote.audio, WhisperX.

Each module imports its framework, so import the one you need:
``audar_plugins.adapters.pyannote`` or ``audar_plugins.adapters.whisperx``.
"""
