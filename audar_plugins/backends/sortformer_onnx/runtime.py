"""An exported Sortformer (``audar export-onnx``'s directory) loaded into ONNX Runtime, and one step of it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import BackendLoadError, MissingDependencyError
from ..precision import resolve_precision
from ..sortformer_core.export_settings import read_settings
from .frontend import LogMel
from .state import CacheSettings, CacheState, streaming_update

__all__ = ["OnnxSortformer"]

POSITION_LENGTHS_KEPT = 4  # sessions at two presets, each around a FIFO pop


@dataclass
class OnnxSortformer:
    """The graphs, the front end and the settings of one export; shared by every session."""

    directory: Path
    settings: dict
    front_end: LogMel
    pre_encode: Any  # onnxruntime.InferenceSession (onnxruntime ships no type information)
    positions: Any
    encode: Any

    precision: str = "fp32"
    _positions_of: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _positions_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, directory: str | Path, threads: int | None = None, precision: str = "fp32") -> OnnxSortformer:
        try:
            import onnxruntime
        except ImportError as error:
            raise MissingDependencyError("onnxruntime", "onnx", "the sortformer-onnx backend") from error
        directory = Path(directory)
        settings = read_settings(directory)
        try:
            arrays = np.load(directory / "frontend.npz", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise BackendLoadError(f"{directory} is not an `audar export-onnx` directory: {error}") from None
        precision = resolve_precision(precision, settings["precisions"])
        suffix = "" if precision == "fp32" else f".{precision}"
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1

        def session(name: str):
            try:
                return onnxruntime.InferenceSession(str(directory / name), options, providers=["CPUExecutionProvider"])
            except Exception as error:  # onnxruntime's own exception types
                raise BackendLoadError(f"cannot load {directory / name}: {error}") from None

        front_end = LogMel(arrays["filterbank"], arrays["window"], settings["hop_length"], settings["n_fft"],
                           settings["preemphasis"], settings["log_guard"])
        return cls(directory, settings, front_end, session(f"pre_encode{suffix}.onnx"), session("positions.onnx"),
                   session(f"encode{suffix}.onnx"), precision)

    @property
    def num_speakers(self) -> int:
        return int(self.settings["num_speakers"])

    @property
    def subsampling(self) -> int:
        return int(self.settings["subsampling"])

    def initial_state(self) -> CacheState:
        return CacheState(int(self.settings["d_model"]))

    def _positions(self, length: int) -> np.ndarray:
        """The projected relative positions of ``length`` frames, for the last few lengths: once its
        speaker cache is full, a session's steps all have one length (or two, around FIFO pops)."""
        with self._positions_lock:
            positions = self._positions_of.pop(length, None)
            if positions is None:
                frames = np.zeros(length, dtype=np.float32)
                positions = self.positions.run(None, {"frames": frames})[0]
            self._positions_of[length] = positions  # now the most recent
            while len(self._positions_of) > POSITION_LENGTHS_KEPT:
                del self._positions_of[next(iter(self._positions_of))]
            return positions

    def step(self, cache: CacheSettings, state: CacheState, features: np.ndarray, left: int, right: int) -> np.ndarray:
        """One streaming step over ``features`` ``(n_mels, frames)`` with ``left``/``right`` context frames;
        updates ``state`` and returns the chunk's probabilities ``(frames, speakers)``."""
        chunk = self.pre_encode.run(None, {"features": np.ascontiguousarray(features.T[np.newaxis])})[0][0]
        sequence = np.concatenate([state.spkcache, state.fifo, chunk]).astype(np.float32, copy=False)
        preds = self.encode.run(None, {"embeddings": sequence, "positions": self._positions(len(sequence))})[0]
        factor = self.subsampling
        return streaming_update(cache, state, chunk, preds, round(left / factor), -(-right // factor))
