"""settled_turns: turns sent while words arrive are exactly the turns of the whole transcript."""

from __future__ import annotations

import numpy as np
import pytest

from audar_plugins.alignment.settled import SETTLE_MARGIN, settled_turns
from audar_plugins.alignment.turns import TurnOptions, group_turns
from audar_plugins.alignment.words import AttributedWord


def _words(seed: int, gaps, runs) -> list[AttributedWord]:
    """Random raw attribution: short runs (flickers), unsure words, sentence ends, pauses, untimed words."""
    rng = np.random.default_rng(seed)
    words, time, speaker, left = [], 0.0, 0, 0
    for _ in range(int(rng.integers(5, 120))):
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


@pytest.mark.parametrize(("gaps", "runs"), [(SPREAD, [1, 1, 1, 2, 3, 5, 8]), (DENSE, [1, 1, 1, 1, 2, 2, 3])])
def test_settled_turns_are_a_prefix_of_the_final_turns_at_every_step(gaps, runs):
    settled_in_all = 0
    for seed in range(60):
        words = _words(seed, gaps, runs)
        final = group_turns(words, TurnOptions())
        most = 0
        for end in range(1, len(words) + 1):
            settled = settled_turns(words[:end])
            assert settled == final[: len(settled)], (seed, end)
            most = max(most, len(settled))
        settled_in_all += most
    assert settled_in_all > 400  # the rule settles most turns before the end, not none


def test_without_a_margin_the_check_finds_turns_that_changed(monkeypatch):
    """The test above has teeth: settling too early is caught."""
    monkeypatch.setattr("audar_plugins.alignment.settled.SETTLE_MARGIN", SETTLE_MARGIN - 3.0)
    mismatches = 0
    for seed in range(60):
        words = _words(seed, DENSE, [1, 1, 1, 1, 2, 2, 3])
        final = group_turns(words, TurnOptions())
        for end in range(1, len(words) + 1):
            settled = settled_turns(words[:end])
            mismatches += settled != final[: len(settled)]
    assert mismatches > 0


def test_without_corrections_every_turn_but_the_last_is_settled():
    words = [AttributedWord(" a", 0.0, 0.5, speaker="x"), AttributedWord(" b", 0.5, 1.0, speaker="y"),
             AttributedWord(" c", 1.0, 1.5, speaker="y")]
    assert [turn.speaker for turn in settled_turns(words, None)] == ["x"]
    assert settled_turns(words) == []
