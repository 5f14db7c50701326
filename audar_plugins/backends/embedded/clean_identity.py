"""Who speaks on clean frames: each frame where one person speaks takes the speaker its covering
pieces resemble most, with a margin over the runner-up that says how sure that is.

A change of voice without a pause can lie inside one piece; :func:`refine_disputed` embeds
finer pieces where that may be and takes the identity there from them.
"""

from __future__ import annotations

import numpy as np

from ...activity import runs
from .campplus import SpeakerEncoder
from .clean_pieces import CleanPieces, cut_pieces

__all__ = ["clean_identity", "refine_disputed"]


def clean_identity(pieces: list[tuple[int, int]], similarity: np.ndarray, total: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Each clean frame's speaker (-1 elsewhere): the best mean similarity of the pieces covering it;
    and the margin of that mean over the runner-up's."""
    speakers = similarity.shape[1]
    scores = np.zeros((total + 1, speakers))
    covering = np.zeros(total + 1)
    for (first, stop), row in zip(pieces, similarity):
        scores[first] += row
        scores[stop] -= row
        covering[first] += 1
        covering[stop] -= 1
    scores, covering = np.cumsum(scores, axis=0)[:total], np.cumsum(covering)[:total]
    identity = np.argmax(scores, axis=1)
    identity[covering < 0.5] = -1
    top = np.sort(scores, axis=1)
    margin = (top[:, -1] - top[:, -2]) / np.maximum(covering, 1) if speakers > 1 else np.ones(total)
    return identity, margin


def refine_disputed(waveform: np.ndarray, votes: np.ndarray, count: np.ndarray, identity: np.ndarray,
                    margin: np.ndarray, centroids: np.ndarray, encoder: SpeakerEncoder, reach: int,
                    length: int, hop: int) -> bool:
    """Where a change of voice without a pause may lie inside one clean piece, embed pieces ``length``
    frames long every ``hop`` and take ``identity`` and ``margin`` there from them (in place): on one
    person's clean speech where the windows' local speakers vote for different speakers, and within
    ``reach`` frames of each change of identity inside a clean run. False when no frame changed.

    The finer pieces' margins replace the coarse ones there, so a frame they hear surely enough
    (``OfflineSettings.min_margin``) can still split a local speaker's track."""
    clean = (count == 1) & (identity >= 0)
    disputed = clean & ((votes > 0).sum(axis=1) >= 2)
    for change in np.flatnonzero(clean[:-1] & clean[1:] & (identity[:-1] != identity[1:])).tolist():
        disputed[max(0, change + 1 - reach) : change + 1 + reach] = True
    disputed &= clean
    if not disputed.any():
        return False
    spans = np.zeros_like(clean)
    for first, stop in runs(disputed):
        spans[max(0, first - length // 2) : stop + length // 2] = True  # half a piece of context each side
    pieces = cut_pieces(clean & spans, length, hop, length // 2)
    if not pieces:
        return False
    fine = CleanPieces(waveform, pieces, identity.size, encoder)
    fine_identity, fine_margin = clean_identity(pieces, fine.embeddings @ centroids.T, identity.size)
    changed = disputed & (fine_identity >= 0)
    identity[changed], margin[changed] = fine_identity[changed], fine_margin[changed]
    return bool(changed.any())
