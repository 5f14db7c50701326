"""The previous CPU default: Silero VAD, GE2E embeddings and clustering, from PyPI wheels.

Registered as ``ge2e``. It hears one speaker at a time, but live on two readers who take
turns with pauses it still does better than ``embedded`` (see ``benchmarks/README.md``).
"""

from .backend import GE2EBackend, GE2EOptions

__all__ = ["GE2EBackend", "GE2EOptions"]
