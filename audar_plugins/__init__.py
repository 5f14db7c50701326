"""audar-plugins: pluggable speaker diarization.

    import audar_plugins as audar
    result = audar.diarize("meeting.wav")          # the CPU default backend
    print(audar.formats.to_rttm(result.annotation))
    transcript = audar.transcribe("meeting.wav")   # + faster-whisper tiny.en, offline (the [asr] extra)
"""

from . import formats
from .activity import Binarization, SpeakerActivity
from .alignment.transcript import Transcript, TranscriptOptions
from .alignment.turns import Turn, TurnOptions
from .alignment.words import Word
from .audio import SAMPLE_RATE, load_audio
from .backends.base import Backend, SpeakerCount, StreamingBackend, StreamingSession
from .backends.fake import FakeBackend
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
from .transcription import FakeRecognizer, Recognizer, transcribe

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
    "FakeBackend",
    "FakeRecognizer",
    "FormatError",
    "InvalidAudioError",
    "AudioTooLongError",
    "InvalidOptionError",
    "MissingDependencyError",
    "Recognizer",
    "SessionClosedError",
    "SnapshotError",
    "SpeakerActivity",
    "SpeakerCount",
    "StreamingBackend",
    "StreamingSession",
    "Transcript",
    "TranscriptOptions",
    "Turn",
    "TurnOptions",
    "UnsupportedAudioTypeError",
    "Word",
    "available_backends",
    "diarize",
    "formats",
    "load_audio",
    "load_backend",
    "transcribe",
]
