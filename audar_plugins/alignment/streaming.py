"""Words and speaker activity arriving incrementally and out of step, merged as they become final.

Feed words (in transcript order, as the ASR finalises them) and activity blocks (as a
streaming session finalises them, contiguous in time) in any interleaving. A word is
emitted, with its speaker, as soon as no later activity can change its attribution:

* speech under the word: once the activity reaches the word's end;
* a word in a pause (nearest speaker): once the activity reaches far enough past the
  word that no speech still to come could be nearer than the nearest speech so far;
* an untimed word: with the timed word before it (or the first timed word after it).

Words come out in order, exactly once, and equal :func:`attribute_words` on the whole
stream (the rule of :mod:`audar_plugins.alignment.words`). The turn corrections of
:mod:`audar_plugins.alignment.turns` need words that come later; apply them to the
emitted words where a little delay is acceptable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..activity import SpeakerActivity
from ..errors import InvalidOptionError
from .coverage import SpeakerCoverage
from .words import AttributedWord, Word, attribute_spans, attributed, word_spans, word_times

__all__ = ["StreamingAligner"]


class StreamingAligner:
    """Incremental word -> speaker merge; see the module docstring."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._labels: tuple[str, ...] = ()
        self._frame_duration: float | None = None
        self._start = 0.0
        self._end = 0.0
        self._pending: list[Word] = []
        self._finished = False
        self._last_timed: int | None = None  # speaker code of the last timed word emitted

    @property
    def activity_end(self) -> float:
        """Seconds of stream the activity pushed so far covers."""
        return self._end

    def push_activity(self, block: SpeakerActivity) -> list[AttributedWord]:
        """Add the next finalised block; returns the words that became final."""
        self._check_open()
        if self._frame_duration is None:
            self._frame_duration, self._start, self._end = block.frame_duration, block.start, block.start
        if block.frame_duration != self._frame_duration:
            raise InvalidOptionError("activity blocks must share one frame duration")
        if not math.isclose(block.start, self._end, abs_tol=1e-6 + 1e-3 * self._frame_duration):
            raise InvalidOptionError(
                f"activity block starting at {block.start:.3f} s does not follow {self._end:.3f} s")
        if block.labels[: len(self._labels)] != self._labels:
            raise InvalidOptionError("a block may add speakers after the known ones but not rename them")
        self._labels = tuple(block.labels)
        self._blocks.append(np.asarray(block.probabilities, dtype=np.float32))
        self._end = block.end
        return self._release(final=False)

    def push_words(self, words: Iterable[Word]) -> list[AttributedWord]:
        """Add the next words of the transcript; returns the words that became final."""
        self._check_open()
        self._pending.extend(words)
        return self._release(final=False)

    def flush(self) -> list[AttributedWord]:
        """End of both streams: every remaining word, attributed on all the activity there is."""
        self._check_open()
        released = self._release(final=True)
        self._finished = True
        return released

    def _check_open(self) -> None:
        if self._finished:
            raise InvalidOptionError("this aligner was flushed; start a new one for a new stream")

    def _activity(self) -> SpeakerActivity | None:
        if not self._blocks:
            return None
        width = len(self._labels)
        blocks = [np.pad(b, ((0, 0), (0, width - b.shape[1]))) if b.shape[1] < width else b for b in self._blocks]
        probabilities = np.concatenate(blocks)
        self._blocks = [probabilities]  # keep one array: the next push concatenates once
        return SpeakerActivity(probabilities, self._frame_duration, self._start, self._labels)

    def _release(self, final: bool) -> list[AttributedWord]:
        if not self._pending:
            return []
        activity = self._activity()
        if activity is None:
            if not final:
                return []
            coverage = SpeakerCoverage([], [])
        else:
            coverage = SpeakerCoverage.from_activity(activity)
        words = self._pending
        starts, ends = word_times(words)
        result = attribute_spans(starts, ends, coverage)
        timed = np.isfinite(starts)
        if self._last_timed is not None and not timed[0]:
            # untimed words at the front follow the timed word emitted before them, as offline
            leading = int(np.argmax(timed)) if timed.any() else starts.size
            result.speaker[:leading] = self._last_timed
            result.confidence[:leading] = 0.0
        count = len(words) if final else self._final_prefix(starts, ends, result, coverage)
        released = attributed(words[:count], result)  # zip stops at the words released
        emitted_timed = np.flatnonzero(timed[:count])
        if emitted_timed.size:
            self._last_timed = int(result.speaker[emitted_timed[-1]])
        self._pending = words[count:]
        return released

    def _final_prefix(self, starts, ends, result, coverage: SpeakerCoverage) -> int:
        """How many leading pending words no future activity can change."""
        timed, low, high = word_spans(starts, ends)
        covered = timed & (high <= self._end)
        settled = covered & (result.confidence > 0)  # speech under the word, all of it known
        pause = np.flatnonzero(covered & ~settled)
        if pause.size and coverage.num_speakers:
            before, after = coverage.gaps(low[pause], high[pause])
            # speech still to come starts at or after the activity's end
            settled[pause] = (after.min(axis=1) < np.inf) | (self._end - high[pause] >= before.min(axis=1))
        count = 0
        timed_before = self._last_timed is not None
        for index in range(starts.size):
            if timed[index]:
                if not settled[index]:
                    break
                timed_before = True
                count = index + 1
            elif timed_before:
                count = index + 1  # follows the timed word before it, which is final
        return count

