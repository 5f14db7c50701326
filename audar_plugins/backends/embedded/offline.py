"""Offline diarization with segmentation-3.0 and CAM++ on a CPU.

1. **Segmentation** of 10 s windows every ``step`` seconds: three local speakers per
   window, two of them at once at most. Averaged over the windows that cover it, a frame's
   number of active local speakers, rounded, is its number of speakers (pyannote's count).
2. **Speakers**: the local speakers of every ``embedding_step``-th window are embedded
   (CAM++ on the frames where each speaks alone, or all its frames if it hardly ever does);
   those alone for ``min_clean`` seconds are clustered as pyannote 3.1 does (centroid
   linkage, small clusters merged, counts honoured). Local speakers alone for less, but for
   ``min_novel_local`` seconds, that sound like none of those speakers (similarity below
   ``max_novel``) and like each other are one more speaker (a voice heard in short turns);
   so is a single one unlike every speaker (below ``max_lone_novel``: a voice heard once),
   or one that the segmentation model heard beside the speaker it resembles most (another
   local speaker of its window at least ``min_same`` like that speaker): in a short
   recording, one window may be all there is to tell three people apart.
   Every embedded local speaker gets a speaker by constrained assignment (a window's local
   speakers get different speakers).
3. **Who**, where one person speaks: frames whose count is one form clean regions (cut at
   silence and at overlap); CAM++ embeds ``piece``-second pieces of them every ``hop``
   seconds, and each clean frame goes to the centroid its covering pieces resemble most
   (:mod:`.clean_identity`).
   A speaker known from one local track only is two (or more) when the pieces nearest to it
   fall into groups unlike each other, each heard ``min_split_speaker`` seconds: the model
   reuses a local speaker for people who do not overlap. A speaker the clean speech hardly
   goes to was a stray cluster and is dropped.
4. **Tracks**: a local speaker's track is one person, the speaker it was assigned, unless
   its clean frames are surely (a similarity margin of ``min_margin``) two people for
   ``min_split`` seconds each: the segmentation model sometimes gives two people who
   alternate with pauses one local speaker. Such a track takes, frame by frame, the
   identity of its nearest clean frame; a one-person track still takes it on the clean
   frames surely heard as someone else (a short reply). A change of voice without a pause
   may lie inside one piece, where the windows' local speakers vote for different speakers
   on clean frames or the identity changes inside a clean run: there ``fine_piece``-second
   pieces every ``fine_hop`` seconds give the frames their identity, and the windows vote
   again. Two local speakers active together never share one. A frame's ``count`` speakers
   with the most votes across windows are active, so two speakers overlap where the model
   says so (:mod:`.window_votes`).
5. **Edges**: Silero VAD cuts pauses the segmentation model ran through and fills clipped
   words (:mod:`.speech_edges`). Speakers are numbered in order of arrival.
6. **Leading voice**: where speakers overlap, the one the overlap's own CAM++ embedding
   resembles most stays at 1 and the others go to 0.75 (:mod:`.dominant_voice`).

CAM++ is most of the time: step 2 embeds each second of speech once per window that covers it
(four, at the default ``step``). With ``reuse_pieces``, a local speaker whose clean frames the
pieces of step 3 cover takes their mean embedding instead (:class:`.clean_pieces.CleanPieces`):
each clean second is embedded once, for about half the time.

Memory: the audio, plus 589 x 3 bytes of activity per window, one embedding per piece, and
CAM++ features of at most about 200,000 frames (64 MB) at a time (:meth:`.SpeakerEncoder.embed_all`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...activity import SpeakerActivity, default_labels
from ...errors import InvalidOptionError
from .campplus import SpeakerEncoder
from .clean_identity import clean_identity, refine_disputed
from .clean_pieces import CleanPieces, cut_pieces
from .dominant_voice import mark_dominant_voice
from .fbank import fbank, normalized
from .local_speakers import (
    FRAME_CENTER_SAMPLES,
    FRAME_STEP_SAMPLES,
    alone,
    embedding_frames,
    frames_for,
    multilabel,
    speaker_frames,
)
from .models import Models
from .segmentation import FRAME_STEP, WINDOW_FRAMES, WINDOW_SAMPLES
from .speaker_clusters import cluster, normalize
from .speech_edges import EdgeSettings, snap_to_speech, speech_probability_at
from .window_votes import top_speakers, vote_unanchored, window_votes

__all__ = ["OfflineSettings", "diarize_offline"]


@dataclass(frozen=True)
class OfflineSettings:
    """Settings of the offline pipeline (durations in seconds)."""

    step: float = 2.5
    piece: float = 1.5
    hop: float = 1.5
    min_piece: float = 0.25
    threshold: float = 0.7045654963945799
    embedding_step: float = 2.5
    min_clean: float = 2.0
    min_novel_local: float = 0.8
    max_novel: float = 0.3
    max_lone_novel: float = 0.0
    min_same: float = 0.5
    min_local: float = 0.5
    min_margin: float = 0.3
    min_speaker_speech: float = 0.75
    min_split_speaker: float = 1.5
    min_split: float = 0.3
    fine_piece: float = 0.75
    fine_hop: float = 0.375
    reuse_pieces: bool = False
    batch: int = 16
    edges: EdgeSettings = EdgeSettings()

    def __post_init__(self) -> None:
        for name in ("piece", "hop") + (("fine_piece", "fine_hop") if self.fine_piece > 0 else ()):
            if frames_for(getattr(self, name)) < 1:
                raise InvalidOptionError(f"{name} must be at least one model frame ({FRAME_STEP:.3f} s), "
                                         f"got {getattr(self, name)}")
        if self.fine_piece < 0:
            raise InvalidOptionError(f"fine_piece must be 0 (no finer pieces) or positive, got {self.fine_piece}")


def diarize_offline(waveform: np.ndarray, models: Models,
                    settings: OfflineSettings = OfflineSettings(), min_speakers: int = 1,
                    max_speakers: float = math.inf, progress: Callable[[float], None] | None = None
                    ) -> SpeakerActivity:
    """Speaker activity of a mono 16 kHz ``waveform``; ``progress(fraction)`` as it goes."""
    segmentation, encoder = models.segmentation, models.encoder
    samples = waveform.shape[0]
    total = max(1, math.ceil((samples - FRAME_CENTER_SAMPLES) / FRAME_STEP_SAMPLES))  # frames centred in the audio
    step_frames = max(1, frames_for(settings.step))
    activity = _segment(waveform, segmentation, step_frames, settings.batch, progress)
    count = _speaker_count(activity, step_frames, total)
    clean_pieces = CleanPieces(waveform, _pieces(count == 1, settings), total, encoder)
    pieces, embeddings = clean_pieces.ranges, clean_pieces.embeddings
    start = (FRAME_CENTER_SAMPLES - FRAME_STEP_SAMPLES / 2) / 16_000
    every = max(1, int(round(settings.embedding_step / (step_frames * FRAME_STEP))))
    reuse = clean_pieces if settings.reuse_pieces else None
    local, owners, clean_frames = _local_embeddings(waveform, activity, step_frames, every, encoder,
                                                    frames_for(settings.min_local), reuse)
    if not owners and count.any():  # a few words in all: embed whatever little there is
        local, owners, clean_frames = _local_embeddings(waveform, activity, step_frames, 1, encoder, 3, reuse)
    # only local speakers heard alone long enough are points (pyannote's rule: shorter ones are too
    # noisy to find speakers from); when none is, those heard alone longest
    points = clean_frames >= min(frames_for(settings.min_clean), clean_frames.max(initial=0))
    centroids = normalize(cluster(local[points], settings.threshold, min_speakers, max_speakers))
    local = normalize(local)
    windows = np.array([window for window, _ in owners], dtype=np.int64)
    centroids = _add_unheard(centroids, local, windows, clean_frames, ~points, settings, max_speakers)
    speakers = centroids.shape[0]
    if speakers == 0:
        return SpeakerActivity(np.zeros((total, 0), dtype=np.float32), FRAME_STEP, start)
    identity = np.full(total, -1, dtype=np.int64)
    margin = np.zeros(total)
    if pieces:
        if speakers < max_speakers:
            tracks = np.bincount(_nearest(local, centroids), minlength=speakers)
            centroids = _split_lone_tracks(centroids, tracks, embeddings, pieces, settings, max_speakers)
            speakers = centroids.shape[0]
        identity, margin = clean_identity(pieces, embeddings @ centroids.T, total)
        # a speaker the clean speech hardly goes to was a stray cluster: give its pieces to the others
        heard = np.bincount(identity[identity >= 0], minlength=speakers) * FRAME_STEP
        keep = heard >= settings.min_speaker_speech
        if 0 < keep.sum() < speakers and keep.sum() >= min_speakers:
            centroids, speakers = centroids[keep], int(keep.sum())
            identity, margin = clean_identity(pieces, embeddings @ centroids.T, total)
    if progress is not None:
        progress(0.9)
    assigned = _assign(local @ centroids.T, owners) if owners else {}

    def vote() -> tuple[np.ndarray, list[tuple[int, int]], dict[int, set[int]]]:
        return window_votes(activity, identity, assigned, step_frames, speakers, total,
                            margin >= settings.min_margin, settings.min_split / FRAME_STEP)

    votes, unanchored, taken = vote()
    if settings.fine_piece > 0 and refine_disputed(
            waveform, votes, count, identity, margin, centroids, encoder, frames_for(settings.piece),
            frames_for(settings.fine_piece), frames_for(settings.fine_hop)):
        votes, unanchored, taken = vote()  # on the identity and margins refined in place
    vote_unanchored(waveform, activity, unanchored, taken, step_frames, encoder, centroids, votes)
    probabilities = top_speakers(votes, np.minimum(count, speakers))
    times = start + FRAME_STEP * (np.arange(total) + 0.5)
    probabilities = snap_to_speech(probabilities, speech_probability_at(models.vad(waveform), times),
                                   FRAME_STEP, settings.edges)
    probabilities = mark_dominant_voice(probabilities, waveform, centroids, encoder)
    order = _arrival_order(probabilities)
    if progress is not None:
        progress(1.0)
    return SpeakerActivity(probabilities[:, order], FRAME_STEP, start, default_labels(speakers),
                           embeddings=centroids[order])


def _arrival_order(probabilities: np.ndarray) -> np.ndarray:
    """Speaker columns in the order they first speak (those never active last)."""
    active = probabilities > 0
    first = np.where(active.any(axis=0), np.argmax(active, axis=0), active.shape[0])
    return np.argsort(first, kind="stable")


def _segment(waveform, segmentation, step_frames: int, batch: int, progress) -> np.ndarray:
    """Local activity ``(windows, 589, 3)`` of windows every ``step_frames`` frames (the last one padded)."""
    samples = waveform.shape[0]
    step = step_frames * FRAME_STEP_SAMPLES
    count = 1 if samples <= WINDOW_SAMPLES else 1 + math.ceil((samples - WINDOW_SAMPLES) / step)
    activity = np.zeros((count, WINDOW_FRAMES, 3), dtype=np.uint8)
    for first in range(0, count, batch):
        chosen = range(first, min(first + batch, count))
        windows = np.zeros((len(chosen), WINDOW_SAMPLES), dtype=np.float32)
        for row, index in enumerate(chosen):
            piece = waveform[index * step : index * step + WINDOW_SAMPLES]
            windows[row, : piece.size] = piece
        activity[first : first + len(chosen)] = multilabel(segmentation(windows))
        if progress is not None:
            progress(0.6 * (first + len(chosen)) / count)
    return activity


def _speaker_count(activity: np.ndarray, step_frames: int, total: int) -> np.ndarray:
    """Each frame's number of speakers: the covering windows' mean count of active local speakers, rounded."""
    span = (activity.shape[0] - 1) * step_frames + WINDOW_FRAMES
    summed = np.zeros(span, dtype=np.float32)
    covered = np.zeros(span, dtype=np.float32)
    per_window = activity.sum(axis=2, dtype=np.float32)
    for window in range(activity.shape[0]):
        offset = window * step_frames
        summed[offset : offset + WINDOW_FRAMES] += per_window[window]
        covered[offset : offset + WINDOW_FRAMES] += 1
    count = np.rint(summed / np.maximum(covered, 1)).astype(np.int64)
    return np.pad(count, (0, max(0, total - span)))[:total]


def _local_embeddings(waveform, activity, step_frames: int, every: int, encoder: SpeakerEncoder,
                      min_frames: int, reuse: CleanPieces | None = None
                      ) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray]:
    """Embeddings of the local speakers of every ``every``-th window, from the frames where each
    speaks alone (all its frames when fewer than ``min_frames`` are clean); their ``(window, local)``
    owners; and how many frames each speaks alone. CAM++ computes them, except, given ``reuse``,
    for local speakers whose clean frames the clean pieces cover: the pieces' mean stands for them."""
    owners: list[tuple[int, int]] = []
    clean_frames: list[int] = []
    reused: dict[int, np.ndarray] = {}  # row -> embedding from the pieces

    def features():
        single_all = alone(activity)
        for window in range(0, activity.shape[0], every):
            active = activity[window].sum(axis=0)
            clean = single_all[window].sum(axis=0)
            if max(active) < min_frames:
                continue
            frames = None
            for local in range(3):
                if active[local] < min_frames:
                    continue
                if reuse is not None and clean[local] >= min_frames:
                    mean = reuse.mean_inside(window * step_frames + np.flatnonzero(single_all[window, :, local]))
                    if mean is not None:
                        reused[len(owners)] = mean
                        owners.append((window, local))
                        clean_frames.append(int(clean[local]))
                        continue
                if frames is None:
                    begin = window * step_frames * FRAME_STEP_SAMPLES
                    frames = fbank(waveform[begin : begin + WINDOW_SAMPLES])
                picked = speaker_frames(frames.shape[0], embedding_frames(activity[window], local, min_frames))
                if picked.size >= 3:
                    owners.append((window, local))
                    clean_frames.append(int(clean[local]))
                    yield normalized(frames[picked])

    computed = encoder.embed_all(features())
    embeddings = np.zeros((len(owners), encoder.dimension), dtype=np.float32)
    embeddings[[row for row in range(len(owners)) if row not in reused]] = computed
    for row, mean in reused.items():
        embeddings[row] = mean
    return embeddings, owners, np.array(clean_frames, dtype=np.int64)


