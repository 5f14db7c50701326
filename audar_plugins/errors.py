"""One exception family for everything audar-plugins raises on purpose.

Catch :class:`AudarError` to handle any of them. Where a built-in exception
already names the situation, our class derives from it too, so code written
against the built-ins keeps working (``except FileNotFoundError`` still catches
:class:`AudioNotFoundError`).

::

    AudarError
    ├── AudioError                      cannot turn the input into 16 kHz mono audio
    │   ├── AudioNotFoundError          (FileNotFoundError) no such file
    │   ├── AudioDecodeError            the bytes are not audio we can decode
    │   ├── EmptyAudioError             zero samples
    │   ├── InvalidAudioError           (ValueError) NaN/Inf samples, bad shape, bad rate
    │   └── UnsupportedAudioTypeError   (TypeError) an object we do not know how to read
    ├── InvalidOptionError              (ValueError) an option out of its valid range
    ├── FormatError                     (ValueError) an RTTM/UEM file cannot be read
    ├── BackendNotFoundError            (LookupError) no backend registered under a name
    ├── BackendLoadError                a registered backend or its checkpoint failed to load
    ├── SessionClosedError              (RuntimeError) audio pushed to a flushed streaming session
    ├── SnapshotError                   (ValueError) a session snapshot cannot be restored here
    ├── VoiceprintError                 (ValueError) a reference clip or voiceprint cannot name a speaker
    ├── TrainingDataError               (ValueError) a training manifest, its audio or its RTTMs cannot be used
    └── MissingDependencyError          (ImportError) an optional extra is not installed
"""

from __future__ import annotations

__all__ = [
    "AudarError",
    "AudioError",
    "AudioNotFoundError",
    "AudioDecodeError",
    "EmptyAudioError",
    "InvalidAudioError",
    "AudioTooLongError",
    "UnsupportedAudioTypeError",
    "InvalidOptionError",
    "FormatError",
    "BackendNotFoundError",
    "BackendLoadError",
    "MissingDependencyError",
    "SessionClosedError",
    "SnapshotError",
    "VoiceprintError",
    "TrainingDataError",
]


class AudarError(Exception):
    """Base class of every error audar-plugins raises on purpose."""


class AudioError(AudarError):
    """The input cannot be turned into audio."""


class AudioNotFoundError(AudioError, FileNotFoundError):
    """An audio path does not exist."""


class AudioDecodeError(AudioError):
    """The input exists but is not audio in a format we can decode."""


class EmptyAudioError(AudioError):
    """The audio has no samples."""


class InvalidAudioError(AudioError, ValueError):
    """The audio is decodable but unusable: NaN/Inf samples, a bad shape or sample rate."""


class AudioTooLongError(InvalidAudioError):
    """The audio is longer than the ``max_seconds`` given to :func:`~audar_plugins.audio.load_audio`.

    ``seconds`` is the length the header states, or ``None`` when decoding stopped
    as soon as it passed ``limit`` (a header that states no length).
    """

    def __init__(self, name: str, seconds: float | None, limit: float) -> None:
        length = "longer than" if seconds is None else f"{seconds:.1f} s long, over"
        super().__init__(f"{name} is {length} the limit of {limit:g} s")
        self.seconds = seconds
        self.limit = limit


class UnsupportedAudioTypeError(AudioError, TypeError):
    """The input is of a type no audio reader accepts."""


class InvalidOptionError(AudarError, ValueError):
    """An option is outside its valid range; the message names the option and the range."""


class FormatError(AudarError, ValueError):
    """A reference or result file (RTTM, UEM) is missing or malformed."""


class BackendNotFoundError(AudarError, LookupError):
    """No backend is registered under the requested name."""


class BackendLoadError(AudarError):
    """A registered backend could not be imported or constructed."""


class SessionClosedError(AudarError, RuntimeError):
    """A streaming session was used after its final flush."""


class SnapshotError(AudarError, ValueError):
    """Bytes are not a session snapshot, or were taken with another model or version."""


class MissingDependencyError(AudarError, ImportError):
    """An optional dependency is missing; the message names the extra that provides it."""

    def __init__(self, package: str, extra: str | None, purpose: str = "") -> None:
        self.package = package
        self.extra = extra
        what = f" for {purpose}" if purpose else ""
        command = f"pip install 'audar-plugins[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{package} is needed{what} but is not installed; install it with: {command}")


class VoiceprintError(AudarError, ValueError):
    """A reference clip cannot be enrolled (silent, too short or long, several voices), or a
    voiceprint file cannot be read or was made by another speaker encoder."""


class TrainingDataError(AudarError, ValueError):
    """A training or validation manifest cannot be used: missing or corrupt audio, an RTTM that
    names other recordings or more speakers than the model has, a segment outside its audio."""
