"""The GE2E backend's 10 ms frame grid, shared by the offline pass and the live session."""

from __future__ import annotations

import numpy as np

from ...audio import SAMPLE_RATE
from ..embedded.vad import VAD_FRAME_DURATION
from .encoder import MEL_HOP

__all__ = ["FRAME_DURATION", "vad_index", "vad_reads", "window_starts"]

FRAME_DURATION = MEL_HOP / SAMPLE_RATE
"""One mel frame, 10 ms: the grid of speech decisions, windows and output."""


def vad_index(frames):
    """The 32 ms VAD value each 10 ms frame reads."""
    return (np.asarray(frames) * FRAME_DURATION / VAD_FRAME_DURATION).astype(int)


def vad_reads(frames, known: int):
    """The VAD value each frame reads when ``known`` values exist: its own, else the last one.

    A signal of ``n`` samples has ``1 + n // 160`` centred frames and ``ceil(n / 512)`` VAD
    values; when ``n`` is a whole number of 2560 samples (the least common multiple of the
    10 ms and 32 ms grids), the last frame starts where the VAD values end (in this float
    arithmetic, nearly always) and reads the last value instead. A live session must keep
    that value until the stream ends.
    """
    return np.minimum(vad_index(frames), known - 1)


def window_starts(total: int, window: int, step: int) -> np.ndarray:
    """Window starts covering ``total`` frames, the last window ending at the end."""
    if total <= window:
        return np.zeros(1, dtype=int)
    starts = np.arange(0, total - window + 1, step)
    if starts[-1] + window < total:
        starts = np.append(starts, total - window)
    return starts
