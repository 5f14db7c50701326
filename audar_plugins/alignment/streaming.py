"""Words and speaker activity arriving incrementally and out of step, merged as they become final.

Feed words (in transcript order, as the ASR finalises them) and activity blocks (as a
streaming session finalises them, contiguous in time) in any interleaving. A word is
emitted, with its speaker, as soon as no later activity can change its attribution:

* speech under the word: once the activity reaches the word's end;
* a word in a pause (nearest speaker): once the activity reaches far enough past the
  word that no speech still to come could be nearer than the nearest speech so far;
* an untimed word: with the timed word before it (or the first timed word after it).

Words come out in order, exactly once, and equal :func:`attribute_words` on the whole
stream (the rule of :mod:`audar_plugins.alignment.words`). The work is linear in the
words and frames: the activity is kept as a :class:`GrowingCoverage`, and a word is
attributed only once the activity reaches its end (again only while a pause word before
it waits for more activity). :meth:`StreamingAligner.settle` releases every waiting word
at once, on a provisional look at the activity still to come, for a caller that cannot
wait (a realtime item whose audio the live session has not finished). The turn
corrections of :mod:`audar_plugins.alignment.turns` need words that come later:
:class:`~audar_plugins.alignment.settled.TurnSettler` applies them to the emitted words.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..activity import SpeakerActivity
from ..errors import InvalidOptionError
from .growing_coverage import GrowingCoverage
from .words import POINT_WORD, AttributedWord, Word, attribute_spans, attributed, word_spans, word_times

__all__ = ["StreamingAligner"]


class StreamingAligner:
    """Incremental word -> speaker merge; see the module docstring."""

    def __init__(self) -> None:
        self._coverage = GrowingCoverage()
        self._pending: list[Word] = []
        self._finished = False
        self._last_timed: int | None = None  # speaker code of the last timed word emitted

    @property
    def activity_end(self) -> float:
        """Seconds of stream the activity pushed so far covers."""
        return self._coverage.end

    def push_activity(self, block: SpeakerActivity) -> list[AttributedWord]:
        """Add the next finalised block; returns the words that became final."""
        self._check_open()
        self._coverage.append(block)
        return self._release(final=False)

    def push_words(self, words: Iterable[Word]) -> list[AttributedWord]:
        """Add the next words of the transcript; returns the words that became final."""
        self._check_open()
        self._pending.extend(words)
        return self._release(final=False)

    def settle(self, provisional: SpeakerActivity | None = None) -> list[AttributedWord]:
        """Every waiting word, now: attributed on the final activity followed by ``provisional``
        (frames not final yet, e.g. a live session's provisional flush). The aligner stays open:
        later blocks follow the final activity, not ``provisional``."""
        self._check_open()
        if provisional is None or not self._pending:
            return self._release(final=True)
        mark = self._coverage.mark()
        try:
            self._coverage.append(provisional)
            return self._release(final=True)
        finally:
            self._coverage.truncate(mark)

    def flush(self) -> list[AttributedWord]:
        """End of both streams: every remaining word, attributed on all the activity there is."""
        self._check_open()
        released = self._release(final=True)
        self._finished = True
        return released

    def forget(self, before: float) -> None:
        """No word that starts before ``before`` seconds will come: drop the activity only they would read."""
        self._coverage.forget(before)

    def _check_open(self) -> None:
        if self._finished:
            raise InvalidOptionError("this aligner was flushed; start a new one for a new stream")

    def _release(self, final: bool) -> list[AttributedWord]:
        words = self._pending if final else self._pending[: self._reachable()]
        if not words or (not final and self._coverage.frame_duration is None):
            return []
        coverage = self._coverage
        starts, ends = word_times(words)
        result = attribute_spans(starts, ends, coverage)
        timed = np.isfinite(starts)
        if self._last_timed is not None and not timed[0]:
            # untimed words at the front follow the timed word emitted before them, as offline
            leading = int(np.argmax(timed)) if timed.any() else starts.size
            result.speaker[:leading] = self._last_timed
            result.confidence[:leading] = 0.0
        count = len(words) if final else self._final_prefix(starts, ends, result)
        released = attributed(words[:count], result)  # zip stops at the words released
        emitted_timed = np.flatnonzero(timed[:count])
        if emitted_timed.size:
            self._last_timed = int(result.speaker[emitted_timed[-1]])
        del self._pending[:count]
        return released

    def _reachable(self) -> int:
        """How many leading waiting words the activity so far may settle: those before the first
        timed word that ends after it (work stays proportional to the words that can be released)."""
        end = self._coverage.end
        for index, word in enumerate(self._pending):
            if _reach(word) > end:
                return index
        return len(self._pending)

    def _final_prefix(self, starts, ends, result) -> int:
        """How many leading pending words no future activity can change."""
        end = self._coverage.end
        timed, low, high = word_spans(starts, ends)
        covered = timed & (high <= end)
        settled = covered & (result.confidence > 0)  # speech under the word, all of it known
        pause = np.flatnonzero(covered & ~settled)
        if pause.size and self._coverage.num_speakers:
            before, after = self._coverage.gaps(low[pause], high[pause])
            # speech still to come starts at or after the activity's end
            settled[pause] = (after.min(axis=1) < np.inf) | (end - high[pause] >= before.min(axis=1))
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


def _reach(word: Word) -> float:
    """The latest time ``word`` is read over (as :func:`word_spans` reads it); ``-inf`` untimed."""
    start, end = word.start, word.end
    if start is None or not np.isfinite(start):
        return -np.inf
    if end is None or not np.isfinite(end):
        end = start
    low, high = min(start, end), max(start, end)
    return high if high - low >= POINT_WORD else (low + high) / 2 + POINT_WORD / 2
