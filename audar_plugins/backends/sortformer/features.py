"""Log-mel features of a growing signal, computed as the samples arrive.

NeMo computes Sortformer's features over a whole recording. A frame's value
depends only on the samples under its STFT window (25 ms inside 32 ms, centred)
and the one sample before them (pre-emphasis), so frame ``i`` is final once
samples up to ``i * hop + n_fft / 2`` have arrived. Each push therefore runs the
model's own preprocessor on the new samples plus a few frames of look-back, and
the frames equal those of the whole-recording computation (to float rounding).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["IncrementalFeatures"]

# Frames recomputed before the first new one: the first two frames of a window see
# zero padding and a pre-emphasis without its previous sample; the third is exact.
_LOOKBACK_FRAMES = 3


class IncrementalFeatures:
    """Feed samples with :meth:`push`; compute the frames that are final with :meth:`compute`.

    Computing is separate from pushing so that a session runs the front end
    only when a model step needs new frames: many small pushes then cost one
    preprocessor call, and the total work stays linear in the stream. After
    :meth:`end`, the last frames (with NeMo's zero padding) become final. The
    retained audio is the samples not yet computed plus a few frames.
    """

    def __init__(
        self, preprocessor: torch.nn.Module, device: torch.device, hop_length: int = 160, n_fft: int = 512
    ) -> None:
        self._preprocessor: Any = preprocessor  # NeMo's AudioToMelSpectrogramPreprocessor
        self._device = device
        self._hop = hop_length
        self._half_window = n_fft // 2
        self._pieces: list[np.ndarray] = []  # samples from global index _tail_start on
        self._tail_start = 0
        self.num_samples = 0
        self.num_frames = 0  # frames already computed
        self.ended = False

    def push(self, samples: np.ndarray) -> None:
        """Add 16 kHz float32 samples."""
        if len(samples):
            self._pieces.append(samples)
            self.num_samples += len(samples)

    def end(self) -> None:
        """No more samples will come: the frames at the end of the signal become final."""
        self.ended = True

    @property
    def available(self) -> int:
        """How many frames are final, computed or not.

        Frame ``i`` is final once its STFT window is complete. At the end of
        the stream NeMo keeps ``num_samples // hop`` frames (its ``get_seq_len``),
        one fewer than the centred STFT computes.
        """
        if self.ended:
            return self.num_samples // self._hop
        if self.num_samples < self._half_window:
            return 0
        return (self.num_samples - self._half_window) // self._hop + 1

    def compute(self) -> torch.Tensor:
        """The frames that became final since the last call, as ``(num_features, k)``."""
        until = self.available
        if until <= self.num_frames:
            return torch.zeros((self.num_features, 0), device=self._device)
        tail = np.concatenate(self._pieces) if len(self._pieces) != 1 else self._pieces[0]
        first_window_frame = self._tail_start // self._hop
        window = torch.from_numpy(tail).to(self._device)[None]
        with torch.inference_mode():
            features, lengths = self._preprocessor(
                input_signal=window, length=torch.tensor([window.shape[1]], device=self._device)
            )
        features = features[0, :, : int(lengths[0])]
        new = features[:, self.num_frames - first_window_frame : until - first_window_frame]
        self.num_frames = until
        keep_from = max(0, (until - _LOOKBACK_FRAMES) * self._hop)
        self._pieces = [tail[keep_from - self._tail_start :].copy()]
        self._tail_start = keep_from
        return new

    @property
    def num_features(self) -> int:
        """Mel bands per frame."""
        return int(self._preprocessor._cfg.features)

    def state(self) -> dict[str, np.ndarray | int]:
        """Everything needed to continue this computation elsewhere."""
        tail = np.concatenate(self._pieces) if self._pieces else np.zeros(0, dtype=np.float32)
        return {"tail": tail, "tail_start": self._tail_start, "num_samples": self.num_samples,
                "num_frames": self.num_frames}

    def restore(self, state: dict) -> None:
        self._pieces = [np.asarray(state["tail"], dtype=np.float32)]
        self._tail_start = int(state["tail_start"])
        self.num_samples = int(state["num_samples"])
        self.num_frames = int(state["num_frames"])