def _add_unheard(centroids: np.ndarray, local: np.ndarray, windows: np.ndarray, clean_frames: np.ndarray,
                 candidates: np.ndarray, settings: OfflineSettings, max_speakers: float) -> np.ndarray:
    """``centroids`` and a speaker for each group of local speakers that were too briefly alone to be
    points of the clustering but sound like none of its speakers (similarity below ``max_novel``
    to all) and agree with each other, when the group is heard alone for ``min_clean`` seconds in all,
    when even its member closest to a speaker is unlike all of them (below ``max_lone_novel``), or
    when a member's window has another local speaker that surely is the member's nearest speaker."""
    if centroids.shape[0] == 0 or centroids.shape[0] >= max_speakers:
        return centroids
    shortest = frames_for(settings.min_novel_local)
    to_centroids = local @ centroids.T
    similarity, nearest = to_centroids.max(axis=1), to_centroids.argmax(axis=1)
    novel = np.flatnonzero(candidates & (clean_frames >= shortest) & (similarity < settings.max_novel))
    if novel.size == 0:
        return centroids
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = (fcluster(linkage(local[novel], method="centroid", metric="euclidean"), settings.threshold,
                       criterion="distance") if novel.size > 1 else np.ones(1, dtype=int))
    heard = np.bincount(labels, weights=clean_frames[novel])
    closest = np.full(heard.size, -np.inf)  # per group, its members' greatest similarity to a speaker
    np.maximum.at(closest, labels, similarity[novel])
    # the segmentation model heard a member beside another local speaker that surely is the speaker
    # the member is nearest to: the member cannot be that speaker either
    separated = np.zeros(heard.size, dtype=bool)
    for group, member in zip(labels.tolist(), novel.tolist()):
        beside = np.flatnonzero((windows == windows[member]) & (np.arange(len(windows)) != member))
        separated[group] |= bool((to_centroids[beside, nearest[member]] >= settings.min_same).any())
    added = [normalize(local[novel[labels == group]].mean(axis=0)) for group in np.argsort(-heard)
             if group > 0 and ((heard[group] * FRAME_STEP >= settings.min_clean and (labels == group).sum() >= 2)
                               or closest[group] < settings.max_lone_novel or separated[group])]
    room = int(min(max_speakers, centroids.shape[0] + len(added))) - centroids.shape[0]
    return np.concatenate([centroids, np.array(added[:room]).reshape(-1, centroids.shape[1])]).astype(np.float32)


