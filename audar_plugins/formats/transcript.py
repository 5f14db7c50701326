"""Writers for speaker-attributed transcripts, and :func:`render`, which picks one by name.

``json``           the model card's shape: ``{"segments": [{"speaker", "start", "end", "text"}]}``
``diarized_json``  OpenAI's ``TranscriptionDiarized`` (known speakers by name, the others "A", "B", ...
                   by first appearance)
``srt``, ``vtt``   subtitles (:mod:`.subtitles`); WebVTT names the speaker with a voice tag ``<v speaker_0>``
``text``           one line per turn: ``speaker_0: ...``
``rttm``           the turns as RTTM
"""

from __future__ import annotations

import json
import string
from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING

from ..errors import FormatError
from . import diarization
from .subtitles import to_srt, to_vtt

if TYPE_CHECKING:
    from pyannote.core import Annotation

    from ..alignment.transcript import Transcript
    from ..alignment.turns import Turn

__all__ = [
    "TRANSCRIPT_FORMATS",
    "render",
    "next_letter",
    "speaker_letters",
    "speaker_matches_json",
    "to_annotation",
    "to_diarized_json",
    "to_json",
    "to_rttm",
    "to_text",
]

TRANSCRIPT_FORMATS = ("json", "diarized_json", "srt", "vtt", "text", "rttm")


def render(transcript: Transcript, format: str, uri: str = "audio") -> str:
    """``transcript`` in one of :data:`TRANSCRIPT_FORMATS`; ``uri`` names the file in RTTM."""
    writers = {"json": to_json, "diarized_json": to_diarized_json, "srt": to_srt, "vtt": to_vtt, "text": to_text}
    if format == "rttm":
        return to_rttm(transcript, uri)
    if format not in writers:
        raise FormatError(f"unknown transcript format {format!r}; choose from {', '.join(TRANSCRIPT_FORMATS)}")
    return writers[format](transcript)


def _timed(turns: Iterable[Turn]) -> Iterator[tuple[Turn, float, float]]:
    """The turns that have times, each with its start and end."""
    for turn in turns:
        if turn.start is not None and turn.end is not None:
            yield turn, turn.start, turn.end


def to_json(transcript: Transcript, indent: int | None = 2) -> str:
    """The model card's segments, one per timed turn, with the language and duration."""
    segments = [
        {"speaker": turn.speaker, "start": round(start, 3), "end": round(end, 3), "text": turn.text}
        for turn, start, end in _timed(transcript.turns)
    ]
    body: dict = {"segments": segments, "language": transcript.language, "duration": transcript.duration}
    if transcript.speaker_matches:
        body["speakers"] = speaker_matches_json(transcript.speaker_matches)
    return json.dumps(body, indent=indent, ensure_ascii=False) + "\n"


def speaker_matches_json(matches) -> list[dict]:
    """Known-speaker naming as JSON: per speaker, its label, the backend's label, the name and score."""
    return [{"label": match.label, "speaker": match.speaker, "name": match.name,
             "score": None if match.score is None else round(match.score, 3)} for match in matches]


def speaker_letters(transcript: Transcript) -> dict[str, str]:
    """OpenAI's speaker names: a known speaker's name, else "A", "B", ... in order of first
    appearance among the others ("AA" after "Z")."""
    named = {match.name for match in transcript.speaker_matches if match.name is not None}
    names: dict[str, str] = {}
    for speaker in transcript.speakers:
        names[speaker] = speaker if speaker in named else next_letter(names.values(), named)
    return names


def next_letter(given: Iterable[str], known: Collection[str] = ()) -> str:
    """The first of OpenAI's speaker names ("A", "B", ...) neither ``given`` nor a known speaker's name."""
    taken = {*given, *known}
    index = 0
    while letter_name(index) in taken:
        index += 1
    return letter_name(index)


def letter_name(index: int) -> str:
    """The ``index``-th of OpenAI's speaker names: "A" ... "Z", "AA", "AB", ..."""
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def to_diarized_json(transcript: Transcript) -> str:
    """OpenAI's ``TranscriptionDiarized``: one ``transcript.text.segment`` per timed turn."""
    names = speaker_letters(transcript)
    segments = [
        {"type": "transcript.text.segment", "id": f"seg_{index}", "start": round(start, 3),
         "end": round(end, 3), "speaker": names.get(turn.speaker or "", "unknown"), "text": turn.text}
        for index, (turn, start, end) in enumerate(_timed(transcript.turns))
    ]
    body = {"task": "transcribe", "duration": transcript.duration, "text": transcript.text, "segments": segments,
            "usage": {"type": "duration", "seconds": transcript.duration}}
    return json.dumps(body, ensure_ascii=False) + "\n"


def to_text(transcript: Transcript) -> str:
    """One line per turn: ``speaker_0: text`` (``unknown`` for a turn without a speaker)."""
    return "".join(f"{turn.speaker or 'unknown'}: {turn.text}\n" for turn in transcript.turns)


def to_annotation(transcript: Transcript, uri: str = "audio") -> Annotation:
    """The timed turns with a speaker, as a pyannote.core ``Annotation`` named ``safe_uri(uri)``."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=diarization.safe_uri(uri))
    for index, (turn, start, end) in enumerate(_timed(transcript.turns)):
        if turn.speaker is not None and end > start:
            annotation[Segment(start, end), index] = turn.speaker
    return annotation


def to_rttm(transcript: Transcript, uri: str = "audio") -> str:
    """The turns as RTTM lines for the file ``uri``."""
    return diarization.to_rttm(to_annotation(transcript, uri))
