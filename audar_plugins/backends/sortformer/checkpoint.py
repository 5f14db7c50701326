"""Find, check and load a Sortformer checkpoint (a ``.nemo`` file or a hub name).

A ``.nemo`` file is a tar archive holding ``model_config.yaml`` and
``model_weights.ckpt``. The config is read here, before NeMo is involved, so
that a file that is not a checkpoint, or a checkpoint of another kind of model,
gets a clear error rather than a traceback from deep inside NeMo.
"""

from __future__ import annotations

import importlib.util
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import BackendLoadError, MissingDependencyError
from ..devices import resolve_device

__all__ = ["CheckpointInfo", "import_sortformer_class", "load_sortformer", "read_checkpoint"]

_SORTFORMER_CLASS = "SortformerEncLabelModel"


@dataclass(frozen=True)
class CheckpointInfo:
    """What a ``.nemo`` file's config says about the model inside."""

    path: Path
    target: str
    num_speakers: int


def import_sortformer_class():
    """NeMo's ``SortformerEncLabelModel`` class; a clear error when NeMo is not installed."""
    # NeMo logs INFO lines to standard output, which is where our results go; send them
    # to standard error unless the user decided otherwise (read when NeMo is first imported).
    os.environ.setdefault("NEMO_REDIRECT_LOGS_TO_STDERR", "1")
    try:
        from nemo.collections.asr.models import SortformerEncLabelModel
    except ImportError as error:
        if importlib.util.find_spec("nemo") is None:
            raise MissingDependencyError("nemo_toolkit[asr]", "nemo", "the sortformer backend") from error
        raise BackendLoadError(f"NeMo is installed but its ASR collection failed to import: {error}") from error
    return SortformerEncLabelModel


def read_checkpoint(path: str | Path) -> CheckpointInfo:
    """Read and check the config inside a ``.nemo`` file without loading the weights."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise BackendLoadError(f"checkpoint {path} does not exist")
    try:
        with _open_tar(path) as archive:
            member = next((m for m in archive.getmembers() if m.name.endswith("model_config.yaml")), None)
            if member is None:
                raise BackendLoadError(
                    f"{path} is a tar archive but holds no model_config.yaml: not a .nemo checkpoint")
            config = yaml.safe_load(archive.extractfile(member))
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackendLoadError(f"{path} is not a readable .nemo checkpoint: {error}") from error
    except yaml.YAMLError as error:
        raise BackendLoadError(f"{path} has a corrupt model_config.yaml: {error}") from error
    if not isinstance(config, dict):
        raise BackendLoadError(f"{path} has a model_config.yaml that is not a mapping")
    return _checkpoint_info(path, config)


def _open_tar(path: Path) -> tarfile.TarFile:
    if not tarfile.is_tarfile(path):
        raise BackendLoadError(f"{path} is not a .nemo checkpoint (not a tar archive)")
    try:
        return tarfile.open(path, "r:")
    except tarfile.ReadError:
        return tarfile.open(path, "r:gz")  # .nemo files before NeMo 1.7


def _checkpoint_info(path: Path, config: dict[str, Any]) -> CheckpointInfo:
    target = str(config.get("target") or config.get("_target_") or "an unnamed model class")
    if target.rsplit(".", 1)[-1] != _SORTFORMER_CLASS:
        raise BackendLoadError(f"{path} holds a {target} model, not a Sortformer ({_SORTFORMER_CLASS})")
    speakers = config.get("max_num_of_spks", config.get("sortformer_modules", {}).get("num_spks"))
    if not isinstance(speakers, int) or speakers < 1:
        raise BackendLoadError(f"{path} does not say how many speakers its model has (max_num_of_spks)")
    return CheckpointInfo(path=path, target=target, num_speakers=speakers)


def load_sortformer(model: str | Path, device: Any = "cpu"):
    """Load a Sortformer model from a ``.nemo`` path or a hub name, in eval mode on ``device``."""
    resolved = resolve_device(device)
    model_class = import_sortformer_class()
    path = Path(model)
    if path.suffix == ".nemo" or path.exists():
        info = read_checkpoint(path)
        try:
            loaded = model_class.restore_from(str(info.path), map_location=resolved, strict=True)
        except Exception as error:
            raise BackendLoadError(f"could not load the weights in {info.path}: {error}") from error
    else:
        loaded = _from_hub(model_class, str(model), resolved)
    if type(loaded).__name__ != _SORTFORMER_CLASS:
        raise BackendLoadError(f"{model} loaded as {type(loaded).__name__}, not a Sortformer ({_SORTFORMER_CLASS})")
    return loaded.to(resolved).eval()


def _from_hub(model_class, name: str, device):
    try:
        return model_class.from_pretrained(name, map_location=device)
    except Exception as error:
        raise BackendLoadError(
            f"{name!r} is not a file, and fetching it from the model hub failed "
            f"({type(error).__name__}: {error}). Without hub access, download the .nemo file "
            "elsewhere and pass its path."
        ) from error
