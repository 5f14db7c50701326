"""A live Sortformer stream on either runtime: features as the audio arrives, one model step per chunk.

The chunk schedule is NeMo's ``streaming_feat_loader`` (:func:`.schedule.ready_chunks`): a
chunk runs once its right context has arrived, with up to ``chunk_left_context`` frames
before it, so the concatenated output equals NeMo's streaming forward pass however the
stream is cut. Memory is bounded: the session keeps a few frames of audio and features,
the model's speaker cache and FIFO, and nothing that grows with the stream.

:class:`ChunkedSession` holds the schedule, the feature buffer and the snapshot of both;
each runtime's session adds its model step and its arrays (torch tensors for NeMo, numpy
for ONNX) through a few methods. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from ...activity import SpeakerActivity
from ..base import SpeakerCount
from ..session import BaseSession
from .presets import StreamingConfig
from .schedule import keep_first_speakers, ready_chunks, step_due

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11; the package supports 3.10

__all__ = ["ChunkedSession"]


class ChunkedSession(BaseSession):
    """One live stream through a Sortformer model, with its own latency preset.

    Parameters
    ----------
    config
        The session's streaming settings (sized for the model's speakers).
    labels
        One label per speaker head, in order of arrival.
    speakers
        ``num_speakers``/``max_speakers`` below the head count keep the first speakers to
        arrive and silence the later ones, as the offline call does; the backend refuses
        more than the model tracks.
    features
        The incremental front end: ``push``, ``end``, ``available``, ``compute``,
        ``state``/``restore`` and ``num_features``.
    subsampling
        Feature frames per output frame.

    A runtime's session is created as ``cls(owner, config, labels, speakers)`` (``owner``: its
    model or runtime, also on restore) and sets what :meth:`_array` needs before calling this
    constructor.
    """

    def __init__(self, config: StreamingConfig, labels: tuple[str, ...], speakers: SpeakerCount, features,
                 subsampling: int, frame_duration: float, fingerprint: str | None) -> None:
        super().__init__(frame_duration, fingerprint)
        self.config = config
        self._labels = labels
        self.speakers = speakers
        self._features = features
        self._subsampling = subsampling
        self._feature_buffer = self._array(np.zeros((features.num_features, 0), dtype=np.float32))
        self._buffer_start = 0  # global feature frame of _feature_buffer[:, 0]
        self._next_chunk = 0  # global feature frame where the next chunk starts
        self._pending: list = []  # computed but not yet returned (kept if a step fails)

    @property
    def latency(self) -> float:
        """Seconds of audio buffered before a frame is final (compute time comes on top)."""
        return self.config.latency

    def _push(self, samples: np.ndarray) -> SpeakerActivity:
        self._features.push(samples)
        return self._run(final=False)

    def _flush(self) -> SpeakerActivity:
        self._features.end()
        return self._run(final=True)

    def _run(self, final: bool) -> SpeakerActivity:
        """Run every chunk whose right context has arrived (all of them when ``final``)."""
        factor = self._subsampling
        left_context = self.config.chunk_left_context * factor
        available = self._features.available
        if step_due(self.config, factor, self._next_chunk, available, final):
            new = self._features.compute()
            if new.shape[1]:
                self._feature_buffer = self._join([self._feature_buffer, new], axis=1)
        for start, end, left, right in ready_chunks(self.config, factor, self._next_chunk, available, final):
            window = self._feature_buffer[:, start - left - self._buffer_start : end + right - self._buffer_start]
            self._pending.append(self._step(window, left, right))
            self._next_chunk = end
            self._drop_features_before(end - min(left_context, end))
        probabilities = (self._numpy(self._join(self._pending, axis=0)) if self._pending
                         else np.zeros((0, self.num_speakers), dtype=np.float32))
        self._pending = []
        return keep_first_speakers(self._block(probabilities, self.labels), self.speakers)

    def _drop_features_before(self, frame: int) -> None:
        if frame > self._buffer_start:
            # joined on its own: a copy, so that the dropped frames are freed
            self._feature_buffer = self._join([self._feature_buffer[:, frame - self._buffer_start :]], axis=1)
            self._buffer_start = frame

    # -- the runtime's part --------------------------------------------------------------------

    @abstractmethod
    def _step(self, window, left: int, right: int):
        """One model step over ``window`` (features, ``left``/``right`` context frames at its
        edges): update the model's state and return the chunk's probabilities ``(frames, speakers)``."""

    @abstractmethod
    def _join(self, arrays: list, axis: int):
        """The runtime's arrays concatenated along ``axis`` (always a new array)."""

    @abstractmethod
    def _numpy(self, array) -> np.ndarray:
        """A runtime array as float32 numpy."""

    @abstractmethod
    def _array(self, array: np.ndarray):
        """A numpy array as the runtime's."""

    @abstractmethod
    def _model_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The model's speaker cache and FIFO, for a snapshot: header values and arrays."""

    @abstractmethod
    def _restore_model_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Put back what :meth:`_model_state` saved."""

    # -- snapshot and restore ------------------------------------------------------------------

    def _snapshot_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header, arrays = self._model_state()
        feature_state = self._features.state()
        arrays.update(features=self._numpy(self._feature_buffer), audio_tail=feature_state.pop("tail"))
        if self._pending:
            arrays["pending"] = self._numpy(self._join(self._pending, axis=0))
        header.update(config=self.config.as_dict(), labels=list(self.labels),
                      speakers=dataclasses.asdict(self.speakers), buffer_start=self._buffer_start,
                      next_chunk=self._next_chunk, feature_state=feature_state)
        return header, arrays

    @classmethod
    def _reopen(cls, owner: Any, header: dict[str, Any]) -> Self:
        runtime_session: Any = cls  # each runtime's session takes (owner, config, labels, speakers)
        return runtime_session(owner, StreamingConfig(**header["config"]), tuple(header["labels"]),
                               SpeakerCount(**header["speakers"]))

    def _restore_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._restore_model_state(header, arrays)
        self._feature_buffer = self._array(arrays["features"])
        if "pending" in arrays:
            self._pending = [self._array(arrays["pending"])]
        self._features.restore({**header["feature_state"], "tail": arrays["audio_tail"]})
        self._buffer_start = int(header["buffer_start"])
        self._next_chunk = int(header["next_chunk"])
