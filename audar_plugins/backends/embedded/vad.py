"""Silero VAD speech probabilities, one per 32 ms, from the silero-vad wheel's ONNX model.

The wheel's sequence model takes a whole block of frames per call, each frame
being 512 new samples preceded by the last 64 samples of the previous one, and
carries an LSTM state between calls. A :class:`VADStream` keeps that state, so
audio can be pushed in pieces of any size and the probabilities are the same
as for one push of the whole signal.
"""

from __future__ import annotations

import numpy as np

from ...errors import MissingDependencyError
from .weights import silero_vad_model

__all__ = ["SileroVAD", "VADStream", "VAD_FRAME_SAMPLES", "VAD_FRAME_DURATION"]

VAD_FRAME_SAMPLES = 512
VAD_FRAME_DURATION = VAD_FRAME_SAMPLES / 16_000
_CONTEXT = 64
_STATE_SHAPE = (1, 1, 128)
_MAX_FRAMES_PER_CALL = 512


class SileroVAD:
    """Speech probabilities for 16 kHz mono float32 audio.

    The model is loaded once and may be shared: each call, and each
    :meth:`stream`, keeps its own state.

    Examples
    --------
    ::

        vad = SileroVAD()
        probabilities = vad(waveform)           # one value per 32 ms frame
        stream = vad.stream()
        probabilities = stream.push(samples)    # the complete frames so far
        tail = stream.flush()                   # the last partial frame, zero-padded
    """

    def __init__(self) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise MissingDependencyError("onnxruntime", "cpu", "voice activity detection") from None

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(silero_vad_model()), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def stream(self) -> VADStream:
        """A new stream of pushes, starting from silence."""
        return VADStream(self._session)

    def __call__(self, waveform: np.ndarray) -> np.ndarray:
        """Probabilities of every frame of a whole signal (the last one zero-padded)."""
        stream = self.stream()
        block = _MAX_FRAMES_PER_CALL * VAD_FRAME_SAMPLES
        pieces = [stream.push(waveform[start : start + block]) for start in range(0, waveform.shape[0], block)]
        return np.concatenate([*pieces, stream.flush()])


class VADStream:
    """Audio pushed in pieces of any size gives the probabilities of one push of the whole."""

    def __init__(self, session) -> None:
        self._session = session
        self._hidden: np.ndarray = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._cell: np.ndarray = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities of the complete frames now available, shape ``(n,)``."""
        samples = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
        usable = samples.shape[0] - samples.shape[0] % VAD_FRAME_SAMPLES
        self._pending = samples[usable:].copy()
        return self._run(samples[:usable].reshape(-1, VAD_FRAME_SAMPLES))

    def state(self) -> dict[str, np.ndarray]:
        """The stream's state as arrays, for session snapshots."""
        return {"hidden": self._hidden, "cell": self._cell, "context": self._context, "pending": self._pending}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Continue from :meth:`state`'s arrays."""
        self._hidden = np.asarray(state["hidden"], dtype=np.float32).reshape(_STATE_SHAPE)
        self._cell = np.asarray(state["cell"], dtype=np.float32).reshape(_STATE_SHAPE)
        self._context = np.asarray(state["context"], dtype=np.float32).reshape(_CONTEXT)
        self._pending = np.asarray(state["pending"], dtype=np.float32).reshape(-1)[: VAD_FRAME_SAMPLES - 1]

    def flush(self) -> np.ndarray:
        """The probability of the pending partial frame (zero-padded), if any."""
        if not self._pending.size:
            return np.zeros(0, dtype=np.float32)
        frame = np.zeros((1, VAD_FRAME_SAMPLES), dtype=np.float32)
        frame[0, : self._pending.size] = self._pending
        self._pending = np.zeros(0, dtype=np.float32)
        return self._run(frame)

    def _run(self, frames: np.ndarray) -> np.ndarray:
        outputs = []
        for first in range(0, frames.shape[0], _MAX_FRAMES_PER_CALL):
            block = frames[first : first + _MAX_FRAMES_PER_CALL]
            contexts = np.empty((block.shape[0], _CONTEXT), dtype=np.float32)
            contexts[0] = self._context
            contexts[1:] = block[:-1, -_CONTEXT:]
            self._context = block[-1, -_CONTEXT:].copy()
            probabilities, self._hidden, self._cell = self._session.run(
                ["speech_probs", "hn", "cn"],
                {"input": np.concatenate([contexts, block], axis=1), "h": self._hidden, "c": self._cell},
            )
            outputs.append(probabilities.reshape(-1))
        return np.concatenate(outputs) if outputs else np.zeros(0, dtype=np.float32)
