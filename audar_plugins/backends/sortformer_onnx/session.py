"""A live session on the ONNX runtime: the Sortformer session's schedule, without torch.

The chunk schedule is :class:`~audar_plugins.backends.sortformer.session.SortformerSession`'s
(NeMo's ``streaming_feat_loader``): a chunk runs once its right context has arrived, with up
to ``chunk_left_context`` frames before it, and the output equals NeMo's streaming forward
pass however the stream is cut.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...activity import SpeakerActivity
from ...audio import SAMPLE_RATE, stream_samples
from ...errors import SessionClosedError, SnapshotError
from ..snapshot import pack, unpack
from ..sortformer.presets import FRAME_DURATION, StreamingConfig
from ..sortformer.schedule import ready_chunks, step_due
from .frontend import IncrementalLogMel
from .runtime import OnnxSortformer
from .state import CacheSettings, CacheState

__all__ = ["OnnxSortformerSession"]

_SNAPSHOT_KIND = "sortformer-onnx-session"
_SNAPSHOT_VERSION = 1


class OnnxSortformerSession:
    """One live stream; create with ``SortformerOnnxBackend.open_session``."""

    sample_rate = SAMPLE_RATE
    frame_duration = FRAME_DURATION

    def __init__(self, runtime: OnnxSortformer, config: StreamingConfig, labels: tuple[str, ...]) -> None:
        self._runtime = runtime
        self.config = config
        self.labels = labels
        self._cache = CacheSettings(config.spkcache_len, config.fifo_len, config.spkcache_update_period,
                                    runtime.num_speakers)
        self._features = IncrementalLogMel(runtime.front_end)
        self._buffer = np.zeros((runtime.front_end.num_features, 0), dtype=np.float32)
        self._buffer_start = 0
        self._next_chunk = 0
        self._emitted = 0
        self._state = runtime.initial_state()
        self.closed = False

    @property
    def num_speakers(self) -> int:
        return len(self.labels)

    @property
    def emitted_frames(self) -> int:
        return self._emitted

    @property
    def latency(self) -> float:
        return self.config.latency

    def push(self, audio: Any, sample_rate: int = SAMPLE_RATE) -> SpeakerActivity:
        """Add mono 16 kHz audio; return the frames that became final."""
        self._check_open()
        self._features.push(stream_samples(audio, sample_rate))
        return self._run(final=False)

    def flush(self) -> SpeakerActivity:
        """End the stream: return the remaining frames."""
        self._check_open()
        self._features.end()
        block = self._run(final=True)
        self.closed = True
        return block

    def _check_open(self) -> None:
        if self.closed:
            raise SessionClosedError("this session was flushed; open a new one for more audio")

    def _run(self, final: bool) -> SpeakerActivity:
        factor = self._runtime.subsampling
        left_context = self.config.chunk_left_context * factor
        available = self._features.available
        if step_due(self.config, factor, self._next_chunk, available, final):
            new = self._features.compute()
            if new.shape[1]:
                self._buffer = np.concatenate([self._buffer, new], axis=1)
        outputs = []
        for start, end, left, right in ready_chunks(self.config, factor, self._next_chunk, available, final):
            window = self._buffer[:, start - left - self._buffer_start : end + right - self._buffer_start]
            outputs.append(self._runtime.step(self._cache, self._state, window, left, right))
            self._next_chunk = end
            keep = end - min(left_context, end)
            if keep > self._buffer_start:
                self._buffer = self._buffer[:, keep - self._buffer_start :]
                self._buffer_start = keep
        probabilities = (np.concatenate(outputs) if outputs
                         else np.zeros((0, self.num_speakers), dtype=np.float32))
        block = SpeakerActivity(probabilities, FRAME_DURATION, self._emitted * FRAME_DURATION, self.labels)
        self._emitted += len(probabilities)
        return block

    def snapshot(self) -> bytes:
        """The session's state as bytes; ``SortformerOnnxBackend.restore_session`` resumes it exactly."""
        self._check_open()
        state = self._state
        feature_state = self._features.state()
        arrays = {"features": self._buffer, "audio_tail": feature_state.pop("tail"), "spkcache": state.spkcache,
                  "fifo": state.fifo, "mean_silence": state.mean_silence}
        if state.spkcache_preds is not None:
            arrays["spkcache_preds"] = state.spkcache_preds
        header = {"version": _SNAPSHOT_VERSION, "model": self._runtime.settings.get("fingerprint"),
                  "config": self.config.as_dict(), "labels": list(self.labels), "buffer_start": self._buffer_start,
                  "next_chunk": self._next_chunk, "emitted": self._emitted, "silence_frames": state.silence_frames,
                  "feature_state": feature_state}
        return pack(_SNAPSHOT_KIND, header, arrays)

    @classmethod
    def restore(cls, runtime: OnnxSortformer, data: bytes) -> OnnxSortformerSession:
        header, arrays = unpack(_SNAPSHOT_KIND, data)
        if header.get("version") != _SNAPSHOT_VERSION:
            raise SnapshotError(f"snapshot version {header.get('version')} is not {_SNAPSHOT_VERSION}")
        if header.get("model") != runtime.settings.get("fingerprint"):
            raise SnapshotError("the snapshot was taken with a different model; restore it on the same export")
        try:
            session = cls(runtime, StreamingConfig(**header["config"]), tuple(header["labels"]))
            session._state = CacheState(int(runtime.settings["d_model"]), arrays["spkcache"],
                                        arrays.get("spkcache_preds"), arrays["fifo"], arrays["mean_silence"],
                                        int(header["silence_frames"]))
            session._buffer = arrays["features"]
            session._features.restore({**header["feature_state"], "tail": arrays["audio_tail"]})
            session._buffer_start = int(header["buffer_start"])
            session._next_chunk = int(header["next_chunk"])
            session._emitted = int(header["emitted"])
        except (KeyError, TypeError, ValueError) as error:
            raise SnapshotError(f"incomplete session snapshot: {error!r}") from None
        return session
