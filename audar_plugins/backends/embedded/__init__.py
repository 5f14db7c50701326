"""The CPU default backend: segmentation-3.0, CAM++ and Silero VAD, all from PyPI wheels."""

from .backend import EmbeddedBackend, EmbeddedOptions

__all__ = ["EmbeddedBackend", "EmbeddedOptions"]
