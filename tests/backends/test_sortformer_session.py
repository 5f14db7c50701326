"""Live Sortformer sessions reproduce NeMo's offline streaming forward pass, however cut.

The reference is NeMo's own ``SortformerEncLabelModel.forward`` in streaming
mode (``forward_streaming`` over features of the whole recording), run on the
same tiny model with the same preset.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audar_plugins.activity import SpeakerActivity
from audar_plugins.backends.base import StreamingBackend, StreamingSession
from audar_plugins.backends.sortformer import PRESETS
from audar_plugins.errors import (
    InvalidAudioError,
    SessionClosedError,
    UnsupportedAudioTypeError,
)

TOLERANCE = 1e-5
_references: dict = {}


def reference(backend, audio: np.ndarray, preset: str) -> np.ndarray:
    """NeMo's offline streaming forward over ``audio`` at ``preset`` (cached per backend and preset)."""
    key = (id(backend), preset, len(audio), float(audio[:1000].sum()))
    if key not in _references:
        _references[key] = backend.nemo_forward(audio, preset)
    return _references[key]


def stream(session, audio: np.ndarray, sizes) -> np.ndarray:
    """Push ``audio`` in pieces of ``sizes`` (cycled), flush, and join the blocks."""
    blocks, position, sizes = [], 0, list(sizes)
    for index in range(len(audio)):
        if position >= len(audio):
            break
        size = sizes[index % len(sizes)]
        blocks.append(session.push(audio[position : position + size]))
        position += size
    blocks.append(session.flush())
    joined = SpeakerActivity.concatenate(blocks)
    assert joined.start == 0.0
    return np.asarray(joined.probabilities)


def test_the_backend_is_a_streaming_backend(sortformer):
    assert isinstance(sortformer, StreamingBackend)
    assert isinstance(sortformer.open_session(), StreamingSession)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    preset=st.sampled_from(sorted(PRESETS)),
    sizes=st.lists(st.integers(min_value=320, max_value=16000 * 8), min_size=1, max_size=12),
)
def test_any_chunking_equals_nemo_offline_streaming(sortformer, speech, preset, sizes):
    expected = reference(sortformer, speech, preset)
    got = stream(sortformer.open_session(preset), speech, sizes)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= TOLERANCE


@pytest.mark.parametrize("size", [1, 320, 16000 * 30])  # one sample, 20 ms, more than the whole clip
def test_extreme_push_sizes(sortformer, speech, size):
    expected = reference(sortformer, speech, "card")
    got = stream(sortformer.open_session("card"), speech, [size] if size > 1 else [size] * 7 + [4000])
    assert np.abs(got - expected).max() <= TOLERANCE


def test_async_streaming_state_also_matches(tiny_sortformer, speech):
    from audar_plugins.backends.sortformer import SortformerBackend

    backend = SortformerBackend(tiny_sortformer)
    backend.model.async_streaming = True
    expected = reference(backend, speech, "nv-1.04s")
    got = stream(backend.open_session("nv-1.04s"), speech, [5000, 333, 12000])
    assert np.abs(got - expected).max() <= TOLERANCE


@pytest.mark.parametrize(
    "length",
    # around chunk boundaries of the card preset (104 feature frames of 160 samples), and tiny inputs
    [160 * (104 * k + r) + extra for k, r, extra in [(10, 0, 0), (10, 1, 0), (10, 1, 159), (9, 7, 50), (9, 8, 0), (11, 9, 3)]]
    + [100, 300, 1281, 16000],
)
def test_every_stream_length_matches(sortformer, speech, length):
    audio = np.ascontiguousarray(speech[:length])
    expected = sortformer.nemo_forward(audio)
    got = stream(sortformer.open_session(), audio, [7919])
    assert got.shape == expected.shape == (sortformer._shared.output_frames(length), 4)
    if expected.size:
        assert np.abs(got - expected).max() <= TOLERANCE


