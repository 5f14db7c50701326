"""Locate model files that installed wheels carry, without importing those packages.

Importing ``silero_vad`` or ``resemblyzer`` would run their own code (and, for
resemblyzer, librosa and webrtcvad); we only need their data files.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from ...errors import MissingDependencyError

__all__ = ["silero_vad_model", "ge2e_weights"]


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
