"""SpeakerActivity and Binarization: validation, hand-checked segments, pyannote interop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pyannote.core import Segment

from audar_plugins.activity import Binarization, SpeakerActivity, runs
from audar_plugins.errors import InvalidOptionError


def test_hand_checked_hysteresis_padding_and_filters():
    # 80 ms frames: speaker on frames 2-4 (0.16-0.40 s) and 6 (0.48-0.56 s)
    probabilities = np.array([[0.1], [0.4], [0.9], [0.6], [0.55], [0.2], [0.7], [0.1]], dtype=np.float32)
    activity = SpeakerActivity(probabilities, frame_duration=0.08)

    plain = activity.segments(Binarization())[0]
    np.testing.assert_allclose(plain, [[0.16, 0.40], [0.48, 0.56]])

    # offset 0.3 keeps frame 5 (0.2)? no: 0.2 < 0.3 ends it; onset 0.65 drops the 0.6 frame as a start
    np.testing.assert_allclose(activity.segments(Binarization(onset=0.65, offset=0.3))[0], [[0.16, 0.40], [0.48, 0.56]])
    np.testing.assert_allclose(activity.segments(Binarization(onset=0.65, offset=0.58))[0], [[0.16, 0.32], [0.48, 0.56]])

    # padding merges the two, then min_duration_on removes nothing
    np.testing.assert_allclose(activity.segments(Binarization(pad_onset=0.05, pad_offset=0.05))[0], [[0.11, 0.61]])
    # min_duration_on drops the short second segment; min_duration_off bridges the gap
    np.testing.assert_allclose(activity.segments(Binarization(min_duration_on=0.1))[0], [[0.16, 0.40]])
    np.testing.assert_allclose(activity.segments(Binarization(min_duration_off=0.1))[0], [[0.16, 0.56]])


def test_speech_to_the_end_stops_at_the_last_10ms_as_in_nemo():
    activity = SpeakerActivity(np.ones((3, 1), dtype=np.float32), frame_duration=0.08, start=10.0)
    np.testing.assert_allclose(activity.segments()[0], [[10.0, 10.23]])


def test_annotation_labels_offset_and_uri():
    probabilities = np.zeros((50, 2), dtype=np.float32)
    probabilities[5:20, 0] = 0.9
    probabilities[15:40, 1] = 0.8
    activity = SpeakerActivity(probabilities, frame_duration=0.08, start=2.0, labels=("alice", "bob"))
    annotation = activity.to_annotation(uri="meeting")
    assert annotation.uri == "meeting"
    tracks = sorted((s.start, s.end, label) for s, _, label in annotation.itertracks(yield_label=True))
    assert tracks == [(2.4, 3.6, "alice"), (3.2, 5.2, "bob")]
    assert annotation.get_overlap() == annotation.get_overlap().__class__([Segment(3.2, 3.6)])


def test_probabilities_stay_available_and_read_only():
    probabilities = np.random.default_rng(0).random((10, 3))
    activity = SpeakerActivity(probabilities, frame_duration=0.02)
    assert activity.probabilities.dtype == np.float32
    np.testing.assert_allclose(activity.probabilities, probabilities.astype(np.float32))
    with pytest.raises(ValueError):
        activity.probabilities[0, 0] = 1.0
    assert activity.labels == ("speaker_0", "speaker_1", "speaker_2")
    assert activity.end == pytest.approx(0.2)
    np.testing.assert_allclose(activity.frame_starts(), np.arange(10) * 0.02)


def test_sliding_window_feature_roundtrip():
    probabilities = np.random.default_rng(1).random((25, 2)).astype(np.float32)
    feature = SpeakerActivity(probabilities, frame_duration=0.08, start=1.0).to_sliding_window_feature()
    np.testing.assert_array_equal(feature.data, probabilities)
    assert feature.sliding_window.step == 0.08 and feature.sliding_window.start == 1.0
    assert feature.sliding_window[3] == Segment(1.24, 1.32)
    assert feature.labels == ["speaker_0", "speaker_1"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"probabilities": np.zeros(5)}, "shape"),
        ({"probabilities": np.full((3, 1), np.nan)}, "NaN"),
        ({"probabilities": np.full((3, 1), 1.5)}, r"\[0, 1\]"),
        ({"frame_duration": 0.0}, "positive"),
        ({"frame_duration": -1.0}, "frame_duration"),
        ({"start": -2.0}, "start"),
        ({"labels": ("a",)}, "labels"),
        ({"labels": ("a", "a")}, "labels"),
        ({"embeddings": np.zeros((3, 4))}, "embeddings"),
    ],
)
def test_invalid_activity(kwargs, message):
    arguments = {"probabilities": np.zeros((3, 2)), "frame_duration": 0.08, **kwargs}
    with pytest.raises(InvalidOptionError, match=message):
        SpeakerActivity(**arguments)


@pytest.mark.parametrize(
    "kwargs", [{"onset": 1.2}, {"offset": -0.1}, {"pad_onset": -1}, {"min_duration_on": float("nan")}, {"onset": "high"}]
)
def test_invalid_binarization(kwargs):
    with pytest.raises(InvalidOptionError):
        Binarization(**kwargs)


@settings(max_examples=200, deadline=None)
@given(
    probabilities=arrays(np.float32, st.tuples(st.integers(1, 120), st.integers(1, 3)), elements=st.floats(0, 1, width=32)),
    onset=st.floats(0.05, 0.95),
    offset=st.floats(0.05, 0.95),
    pad=st.floats(0, 0.3),
    min_on=st.floats(0, 0.5),
    min_off=st.floats(0, 0.5),
)
def test_segments_are_sorted_disjoint_and_within_bounds(probabilities, onset, offset, pad, min_on, min_off):
    activity = SpeakerActivity(probabilities, frame_duration=0.08)
    options = Binarization(onset, offset, pad, pad, min_on, min_off)
    for segments in activity.segments(options):
        assert np.all(segments[:, 0] < segments[:, 1])
        assert np.all(segments[1:, 0] >= segments[:-1, 1])  # touching only after 10 ms rounding, as in NeMo
        assert np.all(segments >= 0) and np.all(segments[:, 1] <= activity.end + pad + 1e-6)
        np.testing.assert_allclose(segments * 100, np.round(segments * 100), atol=1e-6)  # 10 ms grid


def test_exclusive_annotation_keeps_the_speech_and_gives_overlaps_to_the_likelier_speaker():
    rng = np.random.default_rng(7)
    probabilities = np.clip(rng.random((400, 3)) ** 3 * 1.6, 0, 1)  # bursts that often overlap
    activity = SpeakerActivity(probabilities, 0.08, start=1.5)
    binarization = Binarization(onset=0.5, offset=0.4, pad_onset=0.1, pad_offset=0.05)
    overlapping = activity.to_annotation(binarization, uri="x")
    exclusive = activity.to_exclusive_annotation(binarization, uri="x")
    assert exclusive.uri == "x"
    assert overlapping.get_overlap().duration() > 1.0  # the case is not trivial
    assert exclusive.get_overlap().duration() == pytest.approx(0.0, abs=1e-9)
    assert exclusive.get_timeline().support().duration() == pytest.approx(
        overlapping.get_timeline().support().duration(), abs=1e-6
    )
    for segment, _, label in exclusive.itertracks(yield_label=True):
        middle = (segment.start + segment.end) / 2
        speaking = [lab for seg, _, lab in overlapping.itertracks(yield_label=True) if seg.start <= middle < seg.end]
        assert label in speaking
        frame = min(int((middle - 1.5) / 0.08), 399)
        best = max(speaking, key=lambda lab: probabilities[frame, activity.labels.index(lab)])
        assert probabilities[frame, activity.labels.index(label)] == probabilities[frame, activity.labels.index(best)]


def test_exclusive_annotation_of_silence_is_empty():
    activity = SpeakerActivity(np.zeros((50, 2)), 0.08)
    assert len(activity.to_exclusive_annotation()) == 0
    assert len(SpeakerActivity(np.zeros((0, 2)), 0.08).to_exclusive_annotation()) == 0


def test_concatenate_pads_blocks_from_before_a_speaker_arrived():
    early = SpeakerActivity(np.full((2, 1), 0.9), 0.08, labels=("speaker_0",))
    later = SpeakerActivity(np.full((3, 2), 0.4), 0.08, start=0.16, labels=("speaker_0", "speaker_1"))
    joined = SpeakerActivity.concatenate([early, later])
    assert joined.labels == ("speaker_0", "speaker_1")
    np.testing.assert_allclose(joined.probabilities[:2], [[0.9, 0.0], [0.9, 0.0]])
    renamed = SpeakerActivity(np.full((3, 2), 0.4), 0.08, start=0.16, labels=("other", "speaker_1"))
    with pytest.raises(InvalidOptionError):
        SpeakerActivity.concatenate([early, renamed])


def test_runs_join_across_short_gaps_only():
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 1], dtype=bool)
    assert runs(mask) == [(1, 3), (5, 6), (7, 8)]
    assert runs(mask, bridged=1) == [(1, 3), (5, 8)]
    assert runs(mask, bridged=2) == [(1, 8)]
    assert runs(np.zeros(4, dtype=bool)) == []
