"""TurnSettler: turns sent while words arrive are exactly the turns of the whole transcript."""

from __future__ import annotations

import numpy as np
import pytest

from audar_plugins import InvalidOptionError
from audar_plugins.alignment.settled import SETTLE_MARGIN, TurnSettler
from audar_plugins.alignment.turns import TurnOptions, group_turns
from audar_plugins.alignment.words import AttributedWord


def _words(seed: int, gaps, runs, count=(5, 120)) -> list[AttributedWord]:
    """Random raw attribution: short runs (flickers), unsure words, sentence ends, pauses, untimed words."""
    rng = np.random.default_rng(seed)
    words, time, speaker, left = [], 0.0, 0, 0
    for _ in range(int(rng.integers(*count))):
        if left == 0:
            speaker = int(rng.integers(0, 3)) if rng.random() < 0.8 else speaker
            left = int(rng.choice(runs))
        left -= 1
        time += float(rng.choice(gaps[0], p=gaps[1]))
        duration = float(rng.uniform(0.05, 0.6))
        timed = rng.random() >= 0.05
        words.append(AttributedWord(" w" + ("." if rng.random() < 0.25 else ""), time if timed else None,
                                    time + duration if timed else None, 0.9, f"speaker_{speaker}",
                                    float(rng.choice([0.3, 0.6, 0.8, 0.95, 1.0]))))
        time += duration
    return words


SPREAD = ([0.0, 0.05, 0.2, 0.5, 1.0, 3.0], [0.3, 0.3, 0.2, 0.1, 0.05, 0.05])
DENSE = ([0.0, 0.05, 0.2], [0.6, 0.3, 0.1])


def _stream(words, batch: int, options=TurnOptions()) -> tuple[list, list[int], int]:
    """The turns a settler emits for ``words`` pushed ``batch`` at a time: all, how many by each
    push, and the most words a push read again."""
    settler, turns, counts, most = TurnSettler(options), [], [], 0
    for first in range(0, len(words), batch):
        most = max(most, settler.words_in_window)
        turns += settler.push(words[first : first + batch])
        counts.append(len(turns))
    return turns + settler.flush(), counts, most


@pytest.mark.parametrize(("gaps", "runs"), [(SPREAD, [1, 1, 1, 2, 3, 5, 8]), (DENSE, [1, 1, 1, 1, 2, 2, 3])])
@pytest.mark.parametrize("batch", [1, 3, 17])
def test_streamed_turns_equal_the_turns_of_the_whole_transcript(gaps, runs, batch):
    settled_early = 0
    for seed in range(60):
        words = _words(seed, gaps, runs)
        final = group_turns(words, TurnOptions())
        turns, counts, _ = _stream(words, batch)
        assert turns == final, seed
        settled_early += counts[-1]
    assert settled_early > 300  # the rule settles most turns before the end, not none


def test_the_window_stays_short_on_a_long_transcript():
    words = _words(7, SPREAD, [1, 2, 3, 5, 8], count=(3000, 3001))
    turns, _, most = _stream(words, 5)
    assert turns == group_turns(words, TurnOptions())
    assert most < 150  # words read again by one push, out of 3,000


def _differs(words) -> bool:
    """Whether streaming ``words`` one by one gives other turns than the whole (or trips the settler's check)."""
    try:
        return _stream(words, 1)[0] != group_turns(words, TurnOptions())
    except AssertionError:
        return True


def test_without_a_margin_the_check_finds_turns_that_changed(monkeypatch):
    """The test above has teeth: settling too early is caught."""
    monkeypatch.setattr("audar_plugins.alignment.settled.SETTLE_MARGIN", SETTLE_MARGIN - 3.0)
    mismatches = 0
    for seed in range(60):
        words = _words(seed, DENSE, [1, 1, 1, 1, 2, 2, 3])
        mismatches += _differs(words)
    assert mismatches > 0


def test_a_window_reset_without_the_time_condition_is_caught(monkeypatch):
    """The reset rule's time condition matters: dropping it changes turns."""
    monkeypatch.setattr(TurnSettler, "_is_reset_point", lambda self, index: not any(
        self._flicker(run) for run in (index - 1, index, index + 1)))
    mismatches = 0
    for seed in range(60):
        mismatches += _differs(_words(seed, DENSE, [1, 1, 1, 1, 2, 2, 3]))
    assert mismatches > 0


def test_without_corrections_every_turn_but_the_last_is_settled():
    words = [AttributedWord(" a", 0.0, 0.5, speaker="x"), AttributedWord(" b", 0.5, 1.0, speaker="y"),
             AttributedWord(" c", 1.0, 1.5, speaker="y")]
    settler = TurnSettler(None)
    assert [turn.speaker for turn in settler.push(words)] == ["x"]
    assert [turn.speaker for turn in settler.flush()] == ["y"]
    assert TurnSettler().push(words) == []
    with pytest.raises(InvalidOptionError, match="flushed"):
        settler.push(words)
