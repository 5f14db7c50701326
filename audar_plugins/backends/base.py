"""The protocol every backend implements, and the speaker-count options they share."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..activity import Binarization, SpeakerActivity
from ..audio import AudioInput
from ..errors import InvalidOptionError

__all__ = ["Backend", "ProgressCallback", "SpeakerCount", "StreamingBackend", "StreamingSession"]

ProgressCallback = Callable[[float, float], None]
"""Called as ``progress(done, total)`` with seconds of audio processed and in all."""


@dataclass(frozen=True)
class SpeakerCount:
    """Bounds on the number of speakers, as pyannote.audio reads its arguments.

    ``num_speakers`` fixes the count; otherwise ``min_speakers`` and
    ``max_speakers`` bound it (``None``: 1 and unbounded).

    Examples
    --------
    >>> SpeakerCount(num_speakers=2).bounds
    (2, 2)
    >>> SpeakerCount(max_speakers=4).bounds
    (1, 4)
    """

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    def __post_init__(self) -> None:
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidOptionError(f"{name} must be a positive integer, got {value!r}")
        if self.num_speakers is not None:
            for name in ("min_speakers", "max_speakers"):
                value = getattr(self, name)
                if value is not None and value != self.num_speakers:
                    raise InvalidOptionError(
                        f"num_speakers={self.num_speakers} contradicts {name}={value}"
                    )
        low, high = self.bounds
        if low > high:
            raise InvalidOptionError(f"min_speakers={low} is greater than max_speakers={high}")

    @property
    def bounds(self) -> tuple[int, float]:
        """``(minimum, maximum)``; the maximum is ``math.inf`` when unbounded."""
        if self.num_speakers is not None:
            return self.num_speakers, self.num_speakers
        high = math.inf if self.max_speakers is None else self.max_speakers
        return self.min_speakers or 1, high


@runtime_checkable
class Backend(Protocol):
    """Turns audio into :class:`SpeakerActivity`.

    Attributes
    ----------
    name
        The name the backend is registered under.
    binarization
        The post-processing this backend's probabilities are meant for;
        :func:`audar_plugins.diarize` uses it unless told otherwise.
    """

    name: str
    binarization: Binarization

    def diarize(
        self,
        audio: AudioInput,
        speakers: SpeakerCount = SpeakerCount(),
        progress: ProgressCallback | None = None,
    ) -> SpeakerActivity:
        """Speaker probabilities for the whole of ``audio`` (anything :func:`load_audio` takes)."""
        ...


@runtime_checkable
class StreamingSession(Protocol):
    """A live stream: 16 kHz mono audio pushed in pieces, speaker probabilities out.

    Each :meth:`push` returns the frames that became final (possibly none);
    :meth:`flush` ends the stream and returns the rest. Concatenated
    (:meth:`SpeakerActivity.concatenate`), the blocks cover the whole stream.
    """

    sample_rate: int
    frame_duration: float
    labels: tuple[str, ...]
    closed: bool

    def push(self, audio: Any, sample_rate: int = 16_000) -> SpeakerActivity: ...

    def flush(self) -> SpeakerActivity: ...

    def snapshot(self) -> bytes:
        """The session's state, for ``restore_session`` here or in another process."""
        ...


@runtime_checkable
class StreamingBackend(Backend, Protocol):
    """A backend that also diarizes live audio."""

    def open_session(self, preset: Any = None) -> StreamingSession: ...

    def restore_session(self, snapshot: bytes) -> StreamingSession: ...
