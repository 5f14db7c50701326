"""A :class:`~audar_plugins.alignment.coverage.SpeakerCoverage` that grows as activity blocks arrive.

Appending a block costs its own frames, not the stream so far: the cumulative speech and
the speech intervals live in buffers that double when full (amortised constant time per
frame), and queries read views of them. After any sequence of :meth:`GrowingCoverage.append`
calls the coverage answers exactly as ``SpeakerCoverage.from_activity`` on the
concatenated blocks. :meth:`~GrowingCoverage.mark` and :meth:`~GrowingCoverage.truncate`
take back provisional frames; :meth:`~GrowingCoverage.forget` drops cumulative speech no
query will read again, so that an endless stream holds bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..activity import SpeakerActivity
from ..errors import InvalidOptionError
from .coverage import SpeakerCoverage, _Speaker

__all__ = ["GrowingCoverage"]

THRESHOLD = 0.5
"""Probability at which a frame counts as speech for the nearest-speaker search, as in ``from_activity``."""


class _Buffer:
    """A float64 array of rows that grows at its end by doubling, and may drop rows at its front."""

    def __init__(self, rows: int = 0) -> None:
        self._data = np.zeros((rows, 16))
        self.first = 0  # columns before this were forgotten
        self.size = 0

    @property
    def rows(self) -> int:
        return self._data.shape[0]

    def view(self, row: int) -> np.ndarray:
        return self._data[row, self.first : self.size]

    def add_rows(self, count: int) -> None:
        self._data = np.vstack([self._data, np.zeros((count, self._data.shape[1]))])

    def keep_rows(self, count: int) -> None:
        self._data = self._data[:count]

    def extend(self, columns: np.ndarray) -> None:
        """Append ``columns`` (shape ``(rows, n)``)."""
        needed = self.size + columns.shape[1]
        if needed > self._data.shape[1]:
            live = self._data[:, self.first : self.size]
            grown = np.zeros((self.rows, max(16, 2 * (needed - self.first))))
            grown[:, : live.shape[1]] = live
            self._data, self.size, self.first = grown, live.shape[1], 0
            needed = self.size + columns.shape[1]
        self._data[:, self.size : needed] = columns
        self.size = needed

    def last(self) -> np.ndarray:
        return self._data[:, self.size - 1].copy()

    def set_last(self, row: int, value: float) -> None:
        self._data[row, self.size - 1] = value


@dataclass(frozen=True)
class Mark:
    """Where a :class:`GrowingCoverage` stood; :meth:`GrowingCoverage.truncate` goes back to it."""

    frames: int
    started: bool  # whether any block had arrived
    labels: tuple[str, ...]
    intervals: tuple[tuple[int, float, bool], ...]  # per speaker: intervals, the last one's end, open or not


class GrowingCoverage(SpeakerCoverage):
    """Cumulative speech of a stream of activity blocks; see the module docstring."""

    def __init__(self) -> None:  # the base's constructor takes finished speakers: not used here
        self._reset()

    def _reset(self) -> None:
        self.labels: list[str] = []
        self.frame_duration: float | None = None
        self.start = 0.0
        self._frames = 0
        self._knots = _Buffer(1)  # frame edges
        self._cumulative = _Buffer(0)  # one row per speaker
        self._speech: list[_Buffer] = []  # per speaker: speech intervals, starts (row 0) and ends (row 1)
        self._open: list[bool] = []  # whether the speaker's last frame was speech
        self._views: list[_Speaker] | None = None

    @property
    def end(self) -> float:
        """Seconds of stream covered so far."""
        return self.start + self._frames * (self.frame_duration or 0.0)

    @property
    def num_speakers(self) -> int:
        return len(self.labels)

    def _speaker_arrays(self) -> list[_Speaker]:
        if self._views is None:
            knots = self._knots.view(0)
            self._views = [_Speaker(knots, self._cumulative.view(row), speech.view(0), speech.view(1))
                           for row, speech in enumerate(self._speech)]
        return self._views

    def append(self, block: SpeakerActivity) -> None:
        """Add the frames of ``block``, which must start where the coverage ends (the first sets the start)."""
        if self.frame_duration is None:
            self.frame_duration, self.start = block.frame_duration, block.start
            self._knots.extend(np.array([[block.start]]))
            self._cumulative.extend(np.zeros((0, 1)))  # no speech before the first edge
        if block.frame_duration != self.frame_duration:
            raise InvalidOptionError("activity blocks must share one frame duration")
        if not np.isclose(block.start, self.end, rtol=0.0, atol=1e-6 + 1e-3 * self.frame_duration):
            raise InvalidOptionError(f"activity block starting at {block.start:.3f} s does not follow {self.end:.3f} s")
        labels = tuple(block.labels)
        if labels[: self.num_speakers] != tuple(self.labels):
            raise InvalidOptionError("a block may add speakers after the known ones but not rename them")
        self._add_speakers(len(labels) - self.num_speakers)
        self.labels = list(labels)
        frames = block.num_frames
        if frames == 0:
            return
        probabilities = np.clip(np.nan_to_num(np.asarray(block.probabilities, dtype=np.float64), nan=0.0), 0.0, 1.0)
        step = self.frame_duration
        edges = self.start + step * np.arange(self._frames + 1, self._frames + frames + 1)
        # one running sum from the last value, so that the figures equal one cumsum over the whole stream
        running = np.cumsum(np.vstack([self._cumulative.last()[None, :], probabilities * step]), axis=0)[1:]
        self._knots.extend(edges[None, :])
        self._cumulative.extend(running.T)
        block_edges = self.start + step * np.arange(self._frames, self._frames + frames + 1)
        self._add_speech(probabilities >= THRESHOLD, block_edges)
        self._frames += frames
        self._views = None

    def _add_speakers(self, count: int) -> None:
        if count <= 0:
            return
        self._cumulative.add_rows(count)  # a new speaker spoke nothing before
        self._speech += [_Buffer(2) for _ in range(count)]
        self._open += [False] * count

    def _add_speech(self, active: np.ndarray, edges: np.ndarray) -> None:
        """Extend each speaker's speech intervals by a block's frames (``edges``: its frame edges)."""
        for row, speech in enumerate(self._speech):
            flags = np.concatenate([[self._open[row]], active[:, row]])
            changes = np.flatnonzero(flags[1:] != flags[:-1])
            starts = edges[changes[flags[changes + 1]]]
            ends = edges[changes[~flags[changes + 1]]]
            if self._open[row]:
                # the open interval ends at the first change, or reaches the block's end
                speech.set_last(1, ends[0] if ends.size else edges[-1])
                ends = ends[1:]
            if flags[-1] and starts.size:
                ends = np.append(ends, edges[-1])  # the new open interval reaches the end so far
            speech.extend(np.vstack([starts, ends]))
            self._open[row] = bool(flags[-1])

    def mark(self) -> Mark:
        """The coverage as it is, for :meth:`truncate`."""
        intervals = tuple((speech.size, speech.view(1)[-1] if speech.size else np.nan, is_open)
                          for speech, is_open in zip(self._speech, self._open))
        return Mark(self._frames, self.frame_duration is not None, tuple(self.labels), intervals)

    def truncate(self, mark: Mark) -> None:
        """Drop everything appended since ``mark`` (frames and speakers)."""
        if not mark.started:
            self._reset()
            return
        speakers = len(mark.labels)
        self._knots.size -= self._frames - mark.frames
        self._cumulative.size = self._knots.size
        self._cumulative.keep_rows(speakers)
        self.labels = list(mark.labels)
        del self._speech[speakers:], self._open[speakers:]
        for speech, (count, last_end, is_open), row in zip(self._speech, mark.intervals, range(speakers)):
            speech.size = count
            if count:
                speech.set_last(1, last_end)
            self._open[row] = is_open
        self._frames = mark.frames
        self._views = None

    def forget(self, before: float) -> None:
        """Drop the cumulative speech of frames ending before ``before`` seconds: spans that start
        there may no longer be asked about. The speech intervals stay, for the nearest-speaker search."""
        if self.frame_duration is None:
            return
        frame = int(np.clip(np.floor((before - self.start) / self.frame_duration), 0, self._frames))
        first = self._knots.size - 1 - self._frames + frame  # the buffer column of that frame's start edge
        if first > self._knots.first:
            self._knots.first = self._cumulative.first = first
            self._views = None
