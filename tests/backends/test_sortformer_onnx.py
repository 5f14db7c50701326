"""The sortformer-onnx backend against NeMo: exported tiny models, offline and live, 4 and 8 speakers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from audar_plugins.activity import SpeakerActivity
from audar_plugins.backends.sortformer_onnx.export import export_onnx
from audar_plugins.errors import BackendLoadError, SnapshotError
from audar_plugins.registry import load_backend

from ..cli.test_cli import audar

PRESETS = ["card", "nv-1.04s", "nv-0.32s", "nv-10s"]


@pytest.fixture(scope="module")
def tiny_8spk(tmp_path_factory):
    from audar_plugins.backends.sortformer.architecture import build_random_model

    path = tmp_path_factory.mktemp("sortformer8") / "tiny-8spk.nemo"
    build_random_model(8, "tiny", seed=1, save_to=path)
    return path


@pytest.fixture(scope="module", params=["4spk", "8spk"])
def models(request, tiny_sortformer, tiny_sortformer_onnx, tiny_8spk, tmp_path_factory):
    """(NeMo backend, ONNX backend, export directory) for one tiny model."""
    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend

    if request.param == "4spk":
        checkpoint, directory = tiny_sortformer, tiny_sortformer_onnx
    else:
        checkpoint, directory = tiny_8spk, export_onnx(tiny_8spk, tmp_path_factory.mktemp("onnx-8spk"))
    return SortformerBackend(checkpoint), SortformerOnnxBackend(directory), directory


@pytest.mark.parametrize("preset", PRESETS)
def test_offline_equals_nemo_streaming_forward(models, speech, preset):
    nemo, onnx, _ = models
    expected = nemo._shared.reference_forward(torch.from_numpy(speech), nemo.streaming_config(preset)).numpy()
    default, onnx.preset = onnx.preset, onnx.streaming_config(preset)
    try:
        got = onnx.diarize(speech)
    finally:
        onnx.preset = default
    assert got.labels == nemo.labels and got.probabilities.shape == expected.shape
    assert np.abs(got.probabilities - expected).max() < 1e-4


def test_live_pushes_of_any_size_equal_offline(models, speech):
    _, onnx, _ = models
    offline = onnx.open_session("nv-1.04s")
    whole = SpeakerActivity.concatenate([offline.push(speech), offline.flush()])
    rng = np.random.default_rng(3)
    session, blocks, position = onnx.open_session("nv-1.04s"), [], 0
    while position < speech.size:
        size = int(rng.integers(1, 9000))
        blocks.append(session.push(speech[position : position + size]))
        position += size
        if len(blocks) == 20:  # move to a restored copy midway
            session = onnx.restore_session(session.snapshot())
    blocks.append(session.flush())
    np.testing.assert_array_equal(SpeakerActivity.concatenate(blocks).probabilities, whole.probabilities)


def test_snapshots_only_restore_on_the_same_export(models, tiny_sortformer, speech):
    _, onnx, _ = models
    session = onnx.open_session()
    session.push(speech[:50_000])
    other = load_backend("sortformer-onnx", model=export_onnx(tiny_sortformer, _other_directory(onnx)))
    if other.num_speakers != onnx.num_speakers:
        with pytest.raises(SnapshotError, match="different model"):
            other.restore_session(session.snapshot())
    with pytest.raises(SnapshotError):
        onnx.restore_session(b"garbage")


def _other_directory(onnx):
    return onnx._runtime.directory.parent / "other-export"


def test_export_command_and_a_bad_directory(tiny_sortformer, tmp_path):
    result = audar("export-onnx", tiny_sortformer, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    settings = json.loads((tmp_path / "out" / "settings.json").read_text())
    assert settings["num_speakers"] == 4 and settings["n_mels"] == 128
    with pytest.raises(BackendLoadError, match="export-onnx"):
        load_backend("sortformer-onnx", model=tmp_path)


def test_int8_is_the_quantized_graph_and_close_to_fp32(models, speech):
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend

    _, onnx, directory = models
    int8 = SortformerOnnxBackend(directory, precision="int8")
    fp32 = onnx.diarize(speech).probabilities
    quantized = int8.diarize(speech).probabilities
    difference = np.abs(quantized - fp32)
    assert difference.max() > 0  # a different graph ran
    assert difference.max() < 0.1 and difference.mean() < 0.01
    onnx_format = pytest.importorskip("onnx")
    kinds = {node.op_type for node in onnx_format.load(str(directory / "encode.int8.onnx")).graph.node}
    assert "MatMulInteger" in kinds and "DynamicQuantizeLinear" in kinds
    # ONNX Runtime has no CPU bf16 kernels: the reduced precision is int8 on every CPU
    assert SortformerOnnxBackend(directory, precision="reduced")._runtime.precision == "int8"


def test_an_export_without_int8_refuses_int8(tiny_sortformer, tmp_path):
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend
    from audar_plugins.errors import InvalidOptionError

    directory = export_onnx(tiny_sortformer, tmp_path / "fp32-only", int8=False)
    with pytest.raises(InvalidOptionError, match="int8"):
        SortformerOnnxBackend(directory, precision="int8")


def test_diarize_from_the_command_line(models, tmp_path):
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend
    from audar_plugins.formats import to_rttm

    from ..conftest import EXAMPLE

    _, _, directory = models
    result = audar("diarize", EXAMPLE, "--backend", "sortformer-onnx", "--model", directory, "--device", "cpu",
                   "--precision", "int8")
    assert result.returncode == 0, result.stderr
    int8 = SortformerOnnxBackend(directory, precision="int8")
    expected = to_rttm(int8.diarize(EXAMPLE).to_annotation(int8.binarization, uri="falcon-3-speakers"))
    assert result.stdout == expected
