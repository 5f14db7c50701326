"""Turns that no later word can change, while a transcript is still arriving.

:func:`~audar_plugins.alignment.turns.group_turns` corrects speakers with a look-ahead: a
one-word flicker is judged by the runs of words on both sides of it, and a speaker change
may move to a sentence end up to ``sentence_tolerance`` seconds away. Both reach a bounded
distance, so the turns far enough behind the end of the words so far are final:

* a run of words is judged as a flicker with its neighbour runs, so every word before the
  second-to-last run (by raw speaker) has its final flicker correction;
* a change moves only across words within ``sentence_tolerance`` of it, and which sentence
  end it moves to is decided by words within another ``sentence_tolerance``; a turn whose
  end lies ``4 * sentence_tolerance`` plus a margin before the start of that run is settled.

The corrections reach back a bounded distance too, which keeps the work linear: a
:class:`TurnSettler` runs ``group_turns`` on a window of the words only, starting at a
*reset point*, a raw run start where ``group_turns`` on the window agrees with
``group_turns`` on all the words from the next change on. That holds at the start ``w``
of raw run ``j`` when runs ``j - 1``, ``j`` and ``j + 1`` are not flickers (so ``w`` and
the next change ``c`` are changes after the flicker pass too), and the change at ``w``
cannot limit the one at ``c``: the sentence-boundary pass lets a change move only past
words after the previous change's new position, and that position is within
``sentence_tolerance`` of ``w`` while ``c`` looks back only ``sentence_tolerance`` from
itself. So it cannot matter when ``c`` is more than twice the tolerance after ``w`` (every
word between them timed), or either change has no time (such a change never moves).

Emitting the turns of :meth:`TurnSettler.push` as words arrive, then those of
:meth:`TurnSettler.flush`, gives exactly ``group_turns`` on all the words.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidOptionError
from .turns import Turn, TurnOptions, group_turns
from .words import AttributedWord, word_times

__all__ = ["SETTLE_MARGIN", "TurnSettler"]

SETTLE_MARGIN = 1.0
"""Seconds added to the reach of the corrections, for word times that are not strictly ordered."""


@dataclass
class _Run:
    """A run of words with one raw speaker."""

    start: int  # index of its first word in the whole transcript
    speaker: str | None
    length: int
    peak: float  # the highest confidence in it


class TurnSettler:
    """Speaker turns of a transcript that arrives word by word; see the module docstring.

    Parameters
    ----------
    options
        The corrections, as for :func:`group_turns` (``None``: none, and every turn but the
        last is settled).
    """

    def __init__(self, options: TurnOptions | None = TurnOptions()) -> None:
        self.options = options
        self._window: list[AttributedWord] = []  # the words from index self._offset on
        self._offset = 0
        self._emitted = 0  # words in the turns returned so far
        self._reached_before = -math.inf  # the latest time reached by a word before the window
        self._runs: list[_Run] = []
        self._candidate = 1  # the next run whose start may become the window's start
        self._finished = False

    @property
    def words_in_window(self) -> int:
        """Words that the next :meth:`push` reads again (the work each push does)."""
        return len(self._window)

    def push(self, words: Iterable[AttributedWord]) -> list[Turn]:
        """Add the next words (each with its final, raw attribution); the turns that became final."""
        if self._finished:
            raise InvalidOptionError("this settler was flushed; start a new one for a new transcript")
        added = list(words)
        for word in added:
            self._add_to_runs(word)
        self._window += added
        if not added:
            return []
        turns = self._settled_turns()
        self._advance_window()
        return turns

    def flush(self) -> list[Turn]:
        """The transcript is complete: the turns not returned yet."""
        if self._finished:
            raise InvalidOptionError("this settler was flushed; start a new one for a new transcript")
        self._finished = True
        return self._new_turns(group_turns(self._window, self.options))

    def _add_to_runs(self, word: AttributedWord) -> None:
        if self._runs and self._runs[-1].speaker == word.speaker:
            run = self._runs[-1]
            run.length += 1
            run.peak = max(run.peak, word.confidence)
        else:
            start = self._runs[-1].start + self._runs[-1].length if self._runs else 0
            self._runs.append(_Run(start, word.speaker, 1, word.confidence))

    def _new_turns(self, turns: list[Turn]) -> list[Turn]:
        """Of the window's leading ``turns``, those after the words already emitted (now emitted)."""
        found = []
        stop = self._offset
        for turn in turns:
            start, stop = stop, stop + len(turn.words)
            if stop <= self._emitted:
                continue
            if start != self._emitted:  # the window's start was not a reset point: a bug, not bad input
                raise AssertionError(f"turn at word {start} does not follow the {self._emitted} words emitted")
            found.append(turn)
            self._emitted = stop
        return found

    def _settled_turns(self) -> list[Turn]:
        turns = group_turns(self._window, self.options)
        emitted = self._emitted
        if self.options is None:
            return self._new_turns(turns[:-1])
        if len(self._runs) < 3:
            return []
        cut = self._runs[-2].start
        starts, ends = word_times(self._window)
        later = starts[cut - self._offset:]
        if np.isnan(later).all():
            return []
        horizon = np.nanmin(later) - 4 * self.options.sentence_tolerance - SETTLE_MARGIN
        # the latest time reached by each word or one before it (untimed words reach nothing)
        reached = np.fmax(self._reached_before, np.fmax.accumulate(np.where(np.isnan(ends), starts, ends)))
        count = 0  # turns of the window that are settled
        stop = self._offset
        for turn in turns:
            stop += len(turn.words)
            # the turn's end is fixed only together with the first word of the next turn
            if stop > emitted and (stop >= cut or not reached[stop - self._offset] < horizon):
                break
            count += 1
        return self._new_turns(turns[:count])

    def _advance_window(self) -> None:
        """Move the window's start to the latest reset point whose next change was emitted."""
        runs = self._runs
        if self.options is None:
            start = self._emitted  # without corrections every turn stands alone
        else:
            start = self._offset
            while self._candidate + 3 < len(runs) and runs[self._candidate + 1].start <= self._emitted:
                if self._is_reset_point(self._candidate):
                    start = runs[self._candidate].start
                self._candidate += 1
        if start <= self._offset:
            return
        starts, ends = word_times(self._window[: start - self._offset])
        reached = np.where(np.isnan(ends), starts, ends)  # as _settled_turns reads each word
        self._reached_before = float(np.nanmax([self._reached_before, *reached]))
        self._window = self._window[start - self._offset:]
        self._offset = start

    def _is_reset_point(self, index: int) -> bool:
        """Whether the start of raw run ``index`` is a reset point (runs up to ``index + 3`` exist)."""
        options = self.options
        assert options is not None
        if any(self._flicker(run) for run in (index - 1, index, index + 1)):
            return False
        first, change = self._runs[index].start, self._runs[index + 1].start
        gaps = [self._gap(position) for position in range(first, change + 1)]
        if math.isnan(gaps[0]) or math.isnan(gaps[-1]):
            return True
        return all(not math.isnan(gap) for gap in gaps) and gaps[-1] - gaps[0] > 2 * options.sentence_tolerance + 1e-6

    def _flicker(self, index: int) -> bool:
        """Whether raw run ``index`` (with complete neighbours) is corrected as a flicker."""
        options = self.options
        assert options is not None
        if index < 1:
            return False
        before, run, after = self._runs[index - 1], self._runs[index], self._runs[index + 1]
        return (run.length <= options.max_flicker_words and before.speaker == after.speaker
                and before.length >= options.flicker_context and after.length >= options.flicker_context
                and run.peak < options.flicker_confidence)

    def _gap(self, position: int) -> float:
        """The time of the gap before word ``position``, as the sentence-boundary pass reads it."""
        word = self._window[position - self._offset]
        previous = self._window[position - 1 - self._offset]
        left = math.nan if previous.end is None else previous.end
        right = math.nan if word.start is None else word.start
        if math.isnan(left):
            return right
        if math.isnan(right):
            return left
        return (left + right) / 2
