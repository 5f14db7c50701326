"""What segmentation-3.0 says about one 10 s window: which of its three local speakers talk when.

The model's 7 powerset classes become three 0/1 tracks (the most likely class wins, as
pyannote reads a powerset model); a local speaker is *alone* on a frame where no other
local speaker is active. Frames are 16.875 ms apart; frame ``i`` of a window starting at
sample ``s`` is centred on sample ``s + 270 i + 495`` (the middle of its 991-sample
receptive field).
"""

from __future__ import annotations

import numpy as np

from .segmentation import FRAME_STEP, POWERSET

__all__ = [
    "FRAME_CENTER_SAMPLES",
    "FRAME_STEP_SAMPLES",
    "alone",
    "embedding_frames",
    "frame_start",
    "frames_for",
    "multilabel",
    "speaker_frames",
]

FRAME_STEP_SAMPLES = 270
FRAME_CENTER_SAMPLES = 495


def frames_for(seconds: float) -> int:
    """The number of frames nearest to ``seconds``."""
    return int(round(seconds / FRAME_STEP))


def frame_start(frame: int) -> int:
    """The sample where frame ``frame`` (counted from sample 0) begins: half a step before its centre."""
    return frame * FRAME_STEP_SAMPLES + FRAME_CENTER_SAMPLES - FRAME_STEP_SAMPLES // 2


def multilabel(log_probabilities: np.ndarray) -> np.ndarray:
    """``(..., frames, 7)`` powerset log-probabilities -> ``(..., frames, 3)`` uint8 activity."""
    return POWERSET.astype(np.uint8)[np.argmax(log_probabilities, axis=-1)]


def alone(activity: np.ndarray) -> np.ndarray:
    """``(frames, 3)`` activity -> where each local speaker is the only one active."""
    return activity.astype(bool) & (activity.sum(axis=-1, keepdims=True) == 1)


def embedding_frames(activity: np.ndarray, local: int, min_frames: int) -> np.ndarray:
    """The frames to embed ``local`` from (``(frames, 3)`` activity): where it speaks alone, or all
    its frames when it speaks alone on fewer than ``min_frames``."""
    single = alone(activity)[:, local]
    return single if single.sum() >= min_frames else activity[:, local].astype(bool)


def speaker_frames(fbank_frames: int, selected: np.ndarray) -> np.ndarray:
    """Indices of the fbank frames (10 ms hop, 25 ms long, window-relative) whose centre
    falls in a segmentation frame where ``selected`` (``(frames,)`` bool) is true."""
    centers = 160 * np.arange(fbank_frames) + 200
    nearest = np.rint((centers - FRAME_CENTER_SAMPLES) / FRAME_STEP_SAMPLES).astype(np.int64)
    inside = (nearest >= 0) & (nearest < selected.size)
    keep = np.zeros(fbank_frames, dtype=bool)
    keep[inside] = selected[nearest[inside]]
    return np.flatnonzero(keep)
