"""Word attribution against brute-force references, and its rules for awkward words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audar_plugins import SpeakerActivity
from audar_plugins.alignment import SpeakerCoverage, Word, attribute_words


def brute_force_mass(turns, start, end, speakers):
    """Seconds each speaker speaks inside [start, end], turn by turn (a speaker's turns merged first)."""
    mass = []
    for speaker in speakers:
        grid = np.linspace(start, end, 2001)[:-1] + (end - start) / 4000  # midpoint rule, 2000 cells
        inside = np.zeros(grid.size, dtype=bool)
        for s, e, who in turns:
            if who == speaker:
                inside |= (grid >= s) & (grid < e)
        covered = inside.mean() * (end - start)
        mass.append(covered)
    return np.array(mass)


turn_lists = st.lists(
    st.tuples(st.floats(0, 20), st.floats(0.05, 4), st.sampled_from(["A", "B", "C"])), min_size=1, max_size=12
)
word_lists = st.lists(st.tuples(st.floats(-1, 25), st.floats(0, 1.5)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(turn_lists, word_lists)
def test_hard_turns_pick_the_speaker_with_most_speech_or_the_nearest(raw_turns, raw_words):
    turns = [(round(s, 2), round(s + d, 2), who) for s, d, who in raw_turns]
    frame = pd.DataFrame(turns, columns=["start", "end", "speaker"])
    words = [Word(f"w{i}", round(s, 2), round(s + d, 2)) for i, (s, d) in enumerate(raw_words)]
    speakers = sorted({who for _, _, who in turns})
    for word, got in zip(words, attribute_words(words, frame)):
        start, end = word.start, word.end
        if end - start < 0.02:
            start, end = (start + end) / 2 - 0.01, (start + end) / 2 + 0.01
        mass = brute_force_mass(turns, start, end, speakers)
        if mass.max() > 0.002:  # clearly inside someone's speech
            assert mass[speakers.index(got.speaker)] >= mass.max() - 0.003, (word, turns)
            assert got.confidence > 0
        elif mass.max() == 0:
            gaps = []
            for speaker in speakers:
                own = [(s, e) for s, e, who in turns if who == speaker]
                gaps.append(min(max(s - end, start - e, 0.0) for s, e in own))
            assert gaps[speakers.index(got.speaker)] <= min(gaps) + 1e-9, (word, turns, gaps)
            assert got.confidence == 0.0


def test_soft_mass_integrates_fractional_frames():
    rng = np.random.default_rng(0)
    probabilities = rng.random((500, 3)).astype(np.float32)
    activity = SpeakerActivity(probabilities, 0.08, start=1.5)
    coverage = SpeakerCoverage.from_activity(activity)
    starts = rng.uniform(0, 45, 200)
    ends = starts + rng.uniform(0, 3, 200)
    got = coverage.speech(starts, ends)
    fine = np.repeat(probabilities.astype(np.float64), 800, axis=0)  # 0.1 ms cells
    step = 0.08 / 800
    for row, (start, end) in enumerate(zip(starts, ends)):
        first = int(np.clip(round((start - 1.5) / step), 0, fine.shape[0]))
        last = int(np.clip(round((end - 1.5) / step), 0, fine.shape[0]))
        np.testing.assert_allclose(got[row], fine[first:last].sum(axis=0) * step, atol=2e-4)


def test_overlap_names_a_second_speaker_and_shares_confidence():
    probabilities = np.zeros((100, 2), dtype=np.float32)
    probabilities[10:60, 0] = 1.0
    probabilities[40:90, 1] = 0.8
    words = [Word("solo", 1.5, 2.0), Word("both", 4.5, 5.5), Word("other", 7.0, 8.0)]
    solo, both, other = attribute_words(words, SpeakerActivity(probabilities, 0.1))
    assert (solo.speaker, solo.confidence, solo.second_speaker) == ("speaker_0", 1.0, None)
    assert (both.speaker, both.second_speaker) == ("speaker_0", "speaker_1")
    assert both.confidence == pytest.approx(1.0 / 1.8, abs=1e-6)
    assert (other.speaker, other.second_speaker) == ("speaker_1", None)


def test_words_without_times_take_their_neighbours_speaker():
    frame = pd.DataFrame({"start": [0.0, 5.0], "end": [4.0, 9.0], "speaker": ["A", "B"]})
    words = [Word("£13.60"), Word("one", 1.0, 1.5), Word("2014", None, None), Word("two", 6.0, 6.5), Word("%")]
    assert [word.speaker for word in attribute_words(words, frame)] == ["A", "A", "A", "B", "B"]


def test_words_in_pauses_take_the_nearest_speaker_earlier_on_ties():
    frame = pd.DataFrame({"start": [0.0, 5.0], "end": [4.0, 9.0], "speaker": ["A", "B"]})
    words = [Word("late", 4.1, 4.3), Word("early", 4.7, 4.9), Word("middle", 4.4, 4.6), Word("after", 12, 13),
             Word("before", -3, -2)]
    assert [word.speaker for word in attribute_words(words, frame)] == ["A", "B", "A", "B", "A"]


def test_awkward_input_has_defined_results():
    frame = pd.DataFrame({"start": [0.0, 5.0], "end": [4.0, 9.0], "speaker": ["A", "B"]})
    words = [
        Word("backwards", 3.0, 2.0),  # end before start: the span between them
        Word("point", 6.0, 6.0),  # zero duration: 20 ms around it
        Word("nan", float("nan"), 1.0),  # NaN start: untimed
        Word("inf", float("inf"), float("inf")),
        Word("out-of-order", 1.0, 1.2),
        Word("overlapping", 1.1, 6.5),
        Word("beyond", 100.0, 101.0),
    ]
    got = attribute_words(words, frame)
    assert [word.speaker for word in got] == ["A", "B", "B", "B", "A", "A", "B"]
    assert attribute_words([], frame) == []
    silent = attribute_words(words, SpeakerActivity(np.zeros((50, 2), dtype=np.float32), 0.1))
    assert {word.speaker for word in silent} == {None} and {word.confidence for word in silent} == {0.0}
    nobody = attribute_words(words, pd.DataFrame({"start": [], "end": [], "speaker": []}))
    assert {word.speaker for word in nobody} == {None}


def test_unsupported_diarization_type_is_a_type_error():
    with pytest.raises(TypeError, match="diarization must be"):
        attribute_words([Word("a", 0, 1)], [(0, 1, "A")])
