"""Log-mel features of a growing signal, computed as the samples arrive.

NeMo computes Sortformer's features over a whole recording. A frame's value
depends only on the samples under its STFT window (25 ms inside 32 ms, centred)
and the one sample before them (pre-emphasis), so frame ``i`` is final once
samples up to ``i * hop + n_fft / 2`` have arrived. Each push therefore runs the
model's own preprocessor on the new samples plus a few frames of look-back, and
the frames equal those of the whole-recording computation (to float rounding).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["IncrementalFeatures"]

# Frames recomputed before the first new one: the first two frames of a window see
# zero padding and a pre-emphasis without its previous sample; the third is exact.
_LOOKBACK_FRAMES = 3


class IncrementalFeatures:
    """Feed samples with :meth:`push`, then :meth:`flush` at the end of the stream.

    Both return the newly final frames as a ``(num_features, k)`` tensor. The
    retained audio is a few frames long, whatever the length of the stream.
    """

    def __init__(self, preprocessor: torch.nn.Module, hop_length: int = 160, n_fft: int = 512) -> None:
        self._preprocessor = preprocessor
        self._hop = hop_length
        self._half_window = n_fft // 2
        self._tail = np.zeros(0, dtype=np.float32)  # samples from global index _tail_start on
        self._tail_start = 0
        self.num_samples = 0
        self.num_frames = 0  # frames already returned

    def push(self, samples: np.ndarray) -> torch.Tensor:
        """Add 16 kHz float32 samples; return the frames that became final."""
        self._tail = np.concatenate([self._tail, samples])
        self.num_samples += len(samples)
        final = 0 if self.num_samples < self._half_window else (self.num_samples - self._half_window) // self._hop + 1
        return self._compute(final)

    def flush(self) -> torch.Tensor:
        """The remaining frames, with the end of the signal zero-padded as NeMo pads it.

        NeMo keeps ``num_samples // hop`` frames (its ``get_seq_len``), one fewer
        than the centred STFT computes.
        """
        total = self.num_samples // self._hop
        return self._compute(total)

    def _compute(self, until: int) -> torch.Tensor:
        device = next(self._preprocessor.parameters(), torch.empty(0)).device
        if until <= self.num_frames:
            return torch.zeros((self._num_features(), 0), device=device)
        first_window_frame = self._tail_start // self._hop
        window = torch.from_numpy(self._tail).to(device)[None]
        with torch.inference_mode():
            features, lengths = self._preprocessor(
                input_signal=window, length=torch.tensor([window.shape[1]], device=device)
            )
        features = features[0, :, : int(lengths[0])]
        new = features[:, self.num_frames - first_window_frame : until - first_window_frame]
        self.num_frames = until
        keep_from = max(0, (until - _LOOKBACK_FRAMES) * self._hop)
        self._tail = self._tail[keep_from - self._tail_start :]
        self._tail_start = keep_from
        return new

    def _num_features(self) -> int:
        return int(self._preprocessor._cfg.features)

    def state(self) -> dict[str, np.ndarray | int]:
        """Everything needed to continue this computation elsewhere."""
        return {"tail": self._tail.copy(), "tail_start": self._tail_start,
                "num_samples": self.num_samples, "num_frames": self.num_frames}

    def restore(self, state: dict) -> None:
        self._tail = np.asarray(state["tail"], dtype=np.float32)
        self._tail_start = int(state["tail_start"])
        self.num_samples = int(state["num_samples"])
        self.num_frames = int(state["num_frames"])
