"""One transcription request on the shared models: diarize (when asked), then decode segment by segment.

Runs on a worker thread. :meth:`Transcription.decoded` yields the recognizer's segments as they
are decoded (the streaming route turns them into events); :meth:`Transcription.result` decodes
whatever is left and gives the words, the text and, with diarization, the speaker-attributed
:class:`~audar_plugins.alignment.transcript.Transcript`, built exactly as
:func:`audar_plugins.transcribe` builds it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activity import SpeakerActivity
from ..alignment.transcript import Transcript, build_transcript
from ..alignment.turns import join_words
from ..alignment.words import Word
from ..audio import SAMPLE_RATE
from ..backends.base import Backend
from ..speakers import NamingBackend, SpeakerMatch
from ..transcription import RecognizedSegment, Recognizer
from .errors import APIError
from .forms import TranscriptionRequest
from .settings import ASR_GRACE_SECONDS

__all__ = ["Transcription", "TranscriptionResult", "within_time"]


def within_time(segments: Iterable[Any], audio_seconds: float, factor: float,
                clock: Callable[[], float] = time.monotonic) -> Iterator[Any]:
    """``segments`` as faster-whisper decodes them, until decoding has taken longer than
    ``factor`` x ``audio_seconds`` + :data:`ASR_GRACE_SECONDS`: then a 400 ``transcription_too_slow``."""
    allowed = factor * audio_seconds + ASR_GRACE_SECONDS
    started = clock()
    for segment in segments:
        if clock() - started > allowed:
            raise APIError(f"decoding took over {allowed:.0f} s for {audio_seconds:.1f} s of audio, this server's "
                           "limit: shorten the audio, or drop a repetitive prompt (it makes whisper decode each "
                           "window again at every fallback temperature)", 400, code="transcription_too_slow")
        yield segment


@dataclass(frozen=True)
class TranscriptionResult:
    """Everything a response format needs. ``transcript`` is ``None`` without diarization."""

    segments: tuple[RecognizedSegment, ...]
    words: tuple[Word, ...]
    duration: float
    language: str | None
    transcript: Transcript | None

    @property
    def text(self) -> str:
        return self.transcript.text if self.transcript is not None else join_words(word.text for word in self.words)


class Transcription:
    """The recognizer (and the backend, when the request diarizes) over one waveform.

    Attributes
    ----------
    activity
        The backend's speaker activity over the whole waveform, ``None`` without diarization.
    segments, words
        What has been decoded so far.
    """

    def __init__(self, recognizer: Recognizer, backend: Backend, waveform: np.ndarray,
                 request: TranscriptionRequest, time_factor: float = math.inf,
                 naming: NamingBackend | None = None) -> None:
        self.request = request
        self.duration = waveform.shape[0] / SAMPLE_RATE
        self.activity: SpeakerActivity | None = (
            backend.diarize(waveform, request.speakers) if request.diarize else None
        )
        self.speaker_matches: tuple[SpeakerMatch, ...] = ()
        if self.activity is not None and naming is not None:
            named = naming.name_activity(waveform, self.activity)
            self.activity, self.speaker_matches = named.activity, named.matches
        try:
            recognition = recognizer.recognize(waveform, request.language, **request.recognizer_options())
        except ValueError as error:
            if request.language is None:
                raise
            # faster-whisper's answer to a language code its tokenizer lacks
            raise APIError(f"'language' {request.language!r} is not a language the ASR model knows", 400,
                           "language", "invalid_value") from error
        self.language: str | None = recognition.language
        self._pending = within_time(recognition.segments, self.duration, time_factor)
        self.segments: list[RecognizedSegment] = []
        self.words: list[Word] = []

    def decoded(self) -> Iterator[RecognizedSegment]:
        """Decode the remaining segments one at a time, yielding each (decoding happens while iterating)."""
        for segment in self._pending:
            self.segments.append(segment)
            self.words.extend(segment.words)
            yield segment

    def result(self) -> TranscriptionResult:
        """Decode what is left and assemble the result."""
        for _ in self.decoded():
            pass
        transcript = None
        if self.activity is not None:
            transcript = dataclasses.replace(build_transcript(self.words, self.activity, self.duration, self.language),
                                             speaker_matches=self.speaker_matches)
        return TranscriptionResult(tuple(self.segments), tuple(self.words), self.duration, self.language, transcript)
