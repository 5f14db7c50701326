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

Emitting :func:`settled_turns` as words arrive, then the rest of ``group_turns`` on all the
words at the end, gives exactly ``group_turns`` on all the words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .turns import Turn, TurnOptions, group_turns
from .words import AttributedWord, word_times

__all__ = ["SETTLE_MARGIN", "settled_turns"]

SETTLE_MARGIN = 1.0
"""Seconds added to the reach of the corrections, for word times that are not strictly ordered."""


def settled_turns(words: Sequence[AttributedWord], options: TurnOptions | None = TurnOptions()) -> list[Turn]:
    """The leading turns of ``group_turns(words, options)`` that stay the same whatever words follow.

    Parameters
    ----------
    words
        The transcript so far, in order, each with its final (raw, unsmoothed) attribution;
        words only ever get appended.
    options
        The corrections, as for :func:`group_turns` (``None``: none, and every turn but the
        last is settled).

    The answer is conservative: while the newest run of words has no times it may be
    shorter than an earlier one, but it is never different from the final turns.
    """
    turns = group_turns(words, options)
    if options is None:
        return turns[:-1]
    speakers = [word.speaker for word in words]
    run_starts = [0] + [index for index in range(1, len(speakers)) if speakers[index] != speakers[index - 1]]
    if len(run_starts) < 3:
        return []
    cut = run_starts[-2]
    starts, ends = word_times(words)
    later = starts[cut:]
    if np.isnan(later).all():
        return []
    horizon = np.nanmin(later) - 4 * options.sentence_tolerance - SETTLE_MARGIN
    # the latest time reached by each word or one before it (untimed words reach nothing)
    reached = np.fmax.accumulate(np.where(np.isnan(ends), starts, ends))
    settled = []
    stop = 0
    for turn in turns:
        stop += len(turn.words)
        # the turn's end is fixed only together with the first word of the next turn
        if stop >= cut or not reached[stop] < horizon:
            break
        settled.append(turn)
    return settled
