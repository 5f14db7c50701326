"""A live Sortformer session: raw 16 kHz audio in, speaker probabilities out as soon as final.

Push audio of any length; each push returns the 80 ms frames whose
probabilities the model's right context allows, and :meth:`flush` returns the
rest at the end of the stream. The concatenated output equals NeMo's offline
streaming forward pass over the same audio, however the stream was cut.
Memory is bounded: the session keeps a few frames of audio and features, the
model's speaker cache and FIFO, and nothing that grows with the stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...activity import SpeakerActivity
from ...audio import SAMPLE_RATE, stream_samples
from ...errors import SessionClosedError, SnapshotError
from .features import IncrementalFeatures
from .presets import StreamingConfig
from .schedule import ready_chunks, step_due
from .shared_model import SharedSortformer
from ..snapshot import pack, unpack

__all__ = ["SortformerSession"]

_SNAPSHOT_VERSION = 1
_SNAPSHOT_KIND = "sortformer-session"
_STATE_FIELDS = ("spkcache", "spkcache_lengths", "spkcache_preds", "fifo", "fifo_lengths",
                 "fifo_preds", "spk_perm", "mean_sil_emb", "n_sil_frames")


class SortformerSession:
    """One live stream through a shared Sortformer model, with its own latency preset.

    Create sessions with :meth:`SortformerBackend.open_session`; resume one with
    :meth:`SortformerBackend.restore_session`.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, shared: SharedSortformer, config: StreamingConfig, labels: tuple[str, ...]) -> None:
        self._shared = shared
        self.config = config
        self.labels = labels
        self.frame_duration = shared.frame_duration
        self._features = IncrementalFeatures(shared.model.preprocessor, shared.device)
        self._feature_buffer = torch.zeros((self._features.num_features, 0), device=shared.device)
        self._buffer_start = 0  # global feature frame of _feature_buffer[:, 0]
        self._next_chunk = 0  # global feature frame where the next chunk starts
        self._emitted = 0  # 80 ms frames returned so far
        self._pending: list[torch.Tensor] = []  # computed but not yet returned (kept if a step fails)
        self._state = shared.initial_state(config)
        self.closed = False

    @property
    def latency(self) -> float:
        """Seconds of audio buffered before a frame is final (compute time comes on top)."""
        return self.config.latency

    @property
    def num_speakers(self) -> int:
        return len(self.labels)

    @property
    def emitted_frames(self) -> int:
        """80 ms frames returned so far; the next block starts at ``emitted_frames * frame_duration``."""
        return self._emitted

    @property
    def received_seconds(self) -> float:
        return self._features.num_samples / SAMPLE_RATE

    def push(self, audio: Any, sample_rate: int = SAMPLE_RATE) -> SpeakerActivity:
        """Add mono 16 kHz audio (any length); return the frames that became final.

        Bad audio raises an :class:`~audar_plugins.errors.AudioError` and
        leaves the session as it was.
        """
        self._check_open()
        self._features.push(stream_samples(audio, sample_rate))
        return self._run(final=False)

    def flush(self) -> SpeakerActivity:
        """End the stream: return the remaining frames. The session accepts no more audio."""
        self._check_open()
        self._features.end()
        block = self._run(final=True)
        self.closed = True
        return block

    def _check_open(self) -> None:
        if self.closed:
            raise SessionClosedError("this session was flushed; open a new one for more audio")

    def _compute_features(self) -> None:
        frames = self._features.compute()
        if frames.shape[1]:
            self._feature_buffer = torch.cat([self._feature_buffer, frames], dim=1)

    def _run(self, final: bool) -> SpeakerActivity:
        """Run every chunk whose right context has arrived (all of them when ``final``)."""
        factor = self._shared.subsampling
        left_context = self.config.chunk_left_context * factor
        available = self._features.available
        if step_due(self.config, factor, self._next_chunk, available, final):
            self._compute_features()
        for start, end, left, right in ready_chunks(self.config, factor, self._next_chunk, available, final):
            window = self._feature_buffer[:, start - left - self._buffer_start : end + right - self._buffer_start]
            self._state, preds = self._shared.step(self.config, self._state, window, left, right)
            self._pending.append(preds)
            self._next_chunk = end
            self._drop_features_before(end - min(left_context, end))
        probabilities = (torch.cat(self._pending).float().cpu().numpy() if self._pending
                         else np.zeros((0, self.num_speakers), dtype=np.float32))
        self._pending = []
        block = SpeakerActivity(probabilities, self.frame_duration, self._emitted * self.frame_duration, self.labels)
        self._emitted += len(probabilities)
        return block

    def _drop_features_before(self, frame: int) -> None:
        if frame > self._buffer_start:
            self._feature_buffer = self._feature_buffer[:, frame - self._buffer_start :].clone()
            self._buffer_start = frame

    # -- snapshot and restore ---------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The session's whole state as bytes; :meth:`SortformerBackend.restore_session` resumes it.

        The continuation of a restored session produces exactly the output the
        uninterrupted session would have, with the same arrival-order speaker labels.
        """
        self._check_open()
        arrays: dict[str, np.ndarray] = {"features": self._feature_buffer.cpu().numpy()}
        if self._pending:
            arrays["pending"] = torch.cat(self._pending).float().cpu().numpy()
        for name in _STATE_FIELDS:
            value = getattr(self._state, name, None)
            if value is not None:
                arrays[f"state.{name}"] = value.cpu().numpy()
        feature_state = self._features.state()
        arrays["audio_tail"] = feature_state.pop("tail")
        header = {
            "version": _SNAPSHOT_VERSION,
            "model": self._shared.fingerprint,
            "async_streaming": bool(self._shared.model.async_streaming),
            "config": self.config.as_dict(),
            "labels": list(self.labels),
            "buffer_start": self._buffer_start,
            "next_chunk": self._next_chunk,
            "emitted": self._emitted,
            "feature_state": feature_state,
        }
        return pack(_SNAPSHOT_KIND, header, arrays)

    @classmethod
    def restore(cls, shared: SharedSortformer, data: bytes) -> SortformerSession:
        """A session continuing the one ``data`` was taken from, on ``shared``'s model."""
        header, arrays = unpack(_SNAPSHOT_KIND, data)
        if header.get("version") != _SNAPSHOT_VERSION:
            raise SnapshotError(f"snapshot version {header.get('version')} is not {_SNAPSHOT_VERSION}")
        if header.get("model") != shared.fingerprint:
            raise SnapshotError("the snapshot was taken with a different model; restore it on the same checkpoint")
        if header.get("async_streaming") != bool(shared.model.async_streaming):
            raise SnapshotError("the snapshot was taken with a different async_streaming setting")
        try:
            session = cls(shared, StreamingConfig(**header["config"]), tuple(header["labels"]))
            device = shared.device
            for name in _STATE_FIELDS:
                key = f"state.{name}"
                setattr(session._state, name, torch.from_numpy(arrays[key]).to(device) if key in arrays else None)
            session._feature_buffer = torch.from_numpy(arrays["features"]).to(device)
            if "pending" in arrays:
                session._pending = [torch.from_numpy(arrays["pending"]).to(device)]
            session._features.restore({**header["feature_state"], "tail": arrays["audio_tail"]})
            session._buffer_start = int(header["buffer_start"])
            session._next_chunk = int(header["next_chunk"])
            session._emitted = int(header["emitted"])
        except (KeyError, TypeError, ValueError) as error:
            raise SnapshotError(f"incomplete session snapshot: {error!r}") from None
        return session
