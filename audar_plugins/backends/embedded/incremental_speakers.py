"""Speakers found while a stream goes by: diart's incremental clustering, on CAM++ embeddings.

Each window's local speakers are matched to the speakers so far by the assignment of
least total cosine distance, one local speaker per speaker. A match farther than
``max_distance`` does not count: such a local speaker is a new speaker (while fewer than
``max_speakers`` exist) if it spoke alone long enough (``long``), or if it spoke alone a
little (``separable``) while another local speaker of the window surely is the speaker it
resembles most (similarity at least ``min_same``): the segmentation model heard them as
two people, and the embeddings agree. Else it goes to the nearest speaker that no other
local speaker of the window took. Long local speakers add their embedding to their
speaker's centroid (and a new speaker starts from the embedding that made it), so
centroids settle as the stream goes on.
Speakers are numbered in order of arrival and never renumbered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .speaker_clusters import normalize

__all__ = ["IncrementalSpeakers"]


@dataclass
class IncrementalSpeakers:
    """The speakers of one stream: each one's sum of unit embeddings."""

    max_distance: float
    dimension: int
    max_speakers: float = math.inf
    min_same: float = 0.5
    sums: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        if self.sums.size == 0:
            self.sums = np.zeros((0, self.dimension), dtype=np.float64)

    @property
    def count(self) -> int:
        return int(self.sums.shape[0])

    def centroids(self) -> np.ndarray:
        """``(speakers, dimension)`` unit vectors."""
        return normalize(self.sums).astype(np.float32)

    def assign(self, embeddings: np.ndarray, long: np.ndarray, separable: np.ndarray | None = None) -> list[int]:
        """The speaker of each local speaker of a window (``embeddings``: one row each), ``-1`` for none."""
        from scipy.optimize import linear_sum_assignment

        units = normalize(embeddings.astype(np.float64))
        result = [-1] * units.shape[0]
        if units.shape[0] == 0:
            return result
        existing = self.count
        similarity = units @ normalize(self.sums).T
        if existing:
            distance = 1.0 - similarity
            for row, speaker in zip(*linear_sum_assignment(distance)):
                if distance[row, speaker] <= self.max_distance:
                    result[row] = int(speaker)
        matched = list(result)
        created = set()
        for row in range(units.shape[0]):
            if result[row] >= 0:
                continue
            new = long[row] or (separable is not None and separable[row]
                                and self._beside_its_nearest(similarity, matched, row))
            if new and self.count < self.max_speakers:
                self.sums = np.concatenate([self.sums, np.zeros((1, self.dimension))])
                result[row] = self.count - 1
                created.add(row)
            elif existing:
                free = [k for k in range(existing) if k not in result]
                if free:
                    result[row] = free[int(np.argmax(units[row] @ normalize(self.sums[free]).T))]
        for row, speaker in enumerate(result):
            if speaker >= 0 and (long[row] or row in created):  # a new speaker starts from its first voice
                self.sums[speaker] += units[row]
        return result

    def _beside_its_nearest(self, similarity: np.ndarray, matched: list[int], row: int) -> bool:
        """Whether another local speaker of the window was matched to the speaker ``row`` resembles most,
        with a similarity of at least ``min_same``."""
        if similarity.shape[1] == 0:
            return False
        nearest = int(np.argmax(similarity[row]))
        return any(speaker == nearest and similarity[other, nearest] >= self.min_same
                   for other, speaker in enumerate(matched) if other != row)
