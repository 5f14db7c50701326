"""Enrolment: reference clips of one person -> a :class:`~.voiceprint.Voiceprint`.

Each clip must be at most :data:`MAX_CLIP_SECONDS` long and hold at least
:data:`MIN_CLIP_SPEECH` seconds of speech (Silero VAD) of a single voice: the CPU default's
offline diarizer runs on it, and two speakers who each speak alone for
:data:`MIN_OTHER_VOICE` seconds and sound unalike (cosine below :data:`MAX_SAME_VOICE`) make
it refused. The voiceprint is the mean of the clips' unit embeddings (each clip embedded on
its speech as :meth:`~.encoder.VoiceEncoder.embed` does), made unit again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

from ..audio import SAMPLE_RATE, AudioInput, load_audio
from ..errors import AudarError, AudioTooLongError, InvalidOptionError, VoiceprintError
from .encoder import VoiceEncoder, shared_encoder
from .voiceprint import Voiceprint

__all__ = ["MAX_CLIP_SECONDS", "MIN_CLIP_SPEECH", "check_name", "clip_label", "enroll"]

MAX_CLIP_SECONDS = 30.0
MIN_CLIP_SPEECH = 1.0
MIN_OTHER_VOICE = 1.0
MAX_SAME_VOICE = 0.3
MAX_NAME_LENGTH = 64
_RESERVED = re.compile(r"speaker_\d+")


def check_name(name: object) -> str:
    """``name`` if it can name a speaker: a non-empty string of at most 64 characters, not of
    the ``speaker_N`` form unnamed speakers keep; else :class:`InvalidOptionError`."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidOptionError(f"a speaker name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidOptionError(f"speaker name {name[:20]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if _RESERVED.fullmatch(name):
        raise InvalidOptionError(f"{name!r} cannot name a known speaker: speaker_N is what unnamed speakers are called")
    return name


def clip_label(clip: AudioInput, index: int) -> str:
    """How errors name a clip: its file name, else its position."""
    if isinstance(clip, (str, os.PathLike)):
        return os.path.basename(os.fspath(clip)) or os.fspath(clip)
    return f"reference clip {index + 1}"


def enroll(name: str, clips: AudioInput | Sequence[AudioInput], encoder: VoiceEncoder | None = None,
           labels: Sequence[str] | None = None) -> Voiceprint:
    """The voiceprint of ``name`` from one or more reference ``clips`` (anything
    :func:`~audar_plugins.audio.load_audio` reads); ``labels`` name the clips in errors.

    Raises :class:`VoiceprintError`, naming the clip, for a clip that cannot be decoded, is
    longer than 30 s, holds less than 1 s of speech, or holds more than one voice."""
    check_name(name)
    if isinstance(clips, (str, os.PathLike, bytes, np.ndarray)) or not isinstance(clips, Sequence):
        clips = [clips]
    if len(clips) == 0:
        raise VoiceprintError(f"no reference clip for {name!r}")
    encoder = encoder or shared_encoder()
    embeddings, speech = [], 0.0
    for index, clip in enumerate(clips):
        label = labels[index] if labels is not None else clip_label(clip, index)
        embedding, seconds = _embed_clip(clip, label, encoder)
        embeddings.append(embedding)
        speech += seconds
    voice = np.mean(embeddings, axis=0)
    return Voiceprint(name, voice, encoder.identity, len(clips), speech)


def _embed_clip(clip: AudioInput, label: str, encoder: VoiceEncoder) -> tuple[np.ndarray, float]:
    try:
        waveform = load_audio(clip, max_seconds=MAX_CLIP_SECONDS)
    except AudioTooLongError:
        raise VoiceprintError(f"{label} is longer than {MAX_CLIP_SECONDS:g} s: "
                              "a reference clip should be 2-30 s of the speaker alone") from None
    except AudarError as error:
        raise VoiceprintError(f"{label} cannot be read as audio: {error}") from None
    spans = encoder.speech_spans(waveform)
    seconds = sum(stop - start for start, stop in spans) / SAMPLE_RATE
    if seconds == 0:
        raise VoiceprintError(f"{label} is silent: no speech to enrol")
    if seconds < MIN_CLIP_SPEECH:
        raise VoiceprintError(f"{label} holds {seconds:.1f} s of speech; a reference clip needs at least "
                              f"{MIN_CLIP_SPEECH:g} s")
    if _several_voices(waveform, encoder):
        raise VoiceprintError(f"{label} holds more than one voice: a reference clip should hold the speaker alone")
    embedding, used = encoder.embed(waveform, spans, max_speech=MAX_CLIP_SECONDS)
    if embedding is None:
        raise VoiceprintError(f"{label} holds no stretch of speech long enough to embed")
    return embedding, used


def _several_voices(waveform: np.ndarray, encoder: VoiceEncoder) -> bool:
    """Whether the CPU default hears two unalike speakers, each alone for a while, in ``waveform``."""
    from ..backends.embedded.offline import diarize_offline

    activity = diarize_offline(waveform, encoder.models)
    if activity.num_speakers < 2 or activity.embeddings is None:
        return False
    active = activity.probabilities > 0.5
    alone = (active & (active.sum(axis=1, keepdims=True) == 1)).sum(axis=0) * activity.frame_duration
    heard = np.flatnonzero(alone >= MIN_OTHER_VOICE)
    if heard.size < 2:
        return False
    voices = activity.embeddings[heard]
    voices = voices / np.maximum(np.linalg.norm(voices, axis=1, keepdims=True), 1e-12)
    similarity = voices @ voices.T
    return bool((similarity[np.triu_indices(heard.size, 1)] < MAX_SAME_VOICE).any())
