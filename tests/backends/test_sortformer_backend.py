"""The sortformer backend offline: equal to NeMo's own diarize(), speaker counts, loading and bad checkpoints."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
import torch

from audar_plugins import diarize
from audar_plugins.activity import Binarization
from audar_plugins.backends.sortformer import MODEL_CARD_BINARIZATION, SortformerBackend
from audar_plugins.errors import BackendLoadError, InvalidOptionError
from audar_plugins.registry import load_backend


def nemo_diarize_segments(backend, audio: np.ndarray, binarization: Binarization) -> set[tuple[float, float, str]]:
    """Segments of NeMo's own ``SortformerEncLabelModel.diarize()`` on the same model and preset."""
    from nemo.collections.asr.models.sortformer_diar_models import DiarizeConfig
    from nemo.collections.asr.parts.utils.vad_utils import PostProcessingParams
    from omegaconf import OmegaConf

    params = OmegaConf.structured(PostProcessingParams(**vars(binarization)))
    config = DiarizeConfig(sample_rate=16000, postprocessing_params=params, verbose=False)
    with backend._shared.configured(backend.preset):
        lines = backend.model.diarize(audio=audio, sample_rate=16000, override_config=config)[0]
    return {(round(float(a), 2), round(float(b), 2), label) for a, b, label in (line.split() for line in lines)}


def our_segments(annotation) -> set[tuple[float, float, str]]:
    return {(round(s.start, 2), round(s.end, 2), label) for s, _, label in annotation.itertracks(yield_label=True)}


@pytest.mark.parametrize("binarization", [MODEL_CARD_BINARIZATION, Binarization(0.6, 0.4, 0.05, 0.2, 0.1, 0.3)])
@pytest.mark.parametrize("preset", ["card", "nv-10s"])
def test_segments_equal_nemo_diarize(tiny_sortformer, speech, binarization, preset):
    backend = SortformerBackend(tiny_sortformer, preset=preset)
    result = diarize(speech, backend=backend, binarization=binarization)
    expected = nemo_diarize_segments(backend, speech, binarization)
    assert expected  # random weights still give speech somewhere
    assert our_segments(result.annotation) == expected


def test_offline_probabilities_are_the_streaming_forward(sortformer, speech):
    activity = sortformer.diarize(speech)
    expected = sortformer.nemo_forward(speech)
    assert activity.frame_duration == pytest.approx(0.08)
    assert activity.labels == ("speaker_0", "speaker_1", "speaker_2", "speaker_3")
    assert np.abs(np.asarray(activity.probabilities) - expected).max() <= 1e-5


def test_offline_reports_progress(sortformer, speech):
    calls = []
    sortformer.diarize(np.tile(speech, 4), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1][0] == pytest.approx(calls[-1][1]) == pytest.approx(4 * len(speech) / 16000)
    assert len(calls) >= 2 and all(a[0] < b[0] for a, b in zip(calls, calls[1:]))


def test_the_model_card_post_processing_is_the_default(sortformer):
    assert sortformer.binarization == Binarization(onset=0.5, offset=0.5, pad_onset=0.1, pad_offset=0.1)


def test_speaker_bounds(sortformer, speech):
    full = np.asarray(sortformer.diarize(speech).probabilities)
    limited = np.asarray(diarize(speech, backend=sortformer, max_speakers=2).activity.probabilities)
    np.testing.assert_array_equal(limited[:, :2], full[:, :2])
    assert not limited[:, 2:].any()
    with pytest.raises(InvalidOptionError, match="at most 4 speakers"):
        diarize(speech, backend=sortformer, num_speakers=5)


def test_found_by_name_in_the_registry(tiny_sortformer):
    backend = load_backend("sortformer", model=str(tiny_sortformer), preset="nv-0.32s")
    assert backend.name == "sortformer" and backend.num_speakers == 4
    assert backend.preset.chunk_len == 3


def test_the_speaker_count_comes_from_the_checkpoint(tmp_path):
    from audar_plugins.backends.sortformer.architecture import build_random_model

    path = tmp_path / "eight.nemo"
    build_random_model(8, "tiny", save_to=path)
    backend = SortformerBackend(path)
    assert backend.num_speakers == 8 and len(backend.labels) == 8
    assert backend.preset.spkcache_len == 264  # the card preset's cache, sized for 8 speakers


