"""Clean pieces: short stretches of speech where one person speaks, and their CAM++ embeddings.

The offline pipeline cuts the frames whose speaker count is one into pieces ``piece`` seconds
long every ``hop`` seconds and embeds each once. A piece's embedding says who speaks on its
frames; the mean of the pieces inside a local speaker's clean frames can stand for that local
speaker's own embedding, which saves one CAM++ pass per window over speech already embedded.
"""

from __future__ import annotations

import numpy as np

from ...activity import runs
from .campplus import SpeakerEncoder
from .fbank import fbank, normalized
from .local_speakers import frame_start
from .speaker_clusters import normalize

__all__ = ["CleanPieces", "cut_pieces"]

INSIDE = 0.8
"""A piece speaks for a local speaker when at least this share of it lies in the speaker's clean frames."""

COVERED = 0.5
"""Pieces stand for a local speaker when they cover at least this share of its clean frames."""


def cut_pieces(clean: np.ndarray, length: int, hop: int, shortest: int) -> list[tuple[int, int]]:
    """Frame ranges ``[start, stop)``, ``length`` long every ``hop``, inside each run of ``clean``
    frames (a run shorter than ``length`` is one piece; one shorter than ``shortest``, none)."""
    pieces = []
    for first, stop in runs(clean):
        if stop - first < shortest:
            continue
        if stop - first <= length:
            pieces.append((first, stop))
            continue
        starts = list(range(first, stop - length + 1, hop))
        if starts[-1] + length < stop:
            starts.append(stop - length)  # the region's end too
        pieces += [(start, start + length) for start in starts]
    return pieces


class CleanPieces:
    """The pieces (frame ranges of a recording of ``total`` frames) and their unit embeddings."""

    def __init__(self, waveform: np.ndarray, ranges: list[tuple[int, int]], total: int,
                 encoder: SpeakerEncoder) -> None:
        self.ranges = ranges
        self.embeddings = normalize(encoder.embed_all(self._features(waveform)))
        self._piece_of = np.full(total, -1, dtype=np.int64)  # the (last) piece covering each frame
        for index, (first, stop) in enumerate(ranges):
            self._piece_of[first:stop] = index
        self._sizes = np.bincount(self._piece_of[self._piece_of >= 0], minlength=len(ranges))

    def _features(self, waveform: np.ndarray):
        for first, stop in self.ranges:
            begin, end = max(0, frame_start(first)), frame_start(stop)
            yield normalized(fbank(waveform[begin:end]))

    def mean_inside(self, frames: np.ndarray) -> np.ndarray | None:
        """The unit mean embedding of the pieces lying inside ``frames`` (recording frame indices),
        each weighted by its frames there; None when they cover too little of ``frames``."""
        frames = frames[frames < self._piece_of.size]
        inside = self._piece_of[frames]
        pieces, overlap = np.unique(inside[inside >= 0], return_counts=True)  # only the pieces met
        kept = overlap >= INSIDE * self._sizes[pieces]
        if frames.size == 0 or overlap[kept].sum() < COVERED * frames.size:
            return None
        return normalize(overlap[kept].astype(np.float32) @ self.embeddings[pieces[kept]])
