"""sortformer-onnx where torch and NeMo are not installed at all: equal to NeMo, offline and live."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from audar_plugins.activity import SpeakerActivity
from audar_plugins.audio import load_audio
from audar_plugins.registry import load_backend

from ..conftest import EXAMPLE
from .make_exports import PRESETS

SPEAKERS = ["4spk", "8spk"]


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """The recording make_exports.py ran NeMo on."""
    return load_audio(EXAMPLE)


def test_neither_torch_nor_nemo_is_installed():
    assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("nemo") is None


@pytest.mark.parametrize("speakers", SPEAKERS)
@pytest.mark.parametrize("preset", PRESETS)
def test_offline_equals_nemo(exports, speech, speakers, preset):
    backend = load_backend("sortformer-onnx", model=str(exports / speakers), preset=preset)
    expected = np.load(exports / speakers / f"nemo-{preset}.npy")
    got = backend.diarize(speech).probabilities
    assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-4


@pytest.mark.parametrize("speakers", SPEAKERS)
def test_live_random_pushes_equal_nemo(exports, speech, speakers):
    backend = load_backend("sortformer-onnx", model=str(exports / speakers), preset="nv-1.04s")
    session, blocks, position = backend.open_session(), [], 0
    sizes = np.random.default_rng(7).integers(1, 12_000, size=len(speech))
    for size in sizes:
        if position >= len(speech):
            break
        blocks.append(session.push(speech[position : position + size]))
        position += size
    blocks.append(session.flush())
    got = SpeakerActivity.concatenate(blocks).probabilities
    expected = np.load(exports / speakers / "nemo-nv-1.04s.npy")
    assert np.abs(got - expected).max() < 1e-4


def test_the_command_line_diarizes(exports):
    result = subprocess.run([sys.executable, "-m", "audar_plugins.cli", "diarize", str(EXAMPLE), "--backend",
                             "sortformer-onnx", "--model", str(exports / "4spk"), "--precision", "reduced"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("SPEAKER falcon-3-speakers 1 ")


def test_the_cpu_default_names_its_extra():
    from audar_plugins.errors import MissingDependencyError

    with pytest.raises(MissingDependencyError, match=r"audar-plugins\[cpu\]"):
        load_backend("embedded")


def test_a_batch_on_the_pool_equals_the_command_line_and_ray_names_its_extra(exports, tmp_path):
    audar = [sys.executable, "-m", "audar_plugins.cli"]
    model = ["--backend", "sortformer-onnx", "--model", str(exports / "4spk")]
    single = subprocess.run([*audar, "diarize", str(EXAMPLE), *model], capture_output=True, text=True)
    batch = subprocess.run([*audar, "batch", str(EXAMPLE), "--output", str(tmp_path / "out"), "--workers", "2",
                            "--threads", "1", *model], capture_output=True, text=True)
    assert batch.returncode == 0, batch.stderr[-2000:]
    assert (tmp_path / "out" / "falcon-3-speakers.rttm").read_text() == single.stdout
    ray = subprocess.run([*audar, "batch", str(EXAMPLE), "--output", str(tmp_path / "ray"), "--ray", "auto", *model],
                         capture_output=True, text=True)
    assert ray.returncode == 1
    assert "install it with: pip install 'audar-plugins[ray]'" in ray.stderr and "Traceback" not in ray.stderr
