"""Writers for speaker-attributed transcripts.

``json``           the model card's shape: ``{"segments": [{"speaker", "start", "end", "text"}]}``
``diarized_json``  OpenAI's ``TranscriptionDiarized`` (speakers "A", "B", ... by first appearance)
``srt``, ``vtt``   subtitles; WebVTT names the speaker with a voice tag ``<v speaker_0>``
``text``           one line per turn: ``speaker_0: ...``
``rttm``           the turns as RTTM
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator

from pyannote.core import Annotation, Segment

from .alignment.transcript import Transcript
from .alignment.turns import Turn, join_words
from .errors import FormatError
from .formats import safe_uri, to_rttm

__all__ = ["TRANSCRIPT_FORMATS", "cues", "render", "to_diarized_json", "to_json", "to_srt", "to_text", "to_vtt"]

TRANSCRIPT_FORMATS = ("json", "diarized_json", "srt", "vtt", "text", "rttm")
MAX_CUE_SECONDS = 7.0
"""Subtitle cues longer than this are cut at a word boundary (a turn may span minutes)."""


def render(transcript: Transcript, format: str, uri: str = "audio") -> str:
    """``transcript`` in one of :data:`TRANSCRIPT_FORMATS`."""
    writers = {"json": to_json, "diarized_json": to_diarized_json, "srt": to_srt, "vtt": to_vtt, "text": to_text}
    if format == "rttm":
        return to_rttm(_annotation(transcript, uri))
    if format not in writers:
        raise FormatError(f"unknown transcript format {format!r}; choose from {', '.join(TRANSCRIPT_FORMATS)}")
    return writers[format](transcript)


def _timed(turns) -> Iterator[Turn]:
    return (turn for turn in turns if turn.start is not None and turn.end is not None)


def to_json(transcript: Transcript, indent: int | None = 2) -> str:
    segments = [
        {"speaker": turn.speaker, "start": round(turn.start, 3), "end": round(turn.end, 3), "text": turn.text}
        for turn in _timed(transcript.turns)
    ]
    return json.dumps({"segments": segments, "language": transcript.language, "duration": transcript.duration},
                      indent=indent, ensure_ascii=False) + "\n"


def speaker_letters(transcript: Transcript) -> dict[str, str]:
    """OpenAI's speaker names: "A", "B", ... in order of first appearance ("AA" after "Z")."""
    letters = string.ascii_uppercase
    names = {}
    for index, speaker in enumerate(transcript.speakers):
        names[speaker] = letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]
    return names


def to_diarized_json(transcript: Transcript) -> str:
    names = speaker_letters(transcript)
    segments = [
        {"type": "transcript.text.segment", "id": f"seg_{index}", "start": round(turn.start, 3),
         "end": round(turn.end, 3), "speaker": names.get(turn.speaker, "unknown"), "text": turn.text}
        for index, turn in enumerate(_timed(transcript.turns))
    ]
    body = {"task": "transcribe", "duration": transcript.duration, "text": transcript.text, "segments": segments,
            "usage": {"type": "duration", "seconds": transcript.duration}}
    return json.dumps(body, ensure_ascii=False) + "\n"


def cues(transcript: Transcript, max_seconds: float = MAX_CUE_SECONDS) -> Iterator[tuple[float, float, str, str]]:
    """``(start, end, speaker, text)`` subtitle cues: turns, cut at word boundaries past ``max_seconds``."""
    for turn in _timed(transcript.turns):
        piece: list = []
        for word in turn.words:
            if piece and word.end is not None and piece[0].start is not None and word.end - piece[0].start > max_seconds:
                yield _cue(piece, turn.speaker)
                piece = []
            piece.append(word)
        if piece:
            yield _cue(piece, turn.speaker)


def _cue(words, speaker) -> tuple[float, float, str, str]:
    starts = [word.start for word in words if word.start is not None]
    ends = [word.end for word in words if word.end is not None]
    return min(starts), max(ends), speaker or "unknown", join_words(word.text for word in words)


def _clock(seconds: float, separator: str) -> str:
    milliseconds = max(0, round(seconds * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def to_srt(transcript: Transcript) -> str:
    blocks = [
        f"{index}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{speaker}: {text}\n"
        for index, (start, end, speaker, text) in enumerate(cues(transcript), start=1)
    ]
    return "\n".join(blocks)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"] + [
        f"{_clock(start, '.')} --> {_clock(end, '.')}\n<v {_escape(speaker)}>{_escape(text)}</v>\n"
        for start, end, speaker, text in cues(transcript)
    ]
    return "\n".join(blocks)


def to_text(transcript: Transcript) -> str:
    return "".join(f"{turn.speaker or 'unknown'}: {turn.text}\n" for turn in transcript.turns)


def _annotation(transcript: Transcript, uri: str) -> Annotation:
    annotation = Annotation(uri=safe_uri(uri))
    for index, turn in enumerate(_timed(transcript.turns)):
        if turn.speaker is not None and turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation
