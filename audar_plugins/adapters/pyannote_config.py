"""Write a pyannote.audio pipeline directory that runs an audar backend.

Any program that takes a pyannote pipeline path (``Pipeline.from_pretrained(path)``,
``pyannote-audio apply``, WhisperX's ``--diarize_model``) can then use our backends
unchanged. This module does not import pyannote.audio.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..activity import Binarization
from ..errors import BackendNotFoundError, InvalidOptionError
from ..registry import available_backends

__all__ = ["PIPELINE_CLASS", "write_pyannote_config"]

PIPELINE_CLASS = "audar_plugins.adapters.pyannote.AudarSpeakerDiarization"
HYPER_PARAMETERS = tuple(field.name for field in dataclasses.fields(Binarization))


def write_pyannote_config(
    directory: str | Path,
    backend: str,
    model: str | Path | None = None,
    device: str | None = None,
    preset: str | None = None,
    postprocessing: Mapping[str, float] | None = None,
    copy_model: bool = False,
) -> Path:
    """Write ``directory/config.yaml`` for :class:`~audar_plugins.adapters.pyannote.AudarSpeakerDiarization`.

    Parameters
    ----------
    backend
        A registered backend name; checked now, so a typo fails here rather than at load.
    model
        A checkpoint path (written absolute, so the config works from any directory)
        or a model name the backend resolves itself.
    postprocessing
        Hyper-parameters (``onset``, ``offset``, ``pad_onset``, ``pad_offset``,
        ``min_duration_on``, ``min_duration_off``); those left out keep the backend's own.
    copy_model
        Copy the checkpoint into ``directory`` and refer to it as ``$model/NAME``, so the
        directory is self-contained and movable. pyannote.audio 4.x only expands ``$model/``.

    Returns
    -------
    The path of the written ``config.yaml`` (pyannote 3.x needs the file, 4.x takes either).
    """
    installed = available_backends()
    if backend not in installed:
        names = ", ".join(installed) or "none"
        raise BackendNotFoundError(f"no backend named {backend!r}; installed backends: {names}")
    unknown = set(postprocessing or {}) - set(HYPER_PARAMETERS)
    if unknown:
        raise InvalidOptionError(f"unknown post-processing parameters {sorted(unknown)}; "
                                 f"known: {', '.join(HYPER_PARAMETERS)}")

    if model is not None:
        _check_model(Path(model), copy_model)

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = {"backend": backend}
    if model is not None:
        params["model"] = _model_reference(Path(model), directory, copy_model)
    if device is not None:
        params["device"] = device
    if preset is not None:
        params["preset"] = preset

    from .. import __version__

    config: dict[str, Any] = {
        # pyannote 4.x checks these before importing our class: a clear error where audar-plugins is missing.
        "dependencies": {"audar-plugins": __version__},
        "pipeline": {"name": PIPELINE_CLASS, "params": params},
    }
    if postprocessing:
        config["params"] = {name: float(postprocessing[name]) for name in HYPER_PARAMETERS if name in postprocessing}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _check_model(model: Path, copy_model: bool) -> None:
    if model.suffix == ".nemo" and not model.is_file():
        raise InvalidOptionError(f"checkpoint {model} does not exist")
    if copy_model and not model.is_file():
        raise InvalidOptionError(f"--copy-model needs a checkpoint file; {model} is not one")


def _model_reference(model: Path, directory: Path, copy_model: bool) -> str:
    if not copy_model:
        # A name that is not a file (a hub model id) is passed through for the backend to resolve.
        return str(model.resolve()) if model.exists() else str(model)
    target = directory / model.name
    if model.resolve() != target.resolve():
        shutil.copyfile(model, target)
    return f"$model/{model.name}"
