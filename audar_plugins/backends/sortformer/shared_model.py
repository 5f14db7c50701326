"""One loaded Sortformer model serving many sessions, each with its own streaming settings.

NeMo keeps the streaming settings (chunk size, FIFO and cache lengths, ...) as
plain attributes of the model's ``sortformer_modules``, shared by every caller.
Each streaming step here sets them to its session's values and runs under a
lock, so sessions with different presets, in any threads, do not disturb each
other. Steps of different sessions take turns; on CPU each step already uses
every core.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ..sortformer_core.fingerprint import model_fingerprint
from ..sortformer_core.presets import StreamingConfig

__all__ = ["SharedSortformer"]


class SharedSortformer:
    """A NeMo ``SortformerEncLabelModel`` in eval mode, with a lock around its shared settings."""

    def __init__(self, model, half: bool = False, precision: str = "fp32") -> None:
        self.model = model
        self.half = half  # model steps under CUDA float16 autocast; features stay float32
        self.precision = precision
        self.num_speakers: int = int(model.sortformer_modules.n_spk)
        self.subsampling: int = int(model.encoder.subsampling_factor)
        self.sample_rate: int = int(model.preprocessor._cfg.sample_rate)
        self.frame_duration: float = self.subsampling * float(model.preprocessor._cfg.window_stride)
        self.streaming: bool = bool(model.streaming_mode)
        self._lock = threading.RLock()
        self.fingerprint = model_fingerprint(model)  # of the float weights: snapshots move across precisions
        if precision == "int8":
            _quantize_linear_layers(model)

    @property
    def device(self) -> torch.device:
        return self.model.device

    @contextmanager
    def configured(self, config: StreamingConfig) -> Iterator[None]:
        """Hold the model with its streaming settings set to ``config``."""
        modules = self.model.sortformer_modules
        with self._lock:
            for name, value in config.as_dict().items():
                setattr(modules, name, value)
            yield

    def initial_state(self, config: StreamingConfig):
        """A fresh NeMo ``StreamingSortformerState`` for one stream."""
        with self.configured(config):
            return self.model.sortformer_modules.init_streaming_state(
                batch_size=1, async_streaming=self.model.async_streaming, device=self.device
            )

    def step(self, config: StreamingConfig, state, features: torch.Tensor, left: int, right: int):
        """One ``forward_streaming_step`` over ``features`` (num_features, frames).

        ``left`` and ``right`` are the feature frames of context before and after
        the chunk. Returns the new state and the chunk's probabilities (frames, speakers).
        """
        chunk = features.T.unsqueeze(0)
        with self.configured(config), torch.inference_mode(), self._autocast():
            state, preds = self.model.forward_streaming_step(
                processed_signal=chunk,
                processed_signal_length=torch.tensor([chunk.shape[1]], device=self.device),
                streaming_state=state,
                total_preds=torch.zeros((1, 0, self.num_speakers), device=self.device),
                left_offset=left,
                right_offset=right,
            )
        return state, preds[0]

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return torch.autocast("cuda", dtype=torch.float16, enabled=self.half)

    def reference_forward(self, audio: torch.Tensor, config: StreamingConfig) -> torch.Tensor:
        """NeMo's own offline streaming forward pass over a whole recording: (frames, speakers).

        This is what the live session must reproduce; tests and benchmarks compare against it.
        """
        with self.configured(config), torch.inference_mode(), self._autocast():
            audio = audio.to(self.device)[None]
            preds = self.model.forward(audio, torch.tensor([audio.shape[1]], device=self.device))
        return preds[0]

    def output_frames(self, num_samples: int) -> int:
        """How many 80 ms frames NeMo produces for ``num_samples`` of audio."""
        hop = round(self.sample_rate * float(self.model.preprocessor._cfg.window_stride))
        return math.ceil(num_samples // hop / self.subsampling)


def _quantize_linear_layers(model) -> None:
    """Every ``nn.Linear`` of ``model``, in place, as int8 weights per tensor with activations
    quantized per call (torch's dynamic quantization, fbgemm/oneDNN kernels)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notes
        torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)

