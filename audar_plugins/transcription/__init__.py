"""Transcription as a core stage: speech recognition behind a small protocol, then speakers.

    from audar_plugins import transcribe
    transcript = transcribe("meeting.wav")     # the CPU default backend + faster-whisper tiny.en, offline
    for turn in transcript.turns:
        print(turn.speaker, turn.start, turn.end, turn.text)
"""

from __future__ import annotations

from .recognizer import FakeRecognizer, Recognition, RecognizedSegment, Recognizer
from .transcribe import Progress, resolve_recognizer, transcribe

__all__ = ["FakeRecognizer", "Progress", "RecognizedSegment", "Recognition", "Recognizer", "resolve_recognizer",
           "transcribe"]
