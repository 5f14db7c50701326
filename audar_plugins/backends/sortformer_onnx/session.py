"""A live session on the ONNX runtime: the Sortformer session's schedule, without torch.

The schedule, the feature buffer and the snapshot are
:class:`~audar_plugins.backends.sortformer_core.session.ChunkedSession`'s, as for the NeMo
session, so the output equals NeMo's streaming forward pass however the stream is cut.
Here are the ONNX step and the speaker cache and FIFO (:mod:`.state`), in numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import SpeakerCount
from ..sortformer_core.presets import FRAME_DURATION, StreamingConfig
from ..sortformer_core.session import ChunkedSession
from .frontend import IncrementalLogMel
from .runtime import OnnxSortformer
from .state import CacheSettings, CacheState

__all__ = ["OnnxSortformerSession"]


class OnnxSortformerSession(ChunkedSession):
    """One live stream; create with ``SortformerOnnxBackend.open_session``."""

    snapshot_kind = "sortformer-onnx-session"
    snapshot_version = 2
    snapshot_mismatch = "the snapshot was taken with a different model; restore it on the same export"

    def __init__(self, runtime: OnnxSortformer, config: StreamingConfig, labels: tuple[str, ...],
                 speakers: SpeakerCount = SpeakerCount()) -> None:
        super().__init__(config, labels, speakers, IncrementalLogMel(runtime.front_end), runtime.subsampling,
                         FRAME_DURATION, runtime.settings.get("fingerprint"))
        self._runtime = runtime
        assert config.spkcache_len is not None, "sessions get a configuration sized by for_speakers"
        self._cache = CacheSettings(config.spkcache_len, config.fifo_len, config.spkcache_update_period,
                                    runtime.num_speakers)
        self._state = runtime.initial_state()

    def _step(self, window: np.ndarray, left: int, right: int) -> np.ndarray:
        return self._runtime.step(self._cache, self._state, window, left, right)

    def _join(self, arrays: list[np.ndarray], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    def _numpy(self, array: np.ndarray) -> np.ndarray:
        return array

    def _array(self, array: np.ndarray) -> np.ndarray:
        return array

    def _model_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = self._state
        arrays = {"spkcache": state.spkcache, "fifo": state.fifo, "mean_silence": state.mean_silence}
        if state.spkcache_preds is not None:
            arrays["spkcache_preds"] = state.spkcache_preds
        return {"silence_frames": state.silence_frames}, arrays

    def _restore_model_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._state = CacheState(int(self._runtime.settings["d_model"]), arrays["spkcache"],
                                 arrays.get("spkcache_preds"), arrays["fifo"], arrays["mean_silence"],
                                 int(header["silence_frames"]))
