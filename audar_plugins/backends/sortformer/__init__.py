"""The Streaming Sortformer backend on NeMo (``pip install 'audar-plugins[nemo]'``).

NeMo is imported only when a model is loaded, and torch only when the backend or a
session is used. The presets, the chunk schedule and the session's lifecycle are shared
with the ONNX runtime (:mod:`audar_plugins.backends.sortformer_core`).
"""

from __future__ import annotations

from typing import Any

from ..sortformer_core.presets import MODEL_CARD_BINARIZATION, PRESETS, StreamingConfig

__all__ = ["MODEL_CARD_BINARIZATION", "PRESETS", "SortformerBackend", "SortformerSession", "StreamingConfig"]


def __getattr__(name: str) -> Any:
    if name == "SortformerBackend":
        from .backend import SortformerBackend

        return SortformerBackend
    if name == "SortformerSession":
        from .session import SortformerSession

        return SortformerSession
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
