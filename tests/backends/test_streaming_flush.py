"""Every streaming backend, streams of any length cut anywhere: the flush never fails and the
blocks cover what the offline call covers.

Streams whose length is a whole number of a backend's frames or chunks are where the
live and offline frame counts part ways (issue 14: the embedded session raised an
``IndexError`` on ``flush()`` after 20.0 s, 60.0 s, any 4 s of silence). Each backend is
checked against what its own sessions promise:

* ``embedded``: a frame for every 16.875 ms of the stream, and the same probabilities however
  the stream is cut;
* ``ge2e``: the offline frame count and speech frames, and the same probabilities however the
  stream is cut;
* ``sortformer``: NeMo's offline streaming forward pass, to 1e-5;
* ``sortformer-onnx``: NeMo's offline streaming forward pass on the model it was exported
  from, to 1e-4;
* ``fake``: its offline call, exactly (probabilities and labels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audar_plugins.activity import SpeakerActivity
from audar_plugins.audio import SAMPLE_RATE
from audar_plugins.backends.fake import FakeBackend
from audar_plugins.errors import SessionClosedError

MAX_SECONDS = 5
CONTENTS = ("silence", "speech")


@dataclass(frozen=True)
class Streaming:
    """A streaming backend, the sizes (in samples) its schedule turns on, and its promise."""

    name: str
    backend: Any
    boundaries: tuple[int, ...]
    check: Callable[[np.ndarray, SpeakerActivity], None]


def _embedded(backend) -> Streaming:
    def check(audio: np.ndarray, live: SpeakerActivity) -> None:
        assert live.num_frames == -(-len(audio) // 270)
        whole = stream(backend.open_session(), audio, [len(audio)])
        assert whole.labels == live.labels
        np.testing.assert_array_equal(whole.probabilities, live.probabilities)

    # the model's frame, the VAD frame, their least common multiple, and a 2 s step
    return Streaming("embedded", backend, (270, 512, 69_120, 31_860), check)


def _ge2e(backend) -> Streaming:
    def check(audio: np.ndarray, live: SpeakerActivity) -> None:
        offline = backend.diarize(audio)
        assert live.num_frames == offline.num_frames
        np.testing.assert_array_equal(live.probabilities.sum(axis=1) > 0, offline.probabilities.sum(axis=1) > 0)
        whole = stream(backend.open_session(), audio, [len(audio)])
        assert whole.labels == live.labels
        np.testing.assert_array_equal(whole.probabilities, live.probabilities)

    # 10 ms mel hop, 32 ms VAD frame, and their least common multiple
    return Streaming("ge2e", backend, (160, 512, 2560), check)


def _sortformer_sizes(preset) -> tuple[int, ...]:
    """The 80 ms frame, the preset's chunk, and a chunk with its right context, in samples."""
    frame = round(0.08 * SAMPLE_RATE)
    return frame, preset.chunk_len * frame, (preset.chunk_len + preset.chunk_right_context) * frame


def _against_nemo(nemo, preset, tolerance: float) -> Callable[[np.ndarray, SpeakerActivity], None]:
    def check(audio: np.ndarray, live: SpeakerActivity) -> None:
        expected = nemo.nemo_forward(audio, preset)
        assert live.probabilities.shape == expected.shape
        if expected.size:
            assert np.abs(live.probabilities - expected).max() <= tolerance

    return check


def _fake(backend) -> Streaming:
    def check(audio: np.ndarray, live: SpeakerActivity) -> None:
        offline = backend.diarize(audio)
        assert live.labels == offline.labels
        np.testing.assert_array_equal(live.probabilities, offline.probabilities)

    return Streaming("fake", backend, (round(backend.frame_duration * SAMPLE_RATE),), check)


BACKENDS = ("embedded", "ge2e", "sortformer", "sortformer-onnx", "fake")


def streaming_backend(request, name: str) -> Streaming:
    """The backend registered as ``name``, from the session's fixtures (the tiny models for Sortformer)."""
    if name == "embedded":
        return _embedded(request.getfixturevalue("embedded"))
    if name == "ge2e":
        return _ge2e(request.getfixturevalue("ge2e"))
    if name == "fake":
        return _fake(FakeBackend(num_speakers=3, turn_duration=1.0, overlap=0.24))
    nemo = request.getfixturevalue("sortformer")
    if name == "sortformer":
        return Streaming(name, nemo, _sortformer_sizes(nemo.preset), _against_nemo(nemo, nemo.preset, 1e-5))
    onnx = request.getfixturevalue("sortformer_onnx")
    return Streaming(name, onnx, _sortformer_sizes(onnx.preset), _against_nemo(nemo, onnx.preset, 1e-4))


@pytest.fixture(scope="module", params=BACKENDS)
def streaming(request) -> Streaming:
    return streaming_backend(request, request.param)


