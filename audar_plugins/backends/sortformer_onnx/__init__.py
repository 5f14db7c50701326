"""Sortformer on ONNX Runtime and NumPy, without NeMo or torch at run time.

``audar export-onnx IN.nemo OUT_DIR`` (:mod:`.export`, needs NeMo) writes one streaming
step's graphs (:mod:`.graphs`); :class:`SortformerOnnxBackend` runs them with :mod:`.frontend` (NeMo's
log-mel features) and :mod:`.state` (NeMo's speaker cache and FIFO update), both NumPy.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SortformerOnnxBackend"]


def __getattr__(name: str) -> Any:
    if name == "SortformerOnnxBackend":
        from .backend import SortformerOnnxBackend

        return SortformerOnnxBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
