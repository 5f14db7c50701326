"""What both Sortformer runtimes (NeMo, ONNX) share around the model: the chunk schedule of a
live session, offline diarization through one, and the speaker-count bound. No torch here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping

import numpy as np

from ...activity import SpeakerActivity
from ...audio import SAMPLE_RATE
from ...errors import InvalidOptionError
from ..base import ProgressCallback, SpeakerCount
from .presets import StreamingConfig, resolve_preset

__all__ = ["check_speaker_count", "config_for", "diarize_through", "keep_first_speakers", "ready_chunks",
           "step_due"]

OFFLINE_BLOCK_SECONDS = 60.0


def config_for(preset: str | StreamingConfig | Mapping[str, int], num_speakers: int) -> StreamingConfig:
    """The checked settings of ``preset`` for a model of ``num_speakers`` (speaker cache sized for them)."""
    config = resolve_preset(dict(preset) if isinstance(preset, Mapping) else preset)
    return config.for_speakers(num_speakers)


def step_due(config: StreamingConfig, factor: int, next_chunk: int, available: int, final: bool) -> bool:
    """Whether a step can run, so the features are worth computing now (one front-end call for many pushes)."""
    return final or next_chunk + (config.chunk_len + config.chunk_right_context) * factor <= available


def ready_chunks(config: StreamingConfig, factor: int, next_chunk: int, available: int,
                 final: bool) -> Iterator[tuple[int, int, int, int]]:
    """NeMo's ``streaming_feat_loader`` as feature frames arrive: ``(start, end, left, right)`` of each
    chunk whose right context is complete (every remaining chunk when ``final``)."""
    chunk = config.chunk_len * factor
    right_context = config.chunk_right_context * factor
    left_context = config.chunk_left_context * factor
    start = next_chunk
    while start < available:
        end = min(start + chunk, available)
        right = min(right_context, available - end)
        if not final and (end - start < chunk or right < right_context):
            return
        yield start, end, min(left_context, start), right
        start = end


def diarize_through(session, waveform: np.ndarray, progress: ProgressCallback | None) -> SpeakerActivity:
    """A whole recording through a live session, in blocks, so memory stays bounded."""
    total = len(waveform) / SAMPLE_RATE
    block = int(OFFLINE_BLOCK_SECONDS * SAMPLE_RATE)
    blocks = []
    for start in range(0, len(waveform), block):
        blocks.append(session.push(waveform[start : start + block]))
        if progress is not None:
            progress(min(start + block, len(waveform)) / SAMPLE_RATE, total)
    blocks.append(session.flush())
    return SpeakerActivity.concatenate(blocks)


def check_speaker_count(speakers: SpeakerCount, num_speakers: int) -> None:
    """Sortformer finds its speakers itself: asking for more than the model tracks is an error."""
    low, _ = speakers.bounds
    if low > num_speakers:
        raise InvalidOptionError(f"this model tracks at most {num_speakers} speakers; {low} were asked for")


def keep_first_speakers(activity: SpeakerActivity, speakers: SpeakerCount) -> SpeakerActivity:
    """``num_speakers``/``max_speakers`` below the model's count keep the first speakers to arrive."""
    _, high = speakers.bounds
    if high >= activity.num_speakers:
        return activity
    probabilities = np.array(activity.probabilities)
    probabilities[:, int(high):] = 0.0
    return dataclasses.replace(activity, probabilities=probabilities)
