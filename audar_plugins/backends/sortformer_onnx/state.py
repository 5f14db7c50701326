"""Sortformer's speaker cache and FIFO between streaming steps, in NumPy (no torch).

A literal port of NeMo's ``SortformerModules.streaming_update`` (the synchronous update,
NeMo's default) with its helpers ``_get_silence_profile`` and ``_compress_spkcache``, for
one stream (batch size 1), in float32 as NeMo computes it. The speaker cache keeps, per
speaker in arrival order, the frames that best characterise them plus three slots of the
mean silence embedding; the FIFO keeps the most recent frames.

One deliberate difference: where NeMo's ``torch.topk`` meets exactly equal scores, which
of them it keeps is unspecified; here the earlier frame wins (a stable sort).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CacheSettings", "CacheState", "compress_cache", "silence_profile", "streaming_update"]


@dataclass(frozen=True)
class CacheSettings:
    """The update's sizes (80 ms frames) and NeMo's constants (``SortformerModules`` defaults)."""

    spkcache_len: int
    fifo_len: int
    update_period: int
    num_speakers: int
    silence_frames_per_speaker: int = 3
    pred_score_threshold: float = 0.25
    scores_boost_latest: float = 0.05
    silence_threshold: float = 0.2
    strong_boost_rate: float = 0.75
    weak_boost_rate: float = 1.5
    min_pos_scores_rate: float = 0.5


@dataclass
class CacheState:
    """What one stream carries from step to step."""

    dimension: int
    # None is only ever the default: __post_init__ replaces it with an empty array
    spkcache: np.ndarray = None  # type: ignore[assignment]  # (frames, dimension)
    spkcache_preds: np.ndarray | None = None  # (frames, speakers), from the first compression on
    fifo: np.ndarray = None  # type: ignore[assignment]
    mean_silence: np.ndarray = None  # type: ignore[assignment]  # (dimension,)
    silence_frames: int = 0

    def __post_init__(self) -> None:
        empty = np.zeros((0, self.dimension), dtype=np.float32)
        if self.spkcache is None:
            self.spkcache = empty
        if self.fifo is None:
            self.fifo = empty.copy()
        if self.mean_silence is None:
            self.mean_silence = np.zeros(self.dimension, dtype=np.float32)


def streaming_update(settings: CacheSettings, state: CacheState, chunk: np.ndarray, preds: np.ndarray,
                     left: int = 0, right: int = 0) -> np.ndarray:
    """Update ``state`` with one step; returns the chunk's own predictions ``(chunk frames, speakers)``.

    ``chunk`` is the step's ``(left + C + right, dimension)`` embeddings and ``preds`` the model's
    predictions over ``[spkcache | fifo | chunk]``.
    """
    cache_frames, fifo_frames = state.spkcache.shape[0], state.fifo.shape[0]
    length = chunk.shape[0] - left - right
    fifo_preds = preds[cache_frames : cache_frames + fifo_frames]
    start = cache_frames + fifo_frames + left
    chunk_preds = preds[start : start + length]
    fifo = np.concatenate([state.fifo, chunk[left : left + length]])
    fifo_preds = np.concatenate([fifo_preds, chunk_preds])
    if fifo_frames + length > settings.fifo_len:
        pop = max(settings.update_period, length - settings.fifo_len + fifo_frames)
        pop = min(pop, fifo_frames + length)
        popped, popped_preds = fifo[:pop], fifo_preds[:pop]
        state.mean_silence, state.silence_frames = silence_profile(
            state.mean_silence, state.silence_frames, popped, popped_preds, settings.silence_threshold)
        fifo = fifo[pop:]
        state.spkcache = np.concatenate([state.spkcache, popped])
        if state.spkcache_preds is not None:
            state.spkcache_preds = np.concatenate([state.spkcache_preds, popped_preds])
        if state.spkcache.shape[0] > settings.spkcache_len:
            if state.spkcache_preds is None:  # the first compression scores the cache with this step's preds
                state.spkcache_preds = np.concatenate([preds[:cache_frames], popped_preds])
            state.spkcache, state.spkcache_preds = compress_cache(
                settings, state.spkcache, state.spkcache_preds, state.mean_silence)
    state.fifo = fifo
    return chunk_preds


def silence_profile(mean: np.ndarray, count: int, embeddings: np.ndarray, preds: np.ndarray,
                    threshold: float) -> tuple[np.ndarray, int]:
    """The running mean embedding of frames where no speaker's probabilities add up to ``threshold``."""
    silent = preds.sum(axis=1, dtype=np.float32) < np.float32(threshold)
    new = int(silent.sum())
    if new == 0:
        return mean, count
    total = mean * np.float32(count) + (embeddings * silent[:, np.newaxis].astype(np.float32)).sum(axis=0)
    return (total / np.float32(max(count + new, 1))).astype(np.float32), count + new


def compress_cache(settings: CacheSettings, embeddings: np.ndarray, preds: np.ndarray,
                   mean_silence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep ``spkcache_len`` frames: per speaker, its most characteristic ones, then silence slots."""
    frames, speakers = preds.shape
    per_speaker = settings.spkcache_len // speakers - settings.silence_frames_per_speaker
    strong = math.floor(per_speaker * settings.strong_boost_rate)
    weak = math.floor(per_speaker * settings.weak_boost_rate)
    min_positive = math.floor(per_speaker * settings.min_pos_scores_rate)

    floor = np.float32(settings.pred_score_threshold)
    log_p = np.log(np.maximum(preds, floor))
    log_not_p = np.log(np.maximum(np.float32(1.0) - preds, floor))
    scores = log_p - log_not_p + log_not_p.sum(axis=1, keepdims=True) - np.float32(math.log(0.5))
    # only speech counts; where a speaker has enough frames of their own, only those
    speech = preds > 0.5
    scores = np.where(speech, scores, -np.inf).astype(np.float32)
    positive = scores > 0
    replace = ~positive & speech & (positive.sum(axis=0, keepdims=True) >= min_positive)
    scores[replace] = -np.inf
    if settings.scores_boost_latest > 0:
        scores[settings.spkcache_len :] += np.float32(settings.scores_boost_latest)
    for count, scale in ((strong, 2), (weak, 1)):
        if count > 0:
            chosen = _top(scores, count)
            columns = np.broadcast_to(np.arange(speakers), chosen.shape)
            scores[chosen, columns] -= np.float32(scale * math.log(0.5))
    slots = settings.silence_frames_per_speaker
    scores = np.concatenate([scores, np.full((slots, speakers), np.inf, dtype=np.float32)])
    flat = scores.T.reshape(-1)  # speaker-major: speaker s, frame t at s * (frames + slots) + t
    kept = np.argsort(-flat, kind="stable")[: settings.spkcache_len]
    disabled_fill = flat[kept] == -np.inf
    order = np.sort(np.where(disabled_fill, np.iinfo(np.int64).max, kept))
    disabled = order == np.iinfo(np.int64).max
    frame = np.where(disabled, 0, order % (frames + slots))
    disabled |= frame >= frames
    frame[disabled] = 0
    kept_embeddings = np.where(disabled[:, np.newaxis], mean_silence[np.newaxis], embeddings[frame])
    kept_preds = np.where(disabled[:, np.newaxis], np.float32(0.0), preds[frame])
    return kept_embeddings.astype(np.float32), kept_preds.astype(np.float32)


def _top(scores: np.ndarray, count: int) -> np.ndarray:
    """Row indices of each column's ``count`` largest scores, ``(count, speakers)`` (earlier frame on ties)."""
    return np.argsort(-scores, axis=0, kind="stable")[:count]
