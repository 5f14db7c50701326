"""A live Sortformer session on NeMo: raw 16 kHz audio in, speaker probabilities out as soon as final.

Push audio of any length; each push returns the 80 ms frames whose probabilities the
model's right context allows, and :meth:`~ChunkedSession.flush` returns the rest at the end
of the stream. The schedule, the feature buffer and the snapshot are
:class:`~audar_plugins.backends.sortformer_core.session.ChunkedSession`'s; here are NeMo's
step (through the shared model) and its streaming state, as torch tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...errors import SnapshotError
from ..base import SpeakerCount
from ..sortformer_core.presets import StreamingConfig
from ..sortformer_core.session import ChunkedSession
from .features import IncrementalFeatures
from .shared_model import SharedSortformer

__all__ = ["SortformerSession"]

_STATE_FIELDS = ("spkcache", "spkcache_lengths", "spkcache_preds", "fifo", "fifo_lengths",
                 "fifo_preds", "spk_perm", "mean_sil_emb", "n_sil_frames")


class SortformerSession(ChunkedSession):
    """One live stream through a shared Sortformer model, with its own latency preset.

    Create sessions with :meth:`SortformerBackend.open_session`; resume one with
    :meth:`SortformerBackend.restore_session`.
    """

    snapshot_kind = "sortformer-session"
    snapshot_version = 2
    snapshot_mismatch = "the snapshot was taken with a different model; restore it on the same checkpoint"

    def __init__(self, shared: SharedSortformer, config: StreamingConfig, labels: tuple[str, ...],
                 speakers: SpeakerCount = SpeakerCount()) -> None:
        self._shared = shared
        super().__init__(config, labels, speakers, IncrementalFeatures(shared.model.preprocessor, shared.device),
                         shared.subsampling, shared.frame_duration, shared.fingerprint)
        self._state = shared.initial_state(config)

    def _step(self, window: torch.Tensor, left: int, right: int) -> torch.Tensor:
        self._state, preds = self._shared.step(self.config, self._state, window, left, right)
        return preds

    def _join(self, arrays: list[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.cat(arrays, dim=axis)

    def _numpy(self, array: torch.Tensor) -> np.ndarray:
        return array.float().cpu().numpy()

    def _array(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self._shared.device)

    def _model_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {}
        for name in _STATE_FIELDS:
            value = getattr(self._state, name, None)
            if value is not None:
                arrays[f"state.{name}"] = value.cpu().numpy()
        return {"async_streaming": bool(self._shared.model.async_streaming)}, arrays

    def _restore_model_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if header.get("async_streaming") != bool(self._shared.model.async_streaming):
            raise SnapshotError("the snapshot was taken with a different async_streaming setting")
        for name in _STATE_FIELDS:
            key = f"state.{name}"
            setattr(self._state, name, self._array(arrays[key]) if key in arrays else None)
