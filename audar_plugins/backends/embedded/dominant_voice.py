"""Whose voice leads where speakers overlap: soft activity from a binary one.

The offline pipeline and the live session decide each frame's speakers (0 or 1). Where two
speak at once, an ASR writes mostly the words of the voice that dominates, and word attribution
(and the exclusive, one-speaker-at-a-time output) gives a word to the speaker with the most
activity under it: with two speakers at 1, the first column took every such word. Here each run
of overlapped frames is embedded with CAM++ as it is, mixture and all, and the active speaker
whose centroid it resembles most keeps 1; the others get :data:`DOMINATED`, still active
wherever activity is read at 0.5 (turns, DER, counts), but second under a word. The cost is one
CAM++ embedding per overlapped run. Measured in ``benchmarks/README.md`` (words and speakers).
"""

from __future__ import annotations

import numpy as np

from ...activity import runs
from .campplus import SpeakerEncoder
from .fbank import fbank, normalized
from .local_speakers import FRAME_STEP_SAMPLES, frame_start
from .speaker_clusters import normalize

__all__ = ["DOMINATED", "mark_dominant_voice"]

DOMINATED = 0.75
"""Activity of an overlapped speaker whose voice does not lead the overlap."""
SHORTEST_SAMPLES = 8_000
"""Audio embedded at least (0.5 s, centred on a shorter overlap, voices around it included):
CAM++ on a quarter second picked the wrong voice of a 0.13 s overlap."""


def mark_dominant_voice(probabilities: np.ndarray, waveform: np.ndarray, centroids: np.ndarray,
                        encoder: SpeakerEncoder, first_frame: int = 0, first_sample: int = 0) -> np.ndarray:
    """``probabilities`` (frames x speakers, 0 or 1) with each overlap's non-leading speakers at
    :data:`DOMINATED`; ``centroids`` are the speakers' embeddings, one row per column. Row 0 is
    the model frame ``first_frame`` of the recording, of which ``waveform`` holds the samples
    from ``first_sample`` on (a live session's last window)."""
    overlaps = runs((probabilities >= 0.5).sum(axis=1) >= 2)
    if not overlaps or waveform.shape[0] < SHORTEST_SAMPLES:
        return probabilities
    voices = normalize(encoder.embed_all(_features(waveform, overlaps, frame_start(first_frame) - first_sample)))
    centroids = normalize(np.asarray(centroids, dtype=np.float32))
    marked = probabilities.copy()
    for (first, stop), voice in zip(overlaps, voices):
        active = np.flatnonzero((probabilities[first:stop] >= 0.5).any(axis=0))
        leading = active[np.argmax(centroids[active] @ voice)]
        for speaker in active[active != leading]:
            column = marked[first:stop, speaker]
            column[column >= 0.5] = DOMINATED
    return marked


def _features(waveform: np.ndarray, overlaps: list[tuple[int, int]], offset: int):
    """Features of each overlap's audio; frame ``f`` starts at sample ``offset + f * FRAME_STEP_SAMPLES``."""
    for first, stop in overlaps:
        begin, end = offset + first * FRAME_STEP_SAMPLES, offset + stop * FRAME_STEP_SAMPLES
        if end - begin < SHORTEST_SAMPLES:
            middle = (begin + end) // 2
            begin = middle - SHORTEST_SAMPLES // 2
        begin = max(0, min(begin, waveform.shape[0] - SHORTEST_SAMPLES))
        yield normalized(fbank(waveform[begin : max(end, begin + SHORTEST_SAMPLES)]))