def test_frames_are_emitted_as_soon_as_the_right_context_arrives(sortformer, speech):
    config = PRESETS["card"]
    session = sortformer.open_session("card")
    chunk, right = config.chunk_len * 8, config.chunk_right_context * 8  # in 10 ms feature frames
    pushed = 0
    for size in [4000, 1600, 20000, 320, 7000, 16000]:
        session.push(speech[pushed : pushed + size])
        pushed += size
        final_features = (pushed - 256) // 160 + 1  # frames whose STFT window is complete
        ready_chunks = max(0, (final_features - right) // chunk)
        assert session.emitted_frames == ready_chunks * config.chunk_len


def test_features_are_computed_once_and_only_when_a_step_needs_them(sortformer, speech):
    """The mel front end never recomputes the past: its total input is the stream plus a
    fixed look-back per call, and small pushes share one call per model step."""
    lengths = []
    hook = sortformer.model.preprocessor.register_forward_pre_hook(
        lambda module, args, kwargs: lengths.append(kwargs["input_signal"].shape[1]), with_kwargs=True
    )
    pushed = 16000 * 15
    try:
        session = sortformer.open_session("card")
        for start in range(0, pushed, 1600):  # 15 s in 100 ms pushes
            session.push(speech[start : start + 1600])
    finally:
        hook.remove()
    steps = session.emitted_frames // PRESETS["card"].chunk_len
    assert len(lengths) == steps  # one front-end call per model step, not per push
    assert sum(lengths) <= pushed + len(lengths) * (3 * 160 + 256)


def test_two_presets_on_one_model_do_not_disturb_each_other(sortformer, speech):
    card, fast = sortformer.open_session("card"), sortformer.open_session("nv-0.32s")
    blocks = {"card": [], "nv-0.32s": []}
    for start in range(0, len(speech), 2400):  # interleaved pushes
        blocks["card"].append(card.push(speech[start : start + 2400]))
        blocks["nv-0.32s"].append(fast.push(speech[start : start + 2400]))
    blocks["card"].append(card.flush())
    blocks["nv-0.32s"].append(fast.flush())
    for preset, parts in blocks.items():
        got = np.asarray(SpeakerActivity.concatenate(parts).probabilities)
        assert np.abs(got - reference(sortformer, speech, preset)).max() <= TOLERANCE


def test_sessions_in_two_threads(sortformer, speech):
    presets = ["nv-1.04s", "card", "nv-10s", "nv-0.32s"]
    results: dict[str, np.ndarray] = {}
    errors: list[BaseException] = []

    def run(preset: str) -> None:
        try:
            results[preset] = stream(sortformer.open_session(preset), speech, [1700, 900])
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(preset,)) for preset in presets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for preset in presets:
        assert np.abs(results[preset] - reference(sortformer, speech, preset)).max() <= TOLERANCE


def test_a_custom_preset(sortformer, speech):
    custom = dict(chunk_len=10, chunk_right_context=3, fifo_len=50, spkcache_update_period=60, spkcache_len=100)
    session = sortformer.open_session(custom)
    assert session.latency == pytest.approx(1.04)
    config = session.config
    expected = sortformer.nemo_forward(speech, config)
    assert np.abs(stream(session, speech, [4321]) - expected).max() <= TOLERANCE


def test_bad_pushes_are_refused_and_the_session_goes_on(sortformer, speech):
    session = sortformer.open_session("card")
    blocks = [session.push(speech[:8000])]
    with pytest.raises(InvalidAudioError, match="16000 Hz"):
        session.push(speech[8000:16000], sample_rate=8000)
    with pytest.raises(InvalidAudioError, match="mono"):
        session.push(np.stack([speech[8000:16000]] * 2))
    with pytest.raises(InvalidAudioError, match="NaN"):
        session.push(np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(UnsupportedAudioTypeError):
        session.push([0.0, 0.1])
    with pytest.raises(InvalidAudioError, match="pairs"):
        session.push(b"\x00\x01\x02")
    blocks.append(session.push(speech[8000:]))
    blocks.append(session.flush())
    got = np.asarray(SpeakerActivity.concatenate(blocks).probabilities)
    assert np.abs(got - reference(sortformer, speech, "card")).max() <= TOLERANCE
    with pytest.raises(SessionClosedError):
        session.push(speech[:1600])
    with pytest.raises(SessionClosedError):
        session.flush()


def test_pcm16_bytes_equal_their_float_samples(sortformer, speech):
    pcm = np.round(speech * 20000).astype("<i2")
    from_bytes = stream(sortformer.open_session("nv-10s"), pcm.tobytes(), [64000])
    from_floats = stream(sortformer.open_session("nv-10s"), pcm.astype(np.float32) / 32768, [32000])
    np.testing.assert_array_equal(from_bytes, from_floats)


def test_an_empty_stream_gives_no_frames(sortformer):
    session = sortformer.open_session()
    assert session.push(np.zeros(0, dtype=np.float32)).num_frames == 0
    assert session.flush().num_frames == 0


def test_frames_computed_before_a_failing_step_are_not_lost(tiny_sortformer, speech, monkeypatch):
    from audar_plugins.backends.sortformer import SortformerBackend

    backend = SortformerBackend(tiny_sortformer)
    session = backend.open_session("card")
    real_step, calls = backend._shared.step, []

    def failing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("simulated out-of-memory in the third model step")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(backend._shared, "step", failing_once)
    blocks = []
    with pytest.raises(MemoryError):
        session.push(speech[: 16000 * 8])  # several steps in one push; the third fails
    blocks.append(session.push(speech[16000 * 8 :]))  # returns the two steps that succeeded, then more
    blocks.append(session.flush())
    got = np.asarray(SpeakerActivity.concatenate(blocks).probabilities)
    assert np.abs(got - reference(backend, speech, "card")).max() <= TOLERANCE
