"""audar-plugins: pluggable speaker diarization.

>>> import audar_plugins as audar
>>> result = audar.diarize("meeting.wav")          # the CPU default backend
>>> print(audar.formats.to_rttm(result.annotation))
"""

from . import formats
from .activity import Binarization, SpeakerActivity
from .audio import SAMPLE_RATE, load_audio
from .backends.base import Backend, SpeakerCount, StreamingBackend, StreamingSession
from .errors import (
    AudarError,
    AudioDecodeError,
    AudioError,
    AudioNotFoundError,
    AudioTooLongError,
    BackendLoadError,
    BackendNotFoundError,
    EmptyAudioError,
    FormatError,
    InvalidAudioError,
    InvalidOptionError,
    MissingDependencyError,
    SessionClosedError,
    SnapshotError,
    UnsupportedAudioTypeError,
)
from .pipeline import Diarization, diarize
from .registry import available_backends, load_backend

__version__ = "0.1.0"

__all__ = [
    "SAMPLE_RATE",
    "AudarError",
    "AudioDecodeError",
    "AudioError",
    "AudioNotFoundError",
    "Backend",
    "BackendLoadError",
    "BackendNotFoundError",
    "Binarization",
    "Diarization",
    "EmptyAudioError",
    "FormatError",
    "InvalidAudioError",
    "AudioTooLongError",
    "InvalidOptionError",
    "MissingDependencyError",
    "SessionClosedError",
    "SnapshotError",
    "SpeakerActivity",
    "SpeakerCount",
    "StreamingBackend",
    "StreamingSession",
    "UnsupportedAudioTypeError",
    "available_backends",
    "diarize",
    "formats",
    "load_audio",
    "load_backend",
]
