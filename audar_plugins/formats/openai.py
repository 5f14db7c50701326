"""Response bodies of the OpenAI-compatible routes, one per ``response_format``.

Transcription (:func:`transcription_body`): with diarization, ``json``, ``diarized_json``,
``srt``, ``vtt``, ``text`` and ``rttm`` are the writers of :mod:`.transcript` (``json`` gains
OpenAI's ``text`` and ``usage``); ``verbose_json`` is OpenAI's ``TranscriptionVerbose`` with
each word's speaker. Without, they are OpenAI's plain whisper-1 answers: ``{"text"}``, the
text, and subtitles cut at faster-whisper's segments.

Diarization (:func:`diarization_body`): RTTM, or the model card's segments with the speakers,
the duration and OpenAI's ``usage``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .diarization import segments, to_rttm
from .subtitles import Cue, iter_srt, iter_vtt
from .transcript import render

if TYPE_CHECKING:
    from pyannote.core import Annotation

    from ..server.transcription import TranscriptionResult

__all__ = ["MEDIA_TYPES", "diarization_body", "plain_subtitles", "transcription_body", "usage", "verbose_json"]

MEDIA_TYPES = {"json": "application/json", "verbose_json": "application/json", "diarized_json": "application/json",
               "text": "text/plain; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
               "vtt": "text/vtt; charset=utf-8", "rttm": "text/plain; charset=utf-8"}
"""The ``Content-Type`` of each ``response_format``."""


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def usage(seconds: float) -> dict[str, Any]:
    """OpenAI's ``usage`` of a request billed by audio duration, in seconds."""
    return {"type": "duration", "seconds": seconds}


def transcription_body(result: TranscriptionResult, response_format: str, granularities: Sequence[str] = ("segment",),
                       uri: str = "audio") -> str:
    """``result`` as the body of ``response_format``; ``uri`` names the file in RTTM."""
    if response_format == "verbose_json":
        return _dumps(verbose_json(result, granularities))
    transcript = result.transcript
    if transcript is None:
        if response_format == "json":
            return _dumps({"text": result.text, "usage": usage(result.duration)})
        if response_format == "text":
            return result.text + "\n"
        return plain_subtitles(result, response_format)
    if response_format == "json":
        body = json.loads(render(transcript, "json"))
        return _dumps({"text": result.text, **body, "usage": usage(result.duration)})
    return render(transcript, response_format, uri=uri)


def verbose_json(result: TranscriptionResult, granularities: Sequence[str] = ("segment",)) -> dict[str, Any]:
    """OpenAI's ``TranscriptionVerbose`` from the recognizer's segments and words."""
    body: dict[str, Any] = {"task": "transcribe", "language": result.language, "duration": result.duration,
                            "text": result.text}
    if "segment" in granularities:
        body["segments"] = [_verbose_segment(index, segment) for index, segment in enumerate(result.segments)]
    if "word" in granularities:
        if result.transcript is not None:  # the same words, with their speakers
            body["words"] = [{"word": word.text.strip(), "start": word.start, "end": word.end, "speaker": word.speaker}
                             for word in result.transcript.words]
        else:
            body["words"] = [{"word": word.text.strip(), "start": word.start, "end": word.end} for word in result.words]
    body["usage"] = usage(result.duration)
    return body


def _verbose_segment(index: int, segment: Any) -> dict[str, Any]:
    """One ``TranscriptionSegment``: whisper's decoding figures where the recognizer is faster-whisper, else 0."""
    source = segment.source
    return {"id": index, "seek": getattr(source, "seek", 0), "start": segment.start, "end": segment.end,
            "text": segment.text, "tokens": list(getattr(source, "tokens", ())),
            "temperature": getattr(source, "temperature", 0.0), "avg_logprob": getattr(source, "avg_logprob", 0.0),
            "compression_ratio": getattr(source, "compression_ratio", 0.0),
            "no_speech_prob": getattr(source, "no_speech_prob", 0.0)}


def plain_subtitles(result: TranscriptionResult, response_format: str) -> str:
    """SRT (``"srt"``) or WebVTT (otherwise) with one cue per recognized segment, as whisper-1 answers."""
    cues = [Cue(segment.start, segment.end, segment.text.strip()) for segment in result.segments
            if segment.text.strip()]
    return "".join(iter_srt(cues) if response_format == "srt" else iter_vtt(cues))


def diarization_body(annotation: Annotation, duration: float, response_format: str) -> str:
    """The diarization route's answer: RTTM (``"rttm"``) or JSON (otherwise).

    The JSON is ``{"segments", "speakers", "duration", "usage"}``: the model card's segments,
    the speaker labels, and the audio's ``duration`` in seconds.
    """
    if response_format == "rttm":
        return to_rttm(annotation)
    return json.dumps({"segments": segments(annotation), "speakers": list(annotation.labels()),
                       "duration": duration, "usage": usage(duration)})
