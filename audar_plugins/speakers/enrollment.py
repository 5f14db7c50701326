"""Enrolment: reference clips of one person -> a :class:`~.voiceprint.Voiceprint`.

Each clip must be at most :data:`MAX_CLIP_SECONDS` long and hold at least
:data:`MIN_CLIP_SPEECH` seconds of speech (Silero VAD) of a single voice: its speech is cut in
1 s pieces, and two groups of pieces (2 s or more each) whose voices are unalike (cosine
below :data:`MAX_SAME_VOICE`) make it refused. Measured on ../shared/data: every clip of
5 s of one reader then 5 s of another is refused (20 of 20), none of the 52 single-speaker
recordings is; with 3 s of each, 4 of 20 are (VAD leaves under 2 s of one voice).

The voiceprint is the mean of the clips' unit embeddings (each clip embedded on its speech
as :meth:`~.encoder.VoiceEncoder.embed` does), made unit again.
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
PIECE_SECONDS = 1.0
MIN_OTHER_PIECES = 2
MAX_SAME_VOICE = 0.4
MAX_NAME_LENGTH = 64
_RESERVED = re.compile(r"speaker_\d+")


def check_name(name: object) -> str:
    """``name`` if it can name a speaker: a non-empty string of at most 64 characters without
    whitespace, not of the ``speaker_N`` form unnamed speakers keep; else :class:`InvalidOptionError`."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidOptionError(f"a speaker name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidOptionError(f"speaker name {name[:20]!r}... is longer than {MAX_NAME_LENGTH} characters")
    if any(character.isspace() for character in name):
        raise InvalidOptionError(f"speaker name {name!r} has whitespace, which RTTM cannot hold: write it as "
                                 f"{'_'.join(name.split())!r}")
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
    if _several_voices(waveform, spans, encoder):
        raise VoiceprintError(f"{label} holds more than one voice: a reference clip should hold the speaker alone")
    embedding, used = encoder.embed(waveform, spans, max_speech=MAX_CLIP_SECONDS)
    if embedding is None:
        raise VoiceprintError(f"{label} holds no stretch of speech long enough to embed")
    return embedding, used


def _several_voices(waveform: np.ndarray, spans: list[tuple[int, int]], encoder: VoiceEncoder) -> bool:
    """Whether the clip's speech, cut in pieces of :data:`PIECE_SECONDS`, falls in two groups of at
    least :data:`MIN_OTHER_PIECES` pieces each whose mean voices are unalike (cosine below
    :data:`MAX_SAME_VOICE`)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    from ..backends.embedded.fbank import fbank, normalized
    from ..backends.embedded.speaker_clusters import normalize

    frames = np.concatenate([fbank(waveform[start:stop]) for start, stop in spans])
    size = int(PIECE_SECONDS * 100)
    pieces = [normalized(frames[first : first + size]) for first in range(0, frames.shape[0] - size + 1, size)]
    if len(pieces) < 2 * MIN_OTHER_PIECES:
        return False
    voices = normalize(encoder.models.encoder.embed(pieces))
    groups = fcluster(linkage(voices, method="average", metric="cosine"), 2, criterion="maxclust")
    if np.bincount(groups, minlength=3)[1:].min() < MIN_OTHER_PIECES:
        return False
    first, second = (normalize(voices[groups == group].mean(axis=0)) for group in (1, 2))
    return float(first @ second) < MAX_SAME_VOICE
