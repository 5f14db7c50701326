"""Live sessions of the GE2E backend: the offline speech, online speakers, exact snapshots."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from audar_plugins.activity import SpeakerActivity
from audar_plugins.backends.base import SpeakerCount, StreamingBackend, StreamingSession
from audar_plugins.backends.ge2e import GE2EBackend
from audar_plugins.errors import InvalidAudioError, InvalidOptionError, SessionClosedError, SnapshotError
from audar_plugins.evaluation import diarization_error_rate
from audar_plugins.formats import read_rttm


def streamed(session, audio: np.ndarray, sizes) -> SpeakerActivity:
    """``audio`` pushed in pieces whose sizes cycle through ``sizes``, then flushed."""
    blocks, position, turn = [], 0, 0
    while position < len(audio):
        size = sizes[turn % len(sizes)]
        blocks.append(session.push(audio[position : position + size]))
        position += size
        turn += 1
    blocks.append(session.flush())
    return SpeakerActivity.concatenate(blocks)


@pytest.fixture(scope="module")
def live(ge2e, speech) -> SpeakerActivity:
    """falcon streamed in 100 ms pushes."""
    return streamed(ge2e.open_session(), speech, [1600])


def test_the_ge2e_backend_streams(ge2e):
    assert isinstance(ge2e, StreamingBackend)
    assert isinstance(ge2e.open_session(), StreamingSession)


def test_a_stream_marks_the_same_speech_as_the_whole_recording(ge2e, speech, live):
    offline = ge2e.diarize(speech)
    assert live.num_frames == offline.num_frames
    np.testing.assert_array_equal(live.probabilities.sum(axis=1) > 0, offline.probabilities.sum(axis=1) > 0)


def test_the_output_does_not_depend_on_how_the_stream_is_cut(ge2e, speech, live):
    for sizes in ([16_000], [7, 3001, 512, 40_000], [len(speech)]):
        other = streamed(ge2e.open_session(), speech, sizes)
        assert other.labels == live.labels
        np.testing.assert_array_equal(other.probabilities, live.probabilities)


def test_live_speakers_on_real_speech(data, ge2e, live):
    reference = read_rttm(data / "falcon" / "test.rttm")["test"]
    hypothesis = live.to_annotation(ge2e.binarization, uri="test")
    report = diarization_error_rate({"test": reference}, {"test": hypothesis}, collar=0.25)
    assert report.total.der < 0.05
    assert live.labels == ("speaker_0", "speaker_1", "speaker_2")
    # arrival order: speaker_0 speaks first, speaker_1 before speaker_2
    firsts = [hypothesis.label_timeline(label)[0].start for label in live.labels]
    assert firsts == sorted(firsts)


def test_speakers_arrive_as_columns_and_earlier_blocks_are_padded(ge2e, speech):
    session = ge2e.open_session()
    widths = [session.push(speech[start : start + 8000]).num_speakers for start in range(0, len(speech), 8000)]
    assert widths == sorted(widths) and widths[0] == 0 and widths[-1] == 3


def test_frames_become_final_about_a_second_after_they_arrive(ge2e, speech):
    session = ge2e.open_session()
    lags = []
    for start in range(0, len(speech), 1600):
        block = session.push(speech[start : start + 1600])
        lags.append(session.received_seconds - block.end)
    assert np.median(lags) < 1.5
    assert max(lags) < 3.0


def test_max_speakers_caps_the_speakers_a_session_creates(ge2e, speech):
    capped = streamed(ge2e.open_session(speakers=SpeakerCount(max_speakers=2)), speech, [16_000])
    assert capped.labels == ("speaker_0", "speaker_1")


@pytest.mark.parametrize("cut", [44_444, 150_001, 290_000])
def test_a_restored_session_continues_exactly(ge2e, speech, live, cut):
    first = ge2e.open_session()
    head = [first.push(speech[start : min(start + 3200, cut)]) for start in range(0, cut, 3200)]
    data = first.snapshot()
    resumed = GE2EBackend().restore_session(data)  # fresh models, as in another process
    assert resumed.labels == first.labels and resumed.emitted_frames == first.emitted_frames
    tail = [resumed.push(speech[start : start + 3200]) for start in range(cut, len(speech), 3200)]
    whole = SpeakerActivity.concatenate([*head, *tail, resumed.flush()])
    np.testing.assert_array_equal(whole.probabilities, live.probabilities)
    assert whole.labels == live.labels


def test_a_snapshot_stays_small_however_long_the_stream(ge2e, speech):
    session = ge2e.open_session()
    sizes = []
    for _ in range(3):  # 56 s, three times the recording
        for start in range(0, len(speech), 16_000):
            session.push(speech[start : start + 16_000])
        sizes.append(len(session.snapshot()))
    assert max(sizes) < 1_000_000
    assert sizes[-1] < 2 * sizes[0]


def test_snapshots_from_elsewhere_are_refused(ge2e, speech):
    with pytest.raises(SnapshotError):
        ge2e.restore_session(b"not a snapshot")
    session = ge2e.open_session()
    session.push(speech[:48_000])
    data = session.snapshot()
    other = GE2EBackend(threshold=0.5)
    with pytest.raises(SnapshotError, match="other ge2e options"):
        other.restore_session(data)


def test_bad_pushes_raise_and_change_nothing(ge2e, speech, live):
    session = ge2e.open_session()
    blocks = [session.push(speech[:100_000])]
    bad = speech[100_000:101_000].copy()
    bad[10] = np.nan
    with pytest.raises(InvalidAudioError):
        session.push(bad)
    with pytest.raises(InvalidAudioError):
        session.push(speech[:1000], sample_rate=8000)
    with pytest.raises(InvalidAudioError):
        session.push(np.zeros((2, 1000), dtype=np.float32))
    blocks += [session.push(speech[100_000:]), session.flush()]
    np.testing.assert_array_equal(SpeakerActivity.concatenate(blocks).probabilities, live.probabilities)
    with pytest.raises(SessionClosedError):
        session.push(speech[:100])


def test_silence_and_tiny_streams(ge2e):
    session = ge2e.open_session()
    silent = streamed(session, np.zeros(48_000, dtype=np.float32), [4000])
    assert silent.num_speakers == 0 and silent.num_frames == 301
    empty = ge2e.open_session().flush()
    assert empty.num_frames == 0


def test_the_ge2e_backend_has_no_latency_presets(ge2e):
    with pytest.raises(InvalidOptionError, match="no latency presets"):
        ge2e.open_session("nv-0.32s")
    with pytest.raises(InvalidOptionError):
        dataclasses.replace(ge2e.options, join_threshold=0)
