"""The fake backend: its script offline, and live sessions equal to it however the stream is cut."""

from __future__ import annotations

import numpy as np
import pytest

from audar_plugins.activity import SpeakerActivity
from audar_plugins.backends.base import SpeakerCount, StreamingBackend, StreamingSession
from audar_plugins.backends.fake import FakeBackend
from audar_plugins.errors import (
    InvalidAudioError,
    InvalidOptionError,
    SessionClosedError,
    SnapshotError,
)

SECOND = 16_000


def test_the_fake_backend_streams():
    backend = FakeBackend()
    assert isinstance(backend, StreamingBackend)
    session = backend.open_session()
    assert isinstance(session, StreamingSession)
    assert session.frame_duration == 0.08 and session.labels == () and session.emitted_frames == 0


def test_speakers_arrive_with_their_first_turn():
    activity = FakeBackend(num_speakers=3, turn_duration=2.0).diarize(np.zeros(7 * SECOND, dtype=np.float32))
    assert activity.labels == ("speaker_0", "speaker_1", "speaker_2")
    first_frames = [int(np.argmax(activity.probabilities[:, k] > 0)) for k in range(3)]
    assert first_frames == [0, 25, 50]  # 2 s turns of 80 ms frames
    assert activity.probabilities[:25, 1:].max() == 0.0
    short = FakeBackend(num_speakers=3).diarize(np.zeros(SECOND, dtype=np.float32))
    assert short.labels == ("speaker_0",)


@pytest.mark.parametrize("samples, frames", [(1, 1), (1279, 1), (1280, 1), (1281, 2), (8960, 7), (SECOND, 13)])
def test_a_last_partial_frame_counts_and_nothing_more(samples, frames):
    assert FakeBackend().diarize(np.zeros(samples, dtype=np.float32)).num_frames == frames


def test_frames_are_final_once_their_whole_80_ms_has_arrived():
    session = FakeBackend().open_session()
    assert session.push(np.zeros(1279, dtype=np.float32)).num_frames == 0
    assert session.push(np.zeros(1, dtype=np.float32)).num_frames == 1
    block = session.push(np.zeros(3000, dtype=np.float32))
    assert (block.start, block.num_frames) == (0.08, 2)
    assert session.received_seconds == pytest.approx(4280 / SECOND)
    assert session.flush().num_frames == 1  # the partial fourth frame


def test_labels_grow_in_arrival_order_and_blocks_join_into_the_offline_output():
    backend = FakeBackend(num_speakers=3, turn_duration=1.0)
    audio = np.zeros(5 * SECOND + 77, dtype=np.float32)
    session, blocks, widths = backend.open_session(), [], []
    for start in range(0, audio.size, 6000):
        blocks.append(session.push(audio[start : start + 6000]))
        widths.append(len(session.labels))
    blocks.append(session.flush())
    assert widths == sorted(widths) and widths[0] == 1 and widths[-1] == 3
    live, offline = SpeakerActivity.concatenate(blocks), backend.diarize(audio)
    assert live.labels == offline.labels
    np.testing.assert_array_equal(live.probabilities, offline.probabilities)


def test_speaker_bounds_as_offline():
    backend = FakeBackend(num_speakers=2, turn_duration=1.0)
    audio = np.zeros(6 * SECOND, dtype=np.float32)
    for speakers in (SpeakerCount(num_speakers=4), SpeakerCount(max_speakers=1), SpeakerCount(min_speakers=3)):
        session = backend.open_session(speakers=speakers)
        live = SpeakerActivity.concatenate([session.push(audio), session.flush()])
        offline = backend.diarize(audio, speakers)
        assert live.labels == offline.labels and live.num_speakers == min(max(2, speakers.bounds[0]), speakers.bounds[1])
        np.testing.assert_array_equal(live.probabilities, offline.probabilities)


def test_a_restored_session_continues_exactly():
    backend = FakeBackend(num_speakers=3, turn_duration=0.5)
    audio = np.zeros(3 * SECOND + 5, dtype=np.float32)
    first = backend.open_session(speakers=SpeakerCount(num_speakers=3))
    head = [first.push(audio[:20_001])]
    resumed = FakeBackend(num_speakers=3, turn_duration=0.5).restore_session(first.snapshot())
    assert resumed.labels == first.labels and resumed.emitted_frames == first.emitted_frames
    whole = SpeakerActivity.concatenate([*head, resumed.push(audio[20_001:]), resumed.flush()])
    np.testing.assert_array_equal(whole.probabilities, backend.diarize(audio).probabilities)


def test_snapshots_from_elsewhere_are_refused():
    session = FakeBackend().open_session()
    session.push(np.zeros(5000, dtype=np.float32))
    with pytest.raises(SnapshotError, match="another fake script"):
        FakeBackend(turn_duration=3.0).restore_session(session.snapshot())
    with pytest.raises(SnapshotError):
        FakeBackend().restore_session(b"garbage")
    from audar_plugins.backends.snapshot import pack

    with pytest.raises(SnapshotError, match="version"):
        FakeBackend().restore_session(pack("fake-session", {"version": 99}, {}))


def test_bad_pushes_raise_and_a_flushed_session_refuses_more():
    session = FakeBackend().open_session()
    with pytest.raises(InvalidAudioError):
        session.push(np.zeros(100, dtype=np.float32), sample_rate=8000)
    with pytest.raises(InvalidAudioError):
        session.push(np.array([0.0, np.nan], dtype=np.float32))
    assert session.received_seconds == 0.0
    session.flush()
    for call in (session.flush, lambda: session.push(np.zeros(10, dtype=np.float32)), session.snapshot):
        with pytest.raises(SessionClosedError):
            call()
    with pytest.raises(InvalidOptionError, match="no latency presets"):
        FakeBackend().open_session("card")