@pytest.mark.parametrize(
    "preset,message",
    [("nv-2s", "unknown preset"), (dict(chunk_len=0, chunk_right_context=1, fifo_len=0, spkcache_update_period=1), "chunk_len"),
     (dict(chunk_len=6.5, chunk_right_context=1, fifo_len=0, spkcache_update_period=1), "integer"),
     (dict(chunk_len=6, chunk_right_context=-1, fifo_len=0, spkcache_update_period=1), "chunk_right_context"),
     (dict(chunk_len=6, chunk_right_context=1, fifo_len=0, spkcache_update_period=1, spkcache_len=12), "too small"),
     (dict(chunk_len=6, chunk_right_context=1, fifo_len=0), "incomplete"),
     (dict(chunk_len=6, chunk_right_context=1, fifo_len=0, spkcache_update_period=1, lookahead=3), "unknown")],
)
def test_invalid_presets(sortformer, preset, message):
    with pytest.raises(InvalidOptionError, match=message):
        sortformer.open_session(preset)


def test_no_cuda_here_and_no_half_precision_on_cpu(tiny_sortformer):
    if torch.cuda.is_available():
        pytest.fail("this test describes a machine without CUDA")
    with pytest.raises(InvalidOptionError, match="CUDA"):
        SortformerBackend(tiny_sortformer, device="cuda")
    with pytest.raises(InvalidOptionError, match="CUDA only"):
        SortformerBackend(tiny_sortformer, half=True)
    with pytest.raises(InvalidOptionError, match="not a torch device"):
        SortformerBackend(tiny_sortformer, device="gpu0")


def write_nemo(path, config_yaml: str, weights: bytes = b"") -> None:
    with tarfile.open(path, "w:") as archive:
        for name, content in (("./model_config.yaml", config_yaml.encode()), ("./model_weights.ckpt", weights)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))


def test_a_checkpoint_of_another_model_is_named(tmp_path):
    path = tmp_path / "ctc.nemo"
    write_nemo(path, "target: nemo.collections.asr.models.ctc_models.EncDecCTCModel\nsample_rate: 16000\n")
    with pytest.raises(BackendLoadError, match="EncDecCTCModel model, not a Sortformer"):
        SortformerBackend(path)


def test_corrupt_and_missing_checkpoints(tiny_sortformer, tmp_path):
    garbage = tmp_path / "garbage.nemo"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    truncated = tmp_path / "truncated.nemo"
    truncated.write_bytes(tiny_sortformer.read_bytes()[:150_000])
    bad_yaml = tmp_path / "bad-yaml.nemo"
    write_nemo(bad_yaml, "target: [unclosed\n")
    bad_weights = tmp_path / "bad-weights.nemo"
    with tarfile.open(tiny_sortformer) as archive:
        config = archive.extractfile("./model_config.yaml").read().decode()
    write_nemo(bad_weights, config, b"not a torch state dict")
    no_config = tmp_path / "no-config.nemo"
    with tarfile.open(no_config, "w:") as archive:
        archive.addfile(tarfile.TarInfo("./weights.bin"), io.BytesIO(b""))
    cases = {garbage: "not a .nemo checkpoint", truncated: "not a readable .nemo checkpoint",
             bad_weights: "could not load the weights",
             bad_yaml: "corrupt model_config.yaml", no_config: "no model_config.yaml",
             tmp_path / "absent.nemo": "does not exist"}
    for path, message in cases.items():
        with pytest.raises(BackendLoadError, match=message):
            SortformerBackend(path)


def test_a_hub_name_without_the_hub_fails_clearly(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendLoadError, match="model hub"):
        SortformerBackend("nvidia/diar_streaming_sortformer_4spk-v2.1")


def test_a_model_that_is_not_a_sortformer_object_is_refused():
    with pytest.raises(InvalidOptionError, match="SortformerEncLabelModel"):
        SortformerBackend(42)


def test_an_offline_sortformer_diarizes_whole_and_refuses_sessions(speech):
    from audar_plugins.backends.sortformer.architecture import build_random_model

    backend = SortformerBackend(build_random_model(4, "tiny", streaming=False))
    result = diarize(speech, backend=backend)
    assert our_segments(result.annotation) == nemo_diarize_segments(backend, speech, backend.binarization)
    with pytest.raises(InvalidOptionError, match="offline Sortformer"):
        backend.open_session()
