"""The CPU default backend: segmentation-3.0, CAM++ and Silero VAD, all from PyPI wheels."""

from .backend import EmbeddedBackend, EmbeddedOptions
from .live import LiveSettings
from .offline import OfflineSettings
from .speech_edges import EdgeSettings

__all__ = ["EdgeSettings", "EmbeddedBackend", "EmbeddedOptions", "LiveSettings", "OfflineSettings"]
