"""Response bodies of the transcription route, one per ``response_format``.

With diarization, ``json``, ``diarized_json``, ``srt``, ``vtt``, ``text`` and ``rttm`` are the
writers of :mod:`audar_plugins.transcript_formats` (``json`` gains OpenAI's ``text`` and
``usage``); ``verbose_json`` is OpenAI's ``TranscriptionVerbose`` with each word's speaker.
Without, they are OpenAI's plain whisper-1 answers: ``{"text"}``, the text, and subtitles
cut at faster-whisper's segments.
"""

from __future__ import annotations

import json
from typing import Any

from ..transcript_formats import _clock, _escape, render  # the subtitle clock and escaping of our own writers
from .transcription import TranscriptionResult

__all__ = ["MEDIA_TYPES", "transcription_body"]

MEDIA_TYPES = {"json": "application/json", "verbose_json": "application/json", "diarized_json": "application/json",
               "text": "text/plain; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
               "vtt": "text/vtt; charset=utf-8", "rttm": "text/plain; charset=utf-8"}


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def usage(result: TranscriptionResult) -> dict[str, Any]:
    return {"type": "duration", "seconds": result.duration}


def transcription_body(result: TranscriptionResult, response_format: str, granularities=("segment",),
                       uri: str = "audio") -> str:
    """``result`` as the body of ``response_format``."""
    if response_format == "verbose_json":
        return _dumps(verbose_json(result, granularities))
    transcript = result.transcript
    if transcript is None:
        if response_format == "json":
            return _dumps({"text": result.text, "usage": usage(result)})
        if response_format == "text":
            return result.text + "\n"
        return plain_subtitles(result, response_format)
    if response_format == "json":
        body = json.loads(render(transcript, "json"))
        return _dumps({"text": result.text, **body, "usage": usage(result)})
    return render(transcript, response_format, uri=uri)


def verbose_json(result: TranscriptionResult, granularities=("segment",)) -> dict[str, Any]:
    """OpenAI's ``TranscriptionVerbose`` from faster-whisper's segments and words."""
    body: dict[str, Any] = {"task": "transcribe", "language": result.language, "duration": result.duration,
                            "text": result.text}
    if "segment" in granularities:
        body["segments"] = [
            {"id": index, "seek": segment.seek, "start": segment.start, "end": segment.end, "text": segment.text,
             "tokens": list(segment.tokens), "temperature": segment.temperature,
             "avg_logprob": segment.avg_logprob, "compression_ratio": segment.compression_ratio,
             "no_speech_prob": segment.no_speech_prob}
            for index, segment in enumerate(result.segments)
        ]
    if "word" in granularities:
        words = result.transcript.words if result.transcript is not None else result.words
        body["words"] = [
            {"word": word.text.strip(), "start": word.start, "end": word.end,
             **({"speaker": word.speaker} if result.transcript is not None else {})}
            for word in words
        ]
    body["usage"] = usage(result)
    return body


def plain_subtitles(result: TranscriptionResult, response_format: str) -> str:
    """SRT or WebVTT with one cue per faster-whisper segment, as whisper-1 answers."""
    cues = [(segment.start, segment.end, segment.text.strip()) for segment in result.segments if segment.text.strip()]
    if response_format == "srt":
        return "\n".join(f"{index}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{text}\n"
                         for index, (start, end, text) in enumerate(cues, start=1))
    return "\n".join(["WEBVTT\n"] + [f"{_clock(start, '.')} --> {_clock(end, '.')}\n{_escape(text)}\n"
                                     for start, end, text in cues])
