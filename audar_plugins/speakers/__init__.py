"""Known speakers: voiceprints from reference clips, and names on any backend's speakers."""

from .backend import NamingBackend, naming_backend
from .encoder import VoiceEncoder, encoder_for, shared_encoder
from .enrollment import enroll
from .known import MAX_KNOWN_SPEAKERS, KnownSpeakers, gather_voiceprints, known_voiceprints
from .live import NamingSession
from .naming import Naming, NamingSettings, SpeakerMatch, name_speakers
from .voiceprint import Voiceprint, file_name, read_voiceprint, read_voiceprints, write_voiceprint

__all__ = [
    "MAX_KNOWN_SPEAKERS",
    "KnownSpeakers",
    "Naming",
    "NamingBackend",
    "NamingSession",
    "NamingSettings",
    "SpeakerMatch",
    "VoiceEncoder",
    "Voiceprint",
    "encoder_for",
    "enroll",
    "file_name",
    "gather_voiceprints",
    "known_voiceprints",
    "name_speakers",
    "naming_backend",
    "read_voiceprint",
    "read_voiceprints",
    "shared_encoder",
    "write_voiceprint",
]
