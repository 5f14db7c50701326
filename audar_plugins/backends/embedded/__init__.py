"""The CPU default backend: Silero VAD, GE2E embeddings and clustering, all from PyPI wheels."""

from .backend import EmbeddedBackend, EmbeddedOptions

__all__ = ["EmbeddedBackend", "EmbeddedOptions"]
