"""``settings.json`` of an ``audar export-onnx`` directory: what the exporter writes and the runtime reads.

Everything about one checkpoint that the ONNX runtime needs besides its graphs and
``frontend.npz``: the front end's sizes, the subsampling, the model's width and speaker
count, its fingerprint, and the precisions exported. ``version`` changes whenever the
directory's contents change meaning; the runtime refuses any other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...errors import BackendLoadError
from .fingerprint import model_fingerprint

__all__ = ["SETTINGS_VERSION", "export_settings", "read_settings"]

SETTINGS_VERSION = 2


def export_settings(model) -> dict[str, Any]:
    """The settings of a NeMo ``SortformerEncLabelModel`` (without ``precisions``, which the exporter adds).

    Raises :class:`~audar_plugins.errors.BackendLoadError` for a checkpoint the ONNX runtime cannot run.
    """
    config = model.preprocessor._cfg
    modules = model.sortformer_modules
    checks = {
        "normalize": str(config.get("normalize", "NA")) in ("NA", "None"),
        "frame_splicing": int(config.get("frame_splicing", 1)) == 1,
        "log_zero_guard_type": str(config.get("log_zero_guard_type", "add")) == "add",
        "streaming_mode": bool(model.streaming_mode),
        "async_streaming": not bool(model.async_streaming),
    }
    unsupported = [name for name, ok in checks.items() if not ok]
    if unsupported:
        raise BackendLoadError(f"cannot export this checkpoint for the ONNX runtime: unsupported {unsupported}")
    return {
        "version": SETTINGS_VERSION,
        "sample_rate": int(config.get("sample_rate", 16000)),
        "n_mels": int(config.features),
        "n_fft": int(config.get("n_fft", 512)),
        "hop_length": round(float(config.window_stride) * int(config.get("sample_rate", 16000))),
        "preemphasis": float(config.get("preemph", 0.97)),
        "log_guard": float(2.0**-24),
        "subsampling": int(model.encoder.subsampling_factor),
        "d_model": int(modules.fc_d_model),
        "num_speakers": int(modules.n_spk),
        "fingerprint": model_fingerprint(model),
    }


def read_settings(directory: Path) -> dict[str, Any]:
    """The settings of the export in ``directory``; :class:`~audar_plugins.errors.BackendLoadError`
    where there are none or they are of another export version."""
    try:
        settings = json.loads((directory / "settings.json").read_text())
    except (OSError, ValueError) as error:
        raise BackendLoadError(f"{directory} is not an `audar export-onnx` directory: {error}") from None
    version = settings.get("version") if isinstance(settings, dict) else None
    if version != SETTINGS_VERSION:
        raise BackendLoadError(f"{directory}: export version {version} is not {SETTINGS_VERSION}; "
                               "export the checkpoint again")
    return settings
