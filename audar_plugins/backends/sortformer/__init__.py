"""The Streaming Sortformer backend on NeMo (``pip install 'audar-plugins[nemo]'``).

NeMo is imported only when a model is loaded.
"""

from .backend import MODEL_CARD_BINARIZATION, SortformerBackend
from .presets import PRESETS, StreamingConfig
from .session import SortformerSession

__all__ = ["MODEL_CARD_BINARIZATION", "PRESETS", "SortformerBackend", "SortformerSession", "StreamingConfig"]
