"""Snapshots resume a Sortformer session exactly, here or in another process, in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from audar_plugins.activity import SpeakerActivity
from audar_plugins.errors import SessionClosedError, SnapshotError


def pieces(audio: np.ndarray, cut: int, size: int) -> list[np.ndarray]:
    """``audio`` in pushes of ``size`` samples, with a push boundary at ``cut``."""
    bounds = sorted({*range(0, len(audio), size), cut, len(audio)})
    return [audio[a:b] for a, b in zip(bounds, bounds[1:])]


def joined(blocks) -> np.ndarray:
    return np.asarray(SpeakerActivity.concatenate(blocks).probabilities)


@pytest.mark.parametrize("preset,cut", [("card", 123_457), ("nv-0.32s", 200_000), ("nv-10s", 30_001)])
def test_a_restored_session_continues_exactly(sortformer, speech, preset, cut):
    pushes = pieces(speech, cut, 3000)
    split = sum(1 for end in np.cumsum([len(p) for p in pushes]) if end <= cut)
    uninterrupted = sortformer.open_session(preset)
    whole = joined([uninterrupted.push(p) for p in pushes] + [uninterrupted.flush()])

    first = sortformer.open_session(preset)
    head = [first.push(p) for p in pushes[:split]]
    data = first.snapshot()
    resumed = sortformer.restore_session(data)
    assert resumed.labels == first.labels
    assert resumed.emitted_frames == first.emitted_frames
    tail = [resumed.push(p) for p in pushes[split:]] + [resumed.flush()]
    np.testing.assert_array_equal(joined(head + tail), whole)

    # the original session is untouched by the snapshot and goes on identically
    rest = [first.push(p) for p in pushes[split:]] + [first.flush()]
    np.testing.assert_array_equal(joined(rest), joined(tail))


def test_a_snapshot_resumes_in_another_process(sortformer, tiny_sortformer, speech, tmp_path):
    cut, size = 150_000, 4000
    pushes = pieces(speech, cut, size)
    split = sum(1 for end in np.cumsum([len(p) for p in pushes]) if end <= cut)
    uninterrupted = sortformer.open_session("card")
    whole = joined([uninterrupted.push(p) for p in pushes] + [uninterrupted.flush()])
    session = sortformer.open_session("card")
    head = [session.push(p) for p in pushes[:split]]
    (tmp_path / "state.bin").write_bytes(session.snapshot())
    np.savez(tmp_path / "rest.npz", *pushes[split:])  # the very pushes the uninterrupted run got
    # bit-exact only with the same arithmetic: the same torch build and thread count
    script = textwrap.dedent(f"""
        import numpy as np
        import torch
        torch.set_num_threads({torch.get_num_threads()})
        from audar_plugins.activity import SpeakerActivity
        from audar_plugins.backends.sortformer import SortformerBackend
        backend = SortformerBackend({str(tiny_sortformer)!r})
        session = backend.restore_session(open({str(tmp_path / 'state.bin')!r}, 'rb').read())
        with np.load({str(tmp_path / 'rest.npz')!r}) as rest:
            pushes = [rest[f"arr_{{i}}"] for i in range(len(rest.files))]
        blocks = [session.push(p) for p in pushes] + [session.flush()]
        np.save({str(tmp_path / 'tail.npy')!r}, SpeakerActivity.concatenate(blocks).probabilities)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    tail = np.load(tmp_path / "tail.npy")
    np.testing.assert_array_equal(np.concatenate([joined(head), tail]), whole)


def test_snapshots_from_another_model_or_of_garbage_are_refused(sortformer, tiny_sortformer, speech, tmp_path):
    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer.architecture import build_random_model

    session = sortformer.open_session()
    session.push(speech[:50_000])
    data = session.snapshot()
    other = SortformerBackend(build_random_model(4, "tiny", seed=1))
    with pytest.raises(SnapshotError, match="different model"):
        other.restore_session(data)
    for garbage in (b"", b"not a snapshot", data[: len(data) // 2]):
        with pytest.raises(SnapshotError):
            sortformer.restore_session(garbage)
    with pytest.raises(SnapshotError):
        sortformer.restore_session("a string")
    session.flush()
    with pytest.raises(SessionClosedError):
        session.snapshot()


def test_a_snapshot_header_is_plain_json(sortformer, speech):
    """Restoring must never unpickle: the header is JSON and the arrays plain numbers."""
    import io
    import zipfile

    session = sortformer.open_session()
    session.push(speech[:40_000])
    with zipfile.ZipFile(io.BytesIO(session.snapshot())) as archive:
        header = np.load(archive.open("__header__.npy"), allow_pickle=False)
    assert json.loads(header.tobytes())["config"]["chunk_len"] == 13


def retained_bytes(session) -> int:
    """Bytes of every array and tensor the session holds between pushes."""
    total = session._feature_buffer.numel() * 4 + sum(piece.nbytes for piece in session._features._pieces)
    for value in vars(session._state).values():
        if value is not None:
            total += value.numel() * value.element_size()
    return total


def test_a_75_minute_stream_runs_in_bounded_memory(sortformer):
    """Synthetic audio (noise bursts and tones), generated push by push, through the card preset."""
    rng = np.random.default_rng(0)
    session = sortformer.open_session("card")
    push = 10 * 16000
    retained, frames = [], 0
    t = np.arange(push) / 16000
    for index in range(75 * 6):
        tone = np.sin(2 * np.pi * (120 + 40 * (index % 5)) * t) * (rng.random() < 0.7)
        block = session.push((0.3 * tone + 0.05 * rng.standard_normal(push)).astype(np.float32))
        frames += block.num_frames
        retained.append(retained_bytes(session))
    frames += session.flush().num_frames
    assert frames == sortformer._shared.output_frames(75 * 60 * 16000)
    warm = max(retained[30:60])  # minutes 5-10: the speaker cache and FIFO are full by then
    assert max(retained[60:]) <= warm
