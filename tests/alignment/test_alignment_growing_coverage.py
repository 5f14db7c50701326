"""GrowingCoverage answers exactly as SpeakerCoverage.from_activity on the concatenated blocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audar_plugins import InvalidOptionError, SpeakerActivity
from audar_plugins.alignment.coverage import SpeakerCoverage
from audar_plugins.alignment.growing_coverage import GrowingCoverage

FRAME = 0.08


def _blocks(seed: int, sizes: list[int], speakers: int) -> list[SpeakerActivity]:
    """Blocks of random speech; a speaker may first appear in a later block (more columns)."""
    rng = np.random.default_rng(seed)
    blocks, frame = [], 0
    for index, size in enumerate(sizes):
        width = min(speakers, 1 + index)
        probabilities = (rng.random((size, width)) * (rng.random((size, width)) < 0.6)).astype(np.float32)
        blocks.append(SpeakerActivity(probabilities, FRAME, 2.0 + frame * FRAME))
        frame += size
    return blocks


def _assert_same(growing: GrowingCoverage, reference: SpeakerCoverage, starts: np.ndarray, ends: np.ndarray):
    assert growing.labels == reference.labels
    assert np.array_equal(growing.speech(starts, ends), reference.speech(starts, ends))
    for mine, theirs in zip(growing.gaps(starts, ends), reference.gaps(starts, ends)):
        assert np.array_equal(mine, theirs)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(0, 40), min_size=1, max_size=12), st.integers(1, 4),
       st.lists(st.integers(0, 25), max_size=12))
def test_blocks_appended_one_by_one_equal_the_whole(seed, sizes, speakers, provisional):
    blocks = _blocks(seed, sizes, speakers)
    growing = GrowingCoverage()
    rng = np.random.default_rng(seed + 1)
    for index, block in enumerate(blocks):
        growing.append(block)
        if index < len(provisional):  # provisional frames, taken back
            mark = growing.mark()
            extra = rng.random((provisional[index], speakers)).astype(np.float32)
            growing.append(SpeakerActivity(extra, FRAME, growing.end))
            growing.truncate(mark)
    whole = SpeakerActivity.concatenate(blocks)
    assert growing.end == pytest.approx(whole.end)
    starts = rng.uniform(0, whole.end + 2, 80)
    _assert_same(growing, SpeakerCoverage.from_activity(whole), starts, starts + rng.uniform(0, 2, 80))


def test_forgotten_frames_leave_later_answers_unchanged():
    blocks = _blocks(3, [30] * 40, 3)
    growing = GrowingCoverage()
    for block in blocks:
        growing.append(block)
        growing.forget(growing.end - 5.0)
    reference = SpeakerCoverage.from_activity(SpeakerActivity.concatenate(blocks))
    starts = np.linspace(growing.end - 4.9, growing.end, 50)
    _assert_same(growing, reference, starts, starts + 0.3)
    # the speech intervals stay: the nearest speaker of a word far back is still found
    early = np.array([2.5])
    assert np.array_equal(growing.gaps(early, early + 0.1)[0], reference.gaps(early, early + 0.1)[0])


def test_blocks_that_do_not_follow_are_refused():
    growing = GrowingCoverage()
    growing.append(SpeakerActivity(np.ones((10, 1), np.float32), FRAME))
    with pytest.raises(InvalidOptionError, match="does not follow"):
        growing.append(SpeakerActivity(np.ones((10, 1), np.float32), FRAME, start=5.0))
    with pytest.raises(InvalidOptionError, match="frame duration"):
        growing.append(SpeakerActivity(np.ones((10, 1), np.float32), 0.01, start=0.8))
    with pytest.raises(InvalidOptionError, match="rename"):
        growing.append(SpeakerActivity(np.ones((10, 1), np.float32), FRAME, start=0.8, labels=["someone"]))
