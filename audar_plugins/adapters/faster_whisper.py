"""faster-whisper words + a diarization backend -> a speaker-attributed transcript.

    from faster_whisper import WhisperModel
    from audar_plugins.adapters.faster_whisper import transcribe

    transcript = transcribe("meeting.wav", WhisperModel("tiny.en", compute_type="int8"), backend="embedded")
    for turn in transcript.turns:
        print(turn.speaker, turn.start, turn.end, turn.text)

Already have segments? ``transcript_from_segments(segments, activity, duration)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..alignment.transcript import Transcript, build_transcript
from ..alignment.turns import TurnOptions
from ..alignment.words import Word
from ..audio import SAMPLE_RATE, AudioInput, load_audio
from ..backends.base import Backend, SpeakerCount
from ..errors import MissingDependencyError
from ..registry import DEFAULT_BACKEND, load_backend

__all__ = ["load_whisper", "transcribe", "transcript_from_segments", "words_from_segments"]

Progress = Callable[[str, float, float], None]
"""Called as ``progress(stage, done, total)``: stage ``"diarization"`` or ``"transcription"``, seconds."""


def load_whisper(model: str, device: str = "cpu", compute_type: str = "int8", **options: Any):
    """A ``faster_whisper.WhisperModel`` from a model name or a local CTranslate2 directory."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as error:
        raise MissingDependencyError("faster-whisper", "asr", "transcription") from error
    return WhisperModel(model, device=device, compute_type=compute_type, **options)


def words_from_segments(segments: Iterable) -> list[Word]:
    """faster-whisper segments as words; a segment without word timestamps is one long word."""
    words: list[Word] = []
    for segment in segments:
        if segment.words:
            words.extend(Word(word.word, word.start, word.end, word.probability) for word in segment.words)
        elif segment.text.strip():
            words.append(Word(segment.text, segment.start, segment.end))
    return words


def transcript_from_segments(
    segments: Iterable,
    diarization,
    duration: float,
    language: str | None = None,
    options: TurnOptions | None = TurnOptions(),
) -> Transcript:
    """A transcript from faster-whisper segments and a diarization (activity, Annotation or DataFrame)."""
    return build_transcript(words_from_segments(segments), diarization, duration, language, options)


def transcribe(
    audio: AudioInput,
    model,
    backend: str | Backend = DEFAULT_BACKEND,
    speakers: SpeakerCount = SpeakerCount(),
    language: str | None = None,
    options: TurnOptions | None = TurnOptions(),
    progress: Progress | None = None,
    **transcribe_options: Any,
) -> Transcript:
    """Diarize and transcribe ``audio``; every word gets a speaker.

    ``model`` is a ``faster_whisper.WhisperModel`` or a name/directory for :func:`load_whisper`.
    ``transcribe_options`` go to ``WhisperModel.transcribe`` (``word_timestamps`` is always on).
    """
    if isinstance(model, str):
        model = load_whisper(model)
    if isinstance(backend, str):
        backend = load_backend(backend)
    waveform = load_audio(audio)
    duration = waveform.shape[0] / SAMPLE_RATE

    def diarization_progress(done: float, total: float) -> None:
        if progress is not None:
            progress("diarization", done, total)

    activity = backend.diarize(waveform, speakers, diarization_progress)
    transcribe_options["word_timestamps"] = True
    segments, info = model.transcribe(waveform, language=language, **transcribe_options)
    collected = []
    for segment in segments:  # decoding happens while iterating
        collected.append(segment)
        if progress is not None:
            progress("transcription", min(segment.end, duration), duration)
    if progress is not None:
        progress("transcription", duration, duration)
    return transcript_from_segments(collected, activity, duration, info.language, options)
