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
    Every built-in session derives from :class:`~audar_plugins.backends.session.BaseSession`.

    Attributes
    ----------
    sample_rate
        The rate pushes must have (16 kHz).
    frame_duration
        Seconds per output frame.
    closed
        ``True`` once :meth:`flush` has run; then push, flush and snapshot raise
        :class:`~audar_plugins.errors.SessionClosedError`.
    """

    sample_rate: int
    frame_duration: float
    closed: bool

    @property
    def labels(self) -> tuple[str, ...]:
        """The speakers so far, one per column of the blocks (it may grow as speakers arrive)."""
        ...

    @property
    def emitted_frames(self) -> int:
        """Frames returned so far; the next block starts at ``emitted_frames * frame_duration``."""
        ...

    @property
    def received_seconds(self) -> float:
        """Seconds of audio pushed so far."""
        ...

    def push(self, audio: Any, sample_rate: int = 16_000) -> SpeakerActivity:
        """Add audio; the frames that became final. Bad audio raises an
        :class:`~audar_plugins.errors.AudioError` and changes nothing."""
        ...

    def flush(self) -> SpeakerActivity:
        """End the stream: the remaining frames."""
        ...

    def snapshot(self) -> bytes:
        """The session's state, for ``restore_session`` here or in another process."""
        ...


@runtime_checkable
class StreamingBackend(Backend, Protocol):
    """A backend that also diarizes live audio."""

    def open_session(self, preset: Any = None, speakers: SpeakerCount = SpeakerCount()) -> StreamingSession:
        """A new live session. ``preset`` is the backend's latency preset (``None``: its default;
        backends with one latency take only ``None``). ``speakers`` bounds the speakers as
        :meth:`diarize` does; a backend that finds its speakers itself refuses more than it can
        track with an :class:`~audar_plugins.errors.InvalidOptionError`."""
        ...

    def restore_session(self, snapshot: bytes) -> StreamingSession:
        """The session a :meth:`StreamingSession.snapshot` was taken from, continuing exactly;
        :class:`~audar_plugins.errors.SnapshotError` for another backend's, model's or version's."""
        ...
