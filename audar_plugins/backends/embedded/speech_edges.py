"""Where speech starts and stops: Silero VAD sets the edges of the speaker activity.

The segmentation model decides who speaks, but its edges are loose: it runs speech on
through pauses of half a second or more between two people's turns, and drops the first
or last syllable of a turn now and then. Silero VAD, made for exactly that decision,
draws them closer, in two moves:

- **cut**: frames where Silero hears silence even at a very low threshold, for
  ``min_pause`` seconds or more, lose every speaker (a pause the segmentation model bridged);
- **fill**: frames where Silero hears speech and nobody is active take the speakers of
  the nearest active frame, if it is at most ``max_fill`` seconds away (a clipped word);
  pauses shorter than ``min_pause`` count as speech here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...activity import hysteresis
from ...errors import InvalidOptionError
from .vad import VAD_FRAME_DURATION

__all__ = ["EdgeSettings", "snap_to_speech", "speech_probability_at"]


@dataclass(frozen=True)
class EdgeSettings:
    """Thresholds on Silero's speech probability, and durations in seconds."""

    speech_onset: float = 0.2
    speech_offset: float = 0.1
    min_pause: float = 0.3
    max_fill: float = 0.5
    silence_onset: float = 0.02
    silence_offset: float = 0.01

    def __post_init__(self) -> None:
        for name in ("speech_onset", "speech_offset", "silence_onset", "silence_offset"):
            if not 0 <= getattr(self, name) <= 1:
                raise InvalidOptionError(f"{name} must be within 0 and 1, got {getattr(self, name)}")
        for name in ("min_pause", "max_fill"):
            if not 0 <= getattr(self, name) <= 10:
                raise InvalidOptionError(f"{name} must be within 0 and 10 seconds, got {getattr(self, name)}")


def speech_probability_at(vad: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Silero's probability (one per 32 ms, from time 0) at each of ``times`` (seconds)."""
    if vad.size == 0:
        return np.zeros(times.shape, dtype=np.float32)
    return vad[np.clip((times / VAD_FRAME_DURATION).astype(np.int64), 0, vad.size - 1)]


def snap_to_speech(activity: np.ndarray, speech_probability: np.ndarray, frame_duration: float,
                   settings: EdgeSettings = EdgeSettings()) -> np.ndarray:
    """``activity`` ``(frames, speakers)`` cut where Silero hears silence and filled where it hears
    speech nobody was given; ``speech_probability`` holds Silero's value at each frame."""
    snapped = activity.copy()
    if snapped.shape[1] == 0:
        return snapped
    pause = int(round(settings.min_pause / frame_duration))
    snapped[~_bridge(hysteresis(speech_probability, settings.silence_onset, settings.silence_offset), pause)] = 0
    speech = _bridge(hysteresis(speech_probability, settings.speech_onset, settings.speech_offset), pause)
    active = snapped.max(axis=1) > 0
    sources = np.flatnonzero(active)
    gaps = np.flatnonzero(speech & ~active)
    if sources.size == 0 or gaps.size == 0:
        return snapped
    after = np.clip(np.searchsorted(sources, gaps), 0, sources.size - 1)
    before = np.clip(after - 1, 0, sources.size - 1)
    nearest = np.where(np.abs(sources[before] - gaps) <= np.abs(sources[after] - gaps),
                       sources[before], sources[after])
    close = np.abs(nearest - gaps) * frame_duration <= settings.max_fill
    snapped[gaps[close]] = snapped[nearest[close]]
    return snapped


def _bridge(mask: np.ndarray, shortest: int) -> np.ndarray:
    """``mask`` with its inner runs of False shorter than ``shortest`` frames set True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[1], mask.astype(np.int8), [1]])))
    bridged = mask.copy()
    for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist()):
        if 0 < start and stop < mask.size and stop - start < shortest:
            bridged[start:stop] = True
    return bridged
