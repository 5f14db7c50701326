"""Frame-level speaker activity, the one type every backend produces.

A :class:`SpeakerActivity` keeps the un-thresholded probabilities (frames x
speakers) so that later stages can integrate them, for instance over a word's
span. :meth:`SpeakerActivity.to_annotation` turns them into a
``pyannote.core.Annotation`` with the hysteresis, padding and duration filters of
:class:`Binarization`, giving exactly the segments NeMo's Sortformer
``diarize()`` gives for the same probabilities and parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .errors import InvalidOptionError

if TYPE_CHECKING:
    from pyannote.core import Annotation, SlidingWindowFeature

__all__ = ["Binarization", "SpeakerActivity", "default_labels", "hysteresis", "runs"]

_GRID = 0.01
"""Segment boundaries lie on this grid (seconds), as in NeMo's post-processing."""


def default_labels(num_speakers: int) -> tuple[str, ...]:
    """``("speaker_0", "speaker_1", ...)``, the model card's naming."""
    return tuple(f"speaker_{k}" for k in range(num_speakers))


def _check_range(name: str, value: float, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidOptionError(f"{name} must be a number, got {value!r}")
    if not (low <= value <= high):
        bound = f"[{low}, {high}]" if math.isfinite(high) else f">= {low}"
        raise InvalidOptionError(f"{name}={value!r} is out of range: expected {bound}")
    return float(value)


@dataclass(frozen=True)
class Binarization:
    """How probabilities become speech segments (all durations in seconds).

    A speaker turns on at the first frame whose probability exceeds ``onset``
    and off at the first frame below ``offset`` (hysteresis). Each segment is
    then widened by ``pad_onset`` before and ``pad_offset`` after, and segments
    that touch or overlap are merged. Finally segments shorter than
    ``min_duration_on`` are dropped, and gaps shorter than
    ``min_duration_off`` are filled, in that order. These are the semantics
    and defaults of NeMo's ``PostProcessingParams``.

    Examples
    --------
    >>> Binarization(onset=0.5, offset=0.5, pad_onset=0.1, pad_offset=0.1)  # the model card's
    Binarization(onset=0.5, offset=0.5, pad_onset=0.1, pad_offset=0.1, min_duration_on=0.0, min_duration_off=0.0)
    """

    onset: float = 0.5
    offset: float = 0.5
    pad_onset: float = 0.0
    pad_offset: float = 0.0
    min_duration_on: float = 0.0
    min_duration_off: float = 0.0

    def __post_init__(self) -> None:
        for name in ("onset", "offset"):
            object.__setattr__(self, name, _check_range(name, getattr(self, name), 0.0, 1.0))
        for name in ("pad_onset", "pad_offset", "min_duration_on", "min_duration_off"):
            object.__setattr__(self, name, _check_range(name, getattr(self, name), 0.0, 3600.0))


@dataclass(frozen=True, eq=False)
class SpeakerActivity:
    """Speaker probabilities on a regular frame grid.

    Parameters
    ----------
    probabilities
        Array of shape ``(num_frames, num_speakers)`` with values in [0, 1].
        Stored read-only as float32.
    frame_duration
        Duration and step of one frame, in seconds (0.08 for Sortformer).
    start
        Time of the start of frame 0, in seconds. Frame ``k`` covers
        ``[start + k * frame_duration, start + (k + 1) * frame_duration)``.
    labels
        One name per speaker column; ``speaker_0, speaker_1, ...`` by default.
    embeddings
        Optional ``(num_speakers, dimension)`` array, one embedding per speaker
        column, for backends that have them.
    """

    probabilities: np.ndarray
    frame_duration: float
    start: float = 0.0
    labels: tuple[str, ...] = field(default=())
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        probabilities = np.array(self.probabilities, dtype=np.float32)
        if probabilities.ndim != 2:
            raise InvalidOptionError(
                f"probabilities must have shape (frames, speakers), got {probabilities.shape}"
            )
        if not np.isfinite(probabilities).all():
            raise InvalidOptionError("probabilities contain NaN or infinite values")
        if probabilities.size and (probabilities.min() < 0.0 or probabilities.max() > 1.0):
            raise InvalidOptionError("probabilities must lie in [0, 1]")
        probabilities.flags.writeable = False
        object.__setattr__(self, "probabilities", probabilities)

        duration = _check_range("frame_duration", self.frame_duration, 0.0)
        if duration == 0.0:
            raise InvalidOptionError("frame_duration must be positive")
        object.__setattr__(self, "frame_duration", duration)
        object.__setattr__(self, "start", _check_range("start", self.start, 0.0))

        labels = tuple(self.labels) if self.labels else default_labels(probabilities.shape[1])
        if len(labels) != probabilities.shape[1] or len(set(labels)) != len(labels):
            raise InvalidOptionError(
                f"labels must name each of the {probabilities.shape[1]} speakers once, got {labels!r}"
            )
        object.__setattr__(self, "labels", labels)

        if self.embeddings is not None:
            embeddings = np.array(self.embeddings, dtype=np.float32)
            if embeddings.ndim != 2 or embeddings.shape[0] != probabilities.shape[1]:
                raise InvalidOptionError(
                    f"embeddings must have shape ({probabilities.shape[1]}, dimension), got {embeddings.shape}"
                )
            embeddings.flags.writeable = False
            object.__setattr__(self, "embeddings", embeddings)

    @classmethod
    def concatenate(cls, blocks: Sequence[SpeakerActivity]) -> SpeakerActivity:
        """Join consecutive blocks (as a streaming session returns them) into one.

        The blocks must share frame duration and follow each other without gaps;
        the result starts where the first block starts. A block may add speakers
        after those of the blocks before it (a live session meeting a new voice):
        the earlier blocks get zero columns for them.
        """
        if not blocks:
            raise InvalidOptionError("nothing to concatenate: no blocks given")
        first = blocks[0]
        labels = max((block.labels for block in blocks), key=len)
        position = first.start
        for block in blocks:
            if block.labels != labels[: block.num_speakers] or block.frame_duration != first.frame_duration:
                raise InvalidOptionError("blocks to concatenate must share frame duration, and labels up to "
                                         "speakers added later")
            if not math.isclose(block.start, position, abs_tol=1e-6 + 1e-3 * first.frame_duration):
                raise InvalidOptionError(f"block starting at {block.start:.3f} s does not follow {position:.3f} s")
            position = block.end
        width = len(labels)
        probabilities = np.concatenate([np.pad(block.probabilities, ((0, 0), (0, width - block.num_speakers)))
                                        for block in blocks])
        embeddings = next((block.embeddings for block in reversed(blocks) if block.num_speakers == width), None)
        return cls(probabilities, first.frame_duration, first.start, labels, embeddings)

    @property
    def num_frames(self) -> int:
        return self.probabilities.shape[0]

    @property
    def num_speakers(self) -> int:
        return self.probabilities.shape[1]

    @property
    def end(self) -> float:
        """End of the last frame, in seconds."""
        return self.start + self.num_frames * self.frame_duration

    def frame_starts(self) -> np.ndarray:
        """Start time of every frame, in seconds, shape ``(num_frames,)``."""
        return self.start + self.frame_duration * np.arange(self.num_frames)

    def segments(self, binarization: Binarization | None = None) -> list[np.ndarray]:
        """Speech segments of each speaker, as ``(n, 2)`` arrays of [start, end] seconds."""
        binarization = binarization or Binarization()
        return [
            _binarize(self.probabilities[:, k], self.frame_duration, self.start, binarization)
            for k in range(self.num_speakers)
        ]

    def to_annotation(self, binarization: Binarization | None = None, uri: str | None = None) -> Annotation:
        """Binarize into a ``pyannote.core.Annotation`` labelled with :attr:`labels`.

        The segments are those of NeMo's Sortformer ``diarize()`` for the same
        probabilities and parameters: boundaries on a 10 ms grid, and speech
        that lasts to the end of the input stops at the start of its last
        10 ms (a NeMo quirk, kept so that results match).
        """
        from pyannote.core import Annotation, Segment

        annotation = Annotation(uri=uri)
        for k, (label, segments) in enumerate(zip(self.labels, self.segments(binarization))):
            for start, end in segments.tolist():
                annotation[Segment(start, end), k] = label
        return annotation

    def to_exclusive_annotation(self, binarization: Binarization | None = None, uri: str | None = None) -> Annotation:
        """One speaker at a time, as transcription wants (pyannote 4's ``exclusive_speaker_diarization``).

        The speech of :meth:`to_annotation` is kept exactly; where speakers
        overlap, each 10 ms goes to the active speaker with the highest
        probability (the lower column index on a tie).
        """
        from pyannote.core import Annotation, Segment

        annotation = Annotation(uri=uri)
        segments = self.segments(binarization)
        ends = [float(s[:, 1].max()) for s in segments if len(s)]
        if not ends:
            return annotation
        ticks = round(max(ends) / _GRID)
        active = np.zeros((ticks, self.num_speakers), dtype=bool)
        for k, speaker_segments in enumerate(segments):
            for start, end in speaker_segments.tolist():
                active[round(start / _GRID) : round(end / _GRID), k] = True
        centres = (np.arange(ticks) + 0.5) * _GRID
        frames = np.clip(((centres - self.start) / self.frame_duration).astype(int), 0, max(self.num_frames - 1, 0))
        scores = np.where(active, self.probabilities[frames] if self.num_frames else 0.0, -1.0)
        winner = np.where(active.any(axis=1), scores.argmax(axis=1), -1)
        bounds = np.flatnonzero(np.diff(winner, prepend=-2, append=-2))
        for first, last in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            k = int(winner[first])
            if k >= 0:
                annotation[Segment(round(first * _GRID, 2), round(last * _GRID, 2)), k] = self.labels[k]
        return annotation

    def to_sliding_window_feature(self) -> SlidingWindowFeature:
        """The probabilities as a ``pyannote.core.SlidingWindowFeature``."""
        from pyannote.core import SlidingWindow, SlidingWindowFeature

        window = SlidingWindow(start=self.start, duration=self.frame_duration, step=self.frame_duration)
        return SlidingWindowFeature(np.array(self.probabilities), window, labels=list(self.labels))


def _grid(frame_duration: float) -> tuple[int, float]:
    """Sub-frames per frame and sub-frame duration of the 10 ms binarization grid."""
    ratio = frame_duration / _GRID
    if abs(ratio - round(ratio)) < 1e-6 and round(ratio) >= 1:
        return round(ratio), _GRID
    return 1, frame_duration


def _binarize(probabilities: np.ndarray, frame_duration: float, offset: float, options: Binarization) -> np.ndarray:
    """One speaker's segments, reproducing NeMo's ``ts_vad_post_processing`` and ``diarize()`` rounding.

    NeMo repeats each frame onto a 10 ms grid, runs a frame-by-frame
    hysteresis in double precision, keeps the segments in float32, merges,
    filters, adds the time offset and rounds to 0.01 s. The same arithmetic is
    done here without a Python loop over frames, so results match to the bit.
    """
    repeat, step = _grid(frame_duration)
    values = np.repeat(probabilities.astype(np.float32, copy=False), repeat)
    active = hysteresis(values, np.float32(options.onset), np.float32(options.offset))
    if not active.size:
        return np.zeros((0, 2))
    changes = np.diff(active.astype(np.int8), prepend=np.int8(0))
    on = np.flatnonzero(changes == 1)
    off = np.flatnonzero(changes == -1)
    if active[-1]:
        off = np.append(off, values.size - 1)
    starts = np.maximum(0.0, on * step - options.pad_onset)
    ends = off * step + options.pad_offset
    keep = ends > starts
    keep[-1:] |= bool(active[-1])  # NeMo appends speech that runs to the end unchecked
    segments = np.stack([starts[keep], ends[keep]], axis=1).astype(np.float32)
    segments = _merge_touching(segments)

    if segments.size and options.min_duration_on > 0:
        durations = segments[:, 1] - segments[:, 0]
        segments = segments[durations >= np.float32(options.min_duration_on)]
    if len(segments) > 1 and options.min_duration_off > 0:
        gaps = segments[1:, 0] - segments[:-1, 1]
        bridged = gaps < np.float32(options.min_duration_off)
        segments = _merge_runs(segments, bridged)

    # diarize(): offset added in float32, then rounded to 2 decimals; empty ones dropped.
    shifted = (segments + np.float32(offset)).tolist()
    rounded = np.array([[round(s, 2), round(e, 2)] for s, e in shifted], dtype=np.float64).reshape(-1, 2)
    return rounded[rounded[:, 0] < rounded[:, 1]]


def runs(mask: np.ndarray, bridged: int = 0) -> list[tuple[int, int]]:
    """``(start, stop)`` index ranges of the runs of true values in a 1-D ``mask``; runs apart by
    ``bridged`` values or fewer join."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]])))
    joined: list[tuple[int, int]] = []
    for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist()):
        if joined and start - joined[-1][1] <= bridged:
            joined[-1] = (joined[-1][0], stop)
        else:
            joined.append((start, stop))
    return joined


def hysteresis(values: np.ndarray, onset: float, offset: float) -> np.ndarray:
    """State of ``speech = speech ? v >= offset : v > onset`` run over ``values``.

    Frames that turn speech on whatever the state are "set", frames that turn
    it off are "reset", and frames that do both (possible when onset < offset)
    toggle it. The state is the last set/reset, flipped once per toggle since.
    """
    on = values > onset
    off = values < offset
    forced = on != off
    toggles = np.cumsum(on & off)
    index = np.arange(values.size)
    last_forced = np.maximum.accumulate(np.where(forced, index, -1))
    base = np.where(last_forced >= 0, on[np.maximum(last_forced, 0)], False)
    toggles_before = np.where(last_forced >= 0, toggles[np.maximum(last_forced, 0)], 0)
    return base ^ ((toggles - toggles_before) % 2 == 1)


def _merge_touching(segments: np.ndarray) -> np.ndarray:
    """Merge neighbours whose end reaches the next start (segments sorted by start)."""
    if len(segments) < 2:
        return segments
    return _merge_runs(segments, segments[:-1, 1] >= segments[1:, 0])


def _merge_runs(segments: np.ndarray, joined: np.ndarray) -> np.ndarray:
    """Merge segment ``i`` with ``i + 1`` wherever ``joined[i]``."""
    heads = segments[np.concatenate([[True], ~joined]), 0]
    tails = segments[np.concatenate([~joined, [True]]), 1]
    return np.stack([heads, tails], axis=1)
