"""The session base every streaming backend shares: one lifecycle, one snapshot envelope, one protocol.

Each registered streaming backend (and the fake) opens sessions that derive from
:class:`~audar_plugins.backends.session.BaseSession`, and refuses the snapshots of every
other backend's sessions. Sortformer, which finds its speakers itself, takes ``speakers=``
in its sessions as its offline call does.
"""

from __future__ import annotations

import itertools
from importlib.metadata import entry_points

import numpy as np
import pytest

from audar_plugins.activity import SpeakerActivity
from audar_plugins.audio import SAMPLE_RATE
from audar_plugins.backends.base import SpeakerCount, StreamingBackend, StreamingSession
from audar_plugins.backends.session import BaseSession
from audar_plugins.backends.snapshot import pack, unpack
from audar_plugins.errors import InvalidOptionError, SessionClosedError, SnapshotError

from .test_streaming_flush import BACKENDS, streaming_backend

HALF_SECOND = SAMPLE_RATE // 2


def test_every_builtin_streaming_backend_is_covered():
    builtin = {point.name for point in entry_points(group="audar_plugins.backends")
               if point.dist is not None and point.dist.name == "audar-plugins"}
    assert builtin <= set(BACKENDS)


@pytest.fixture(scope="module")
def snapshots(request, speech) -> dict[str, bytes]:
    """A snapshot of each backend's session, half a second of speech in."""
    taken = {}
    for name in BACKENDS:
        session = streaming_backend(request, name).backend.open_session()
        session.push(speech[:HALF_SECOND])
        taken[name] = session.snapshot()
    return taken


@pytest.mark.parametrize("name", BACKENDS)
def test_sessions_derive_from_the_base_and_say_what_they_offer(request, speech, name):
    backend = streaming_backend(request, name).backend
    assert isinstance(backend, StreamingBackend)
    session = backend.open_session(None, speakers=SpeakerCount())
    assert isinstance(session, BaseSession) and isinstance(session, StreamingSession)
    assert session.sample_rate == SAMPLE_RATE and not session.closed
    block = session.push(speech[:HALF_SECOND])
    assert session.received_seconds == 0.5 and session.emitted_frames == block.num_frames
    assert block.start == 0.0 and block.frame_duration == session.frame_duration
    resumed = backend.restore_session(session.snapshot())
    assert isinstance(resumed, BaseSession)
    assert (resumed.received_seconds, resumed.emitted_frames) == (session.received_seconds, session.emitted_frames)
    last = resumed.flush()
    assert resumed.closed and last.start == block.end
    for call in (resumed.flush, resumed.snapshot, lambda: resumed.push(speech[:10])):
        with pytest.raises(SessionClosedError, match="flushed"):
            call()


@pytest.mark.parametrize("taker, restorer", list(itertools.permutations(BACKENDS, 2)))
def test_a_snapshot_restores_only_on_its_own_kind(request, snapshots, taker, restorer):
    backend = streaming_backend(request, restorer).backend
    with pytest.raises(SnapshotError, match=f"not an audar {type(backend.open_session()).snapshot_kind} snapshot"):
        backend.restore_session(snapshots[taker])


def test_the_envelope_is_checked_in_one_place(request, snapshots):
    backend = streaming_backend(request, "fake").backend
    header, arrays = unpack("fake-session", snapshots["fake"])
    header.pop("magic")

    def restore(**changes):
        return backend.restore_session(pack("fake-session", {**header, **changes}, arrays))

    assert restore().emitted_frames == header["emitted"]
    with pytest.raises(SnapshotError, match="version 1 is not 2: it was taken by another release"):
        restore(version=1)
    with pytest.raises(SnapshotError, match="another fake script"):
        restore(model={"turn_duration": 9.0})
    for bad in ({"received": -1}, {"emitted": "3"}, {"received": None}):
        with pytest.raises(SnapshotError, match="incomplete"):
            restore(**bad)
    with pytest.raises(SnapshotError, match="inconsistent"):
        restore(emitted=header["emitted"] + 100)


@pytest.mark.parametrize("name", ["sortformer", "sortformer-onnx"])
def test_sortformer_sessions_bound_the_speakers_as_the_offline_call_does(request, speech, name):
    backend = streaming_backend(request, name).backend
    with pytest.raises(InvalidOptionError, match="at most 4 speakers"):
        backend.open_session(speakers=SpeakerCount(min_speakers=5))
    audio = speech[: 6 * SAMPLE_RATE]
    two = SpeakerCount(max_speakers=2)
    session = backend.open_session(speakers=two)
    head = session.push(audio[: 3 * SAMPLE_RATE])
    resumed = backend.restore_session(session.snapshot())  # the bound travels with the snapshot
    live = SpeakerActivity.concatenate([head, resumed.push(audio[3 * SAMPLE_RATE :]), resumed.flush()])
    assert live.labels == backend.labels and not live.probabilities[:, 2:].any()
    np.testing.assert_allclose(live.probabilities, backend.diarize(audio, two).probabilities, atol=1e-5)
