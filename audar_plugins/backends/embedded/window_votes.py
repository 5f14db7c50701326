"""Windows vote for speakers: each window's local speakers say, frame by frame, which speaker of
the recording is active, and a frame's ``count`` speakers with the most votes are.

A local speaker's track takes the identity of its nearest clean frame where it speaks alone
(:mod:`.clean_identity`), or is one person throughout when its clean frames are not surely
two; two local speakers active together never share a speaker.
"""

from __future__ import annotations

import numpy as np

from .campplus import SpeakerEncoder
from .fbank import fbank, normalized
from .local_speakers import FRAME_STEP_SAMPLES, alone, speaker_frames
from .segmentation import WINDOW_FRAMES, WINDOW_SAMPLES
from .speaker_clusters import normalize

__all__ = ["top_speakers", "vote_unanchored", "window_votes"]


def window_votes(activity: np.ndarray, identity: np.ndarray, assigned: dict[tuple[int, int], int], step_frames: int,
                 speakers: int, total: int, confident: np.ndarray, min_split: float
                 ) -> tuple[np.ndarray, list[tuple[int, int]], dict[int, set[int]]]:
    """Per frame and speaker, how many windows' local speakers say that speaker is active there;
    the (window, local speaker) pairs that are never alone on a clean frame (no identity to copy);
    and, per window, the speakers its other local speakers were given."""
    votes = np.zeros((total, speakers), dtype=np.float32)
    unanchored: list[tuple[int, int]] = []
    taken: dict[int, set[int]] = {}
    for window in range(activity.shape[0]):
        offset = window * step_frames
        frames = min(WINDOW_FRAMES, total - offset)
        if frames <= 0:
            break
        local = activity[window, :frames]
        known = identity[offset : offset + frames]
        single = alone(local)
        chosen = np.full((frames, 3), -1, dtype=np.int64)  # each local speaker's speaker on each frame
        distance = np.full((frames, 3), np.inf)
        for speaker in range(3):
            active = np.flatnonzero(local[:, speaker])
            anchors = np.flatnonzero(single[:, speaker] & (known >= 0))
            if active.size == 0:
                continue
            if anchors.size == 0:
                if (window, speaker) in assigned:
                    chosen[active, speaker] = assigned[window, speaker]
                else:
                    unanchored.append((window, speaker))
                continue
            # every active frame takes the identity of the nearest frame where this local speaker is alone
            after = np.clip(np.searchsorted(anchors, active), 0, anchors.size - 1)
            before = np.clip(after - 1, 0, anchors.size - 1)
            nearest = np.where(np.abs(anchors[before] - active) <= np.abs(anchors[after] - active),
                               anchors[before], anchors[after])
            chosen[active, speaker] = known[nearest]
            distance[active, speaker] = np.abs(nearest - active)
            # a track is two people when its clean frames are surely heard as two, a second each (the
            # segmentation model may give alternating voices one local speaker); else it is one person
            sure = anchors[confident[offset + anchors]]
            heard = np.bincount(known[sure], minlength=speakers)
            if speakers < 2 or np.sort(heard)[-2] < min_split:
                chosen[active, speaker] = assigned.get((window, speaker), int(np.argmax(heard)))
                chosen[sure, speaker] = known[sure]  # a short reply the pieces surely hear as another
        _separate(chosen, distance, single, known)
        rows, columns = np.nonzero(chosen >= 0)
        np.add.at(votes, (offset + rows, chosen[rows, columns]), 1.0)
        taken[window] = set(chosen[rows, columns].tolist())
    return votes, unanchored, taken


def _separate(chosen: np.ndarray, distance: np.ndarray, single: np.ndarray, known: np.ndarray) -> None:
    """Where two local speakers of a window, active together, got the same speaker, the one whose
    identity came from farther away takes the nearest other speaker it was heard as alone (or none)."""
    for frame in np.flatnonzero((chosen[:, 0] >= 0).astype(int) + (chosen[:, 1] >= 0) + (chosen[:, 2] >= 0) >= 2):
        active = np.flatnonzero(chosen[frame] >= 0)
        for first in range(active.size):
            for second in range(first + 1, active.size):
                a, b = active[first], active[second]
                if chosen[frame, a] != chosen[frame, b]:
                    continue
                far = a if distance[frame, a] > distance[frame, b] else b
                taken = chosen[frame, a]
                anchors = np.flatnonzero(single[:, far] & (known >= 0) & (known != taken))
                if anchors.size == 0:
                    chosen[frame, far] = -1
                else:
                    chosen[frame, far] = known[anchors[np.argmin(np.abs(anchors - frame))]]


def vote_unanchored(waveform: np.ndarray, activity: np.ndarray, unanchored: list[tuple[int, int]],
                    taken: dict[int, set[int]], step_frames: int, encoder: SpeakerEncoder,
                    centroids: np.ndarray, votes: np.ndarray) -> None:
    """Local speakers without a clean frame (short overlapped turns): embed all their frames and
    vote for the nearest speaker on every frame where they are active."""
    owners: list[tuple[int, int]] = []

    def features():
        for window, local in unanchored:
            begin = window * step_frames * FRAME_STEP_SAMPLES
            frames = fbank(waveform[begin : begin + WINDOW_SAMPLES])
            picked = speaker_frames(frames.shape[0], activity[window, :, local].astype(bool))
            if picked.size >= 20:
                owners.append((window, local))
                yield normalized(frames[picked])

    embeddings = encoder.embed_all(features())
    if not owners:
        return
    similarity = normalize(embeddings) @ centroids.T
    for row, (window, _) in enumerate(owners):
        used = list(taken.get(window, ()))
        if len(used) < similarity.shape[1]:
            similarity[row, used] = -np.inf  # another local speaker of this window is that speaker
    nearest = np.argmax(similarity, axis=1)
    total = votes.shape[0]
    for (window, local), speaker in zip(owners, nearest.tolist()):
        active = window * step_frames + np.flatnonzero(activity[window, :, local])
        votes[active[active < total], speaker] += 1.0


def top_speakers(votes: np.ndarray, count: np.ndarray) -> np.ndarray:
    """1 for each frame's ``count`` speakers with the most votes (and at least one)."""
    order = np.argsort(-votes, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(votes.shape[1])[None, :], axis=1)
    return ((ranks < count[:, None]) & (votes > 0)).astype(np.float32)