def _nearest(embeddings: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each (normalized) embedding's most similar centroid (none for no embeddings)."""
    if embeddings.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.argmax(embeddings @ centroids.T, axis=1)


def _split_lone_tracks(centroids: np.ndarray, tracks: np.ndarray, embeddings: np.ndarray,
                       pieces: list[tuple[int, int]], settings: OfflineSettings, max_speakers: float) -> np.ndarray:
    """``centroids``, each speaker known from a single local track replaced by two or more when the
    clean pieces nearest to it fall into groups unlike each other (average similarity below
    ``max_novel``), each heard for ``min_split_speaker`` seconds: the segmentation model reuses
    a local speaker for people who do not overlap, and with one track there is nothing else
    to tell them apart (a short recording, one window)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    nearest = _nearest(embeddings, centroids)
    kept: list[np.ndarray] = []
    for speaker in range(centroids.shape[0]):
        rows = np.flatnonzero(nearest == speaker)
        room = max_speakers - (len(kept) + centroids.shape[0] - speaker)
        if tracks[speaker] > 1 or rows.size < 2 or room < 1:
            kept.append(centroids[speaker])
            continue
        groups = fcluster(linkage(embeddings[rows], method="average", metric="cosine"), 1 - settings.max_novel,
                          criterion="distance")
        heard = [_covered([pieces[row] for row in rows[groups == group]]) * FRAME_STEP
                 for group in range(1, groups.max() + 1)]
        large = [group + 1 for group in np.argsort(heard)[::-1] if heard[group] >= settings.min_split_speaker]
        if len(large) < 2:
            kept.append(centroids[speaker])
            continue
        chosen = large[: int(min(room, len(large) - 1)) + 1]  # the speaker itself and at most `room` more
        kept += [normalize(embeddings[rows[groups == group]].mean(axis=0)) for group in chosen]
    return np.array(kept, dtype=np.float32).reshape(-1, centroids.shape[1])


def _covered(ranges: list[tuple[int, int]]) -> int:
    """How many frames the ``[start, stop)`` ranges cover together."""
    covered: set[int] = set()
    for first, stop in ranges:
        covered.update(range(first, stop))
    return len(covered)


def _assign(similarity: np.ndarray, owners: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Each embedded local speaker's speaker: per window, the assignment of its local speakers to
    distinct speakers with the greatest total similarity (pyannote's constrained assignment)."""
    from scipy.optimize import linear_sum_assignment

    assigned: dict[tuple[int, int], int] = {}
    rows_of: dict[int, list[int]] = {}
    for row, (window, _) in enumerate(owners):
        rows_of.setdefault(window, []).append(row)
    for rows in rows_of.values():
        chosen, speakers = linear_sum_assignment(similarity[rows], maximize=True)
        for index, speaker in zip(chosen.tolist(), speakers.tolist()):
            assigned[owners[rows[index]]] = speaker
        for index in set(range(len(rows))) - set(chosen.tolist()):  # more local speakers than speakers
            assigned[owners[rows[index]]] = int(np.argmax(similarity[rows[index]]))
    return assigned


def _pieces(clean: np.ndarray, settings: OfflineSettings) -> list[tuple[int, int]]:
    """Frame ranges ``[start, stop)`` to embed: ``piece`` long every ``hop`` inside each clean region."""
    return cut_pieces(clean, frames_for(settings.piece), frames_for(settings.hop), frames_for(settings.min_piece))