@pytest.fixture(scope="module")
def long_speech(speech) -> np.ndarray:
    """The recording repeated to 60 s, so speech of any length up to that can be cut from it."""
    return np.resize(speech, 60 * SAMPLE_RATE)


def content(kind: str, length: int, long_speech: np.ndarray) -> np.ndarray:
    if kind == "silence":
        return np.zeros(length, dtype=np.float32)
    return np.ascontiguousarray(long_speech[:length])


def stream(session, audio: np.ndarray, cuts: Sequence[int]) -> SpeakerActivity:
    """Push ``audio`` in pieces ending at ``cuts`` (and at its end), flush, and join the blocks.

    The flush must not fail, the blocks must follow each other from 0 s, and the
    session must refuse anything after its flush.
    """
    blocks, position = [], 0
    for cut in [*sorted(cuts), len(audio)]:
        if cut > position:
            blocks.append(session.push(audio[position:cut]))
            position = cut
    blocks.append(session.flush())
    live = SpeakerActivity.concatenate(blocks)
    assert live.start == 0.0
    assert session.emitted_frames == live.num_frames
    with pytest.raises(SessionClosedError):
        session.flush()
    with pytest.raises(SessionClosedError):
        session.push(np.zeros(160, dtype=np.float32))
    return live


def check_stream(streaming: Streaming, audio: np.ndarray, cuts: Sequence[int]) -> None:
    live = stream(streaming.backend.open_session(), audio, cuts)
    if len(audio):
        streaming.check(audio, live)
    else:
        assert live.num_frames == 0


@settings(max_examples=6, deadline=None)
@given(kind=st.sampled_from(CONTENTS), length=st.integers(0, MAX_SECONDS * SAMPLE_RATE), data=st.data())
def test_a_stream_of_any_length_cut_anywhere(streaming, long_speech, kind, length, data):
    cuts = data.draw(st.lists(st.integers(0, length), max_size=3), label="cuts")
    check_stream(streaming, content(kind, length, long_speech), cuts)


@settings(max_examples=8, deadline=None)
@given(kind=st.sampled_from(CONTENTS), data=st.data())
def test_a_stream_ending_a_few_samples_around_a_boundary(streaming, long_speech, kind, data):
    boundary = data.draw(st.sampled_from(streaming.boundaries), label="boundary")
    multiple = data.draw(st.integers(1, MAX_SECONDS * SAMPLE_RATE // boundary), label="multiple")
    length = multiple * boundary + data.draw(st.integers(-2, 2), label="offset")
    # pushes that end on the boundaries too, where a session's state changes
    step = boundary * data.draw(st.integers(1, max(1, multiple)), label="push")
    check_stream(streaming, content(kind, length, long_speech), range(step, length, step))


MULTIPLES = {
    # mel hop, VAD frame, their lcm (2560 = 0.16 s), and 4 s, 4.8 s: every one a whole number of hops
    # the model's 270-sample frame, the VAD frame, their lcm, the 2 s step, the 10 s window, and whole seconds
    "embedded": [270, 512, 31_860, 69_120, 160_000, 16_000, 320_000],
    "ge2e": [160, 320, 512, 1024, 2560, 5120, 16_000, 16_384, 25_600, 64_000, 76_800],
    # 80 ms frames; the card preset's 13-frame chunk (16640) and chunk with right context (25600)
    "sortformer": [1280, 2560, 16_640, 25_600, 33_280, 64_000, 83_200],
    "sortformer-onnx": [1280, 16_640, 25_600, 33_280, 64_000],
    "fake": [1280, 2560, 8960, 12_800, 64_000],
}


@pytest.mark.parametrize("kind", CONTENTS)
@pytest.mark.parametrize("name, length", [(name, length) for name, lengths in MULTIPLES.items() for length in lengths])
def test_whole_multiples_of_chunks_and_frames(request, long_speech, name, length, kind):
    streaming = streaming_backend(request, name)
    step = max(streaming.boundaries)  # every push ends on a whole number of the largest size
    check_stream(streaming, content(kind, length, long_speech), range(step, length, step))


@pytest.mark.parametrize(
    "kind, seconds, push",
    [("speech", 20.0, 16_000), ("silence", 4.0, 64_000), ("silence", 60.0, 64_000), ("speech", 20.0, 2560)],
)
def test_the_ge2e_session_flushes_streams_of_whole_seconds(ge2e, long_speech, kind, seconds, push):
    """The report of issue 14: 20.0 s of speech, 4 s and 60.0 s of silence raised in ``flush()``."""
    audio = content(kind, int(seconds * SAMPLE_RATE), long_speech)
    live = stream(ge2e.open_session(), audio, range(push, len(audio), push))
    offline = ge2e.diarize(audio)
    assert live.num_frames == offline.num_frames == 1 + len(audio) // 160
    np.testing.assert_array_equal(live.probabilities.sum(axis=1) > 0, offline.probabilities.sum(axis=1) > 0)
