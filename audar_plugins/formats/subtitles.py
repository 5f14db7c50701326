"""Subtitles: SRT and WebVTT, from one list of cues.

A :class:`Cue` is a timed piece of text, with its speaker when known. SRT puts the speaker
before the text (``speaker_0: ...``); WebVTT names it with a voice tag (``<v speaker_0>``).
:func:`cues` cuts a transcript's turns into cues; the server's plain whisper-1 answers build
theirs from faster-whisper's segments, and both are written by :func:`iter_srt` and
:func:`iter_vtt`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..alignment.turns import join_words

if TYPE_CHECKING:
    from ..alignment.transcript import Transcript
    from ..alignment.words import AttributedWord

__all__ = ["MAX_CUE_SECONDS", "Cue", "clock", "cues", "iter_srt", "iter_vtt", "to_srt", "to_vtt"]

MAX_CUE_SECONDS = 7.0
"""Subtitle cues longer than this are cut at a word boundary (a turn may span minutes)."""


@dataclass(frozen=True)
class Cue:
    """One subtitle: ``text`` from ``start`` to ``end`` (seconds), said by ``speaker`` (``None``: not named)."""

    start: float
    end: float
    text: str
    speaker: str | None = None


def cues(transcript: Transcript, max_seconds: float = MAX_CUE_SECONDS) -> Iterator[Cue]:
    """The transcript's timed turns as cues, cut at word boundaries past ``max_seconds``.

    A turn without a speaker is said by ``"unknown"``.
    """
    for turn in transcript.turns:
        if turn.start is None or turn.end is None:
            continue
        piece: list[AttributedWord] = []
        for word in turn.words:
            started = piece[0].start if piece else None
            if started is not None and word.end is not None and word.end - started > max_seconds:
                yield _cue(piece, turn.speaker)
                piece = []
            piece.append(word)
        if piece:
            yield _cue(piece, turn.speaker)


def _cue(words: Sequence[AttributedWord], speaker: str | None) -> Cue:
    starts = [word.start for word in words if word.start is not None]
    ends = [word.end for word in words if word.end is not None]
    return Cue(min(starts), max(ends), join_words(word.text for word in words), speaker or "unknown")


def clock(seconds: float, separator: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or, with ``separator="."``, ``HH:MM:SS.mmm`` (WebVTT); negative times are 0.

    Examples
    --------
    >>> clock(3661.5)
    '01:01:01,500'
    >>> clock(0.93, ".")
    '00:00:00.930'
    """
    milliseconds = max(0, round(seconds * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def iter_srt(items: Iterable[Cue]) -> Iterator[str]:
    """SRT blocks, numbered from 1 and separated by blank lines."""
    for index, cue in enumerate(items, start=1):
        if index > 1:
            yield "\n"
        text = cue.text if cue.speaker is None else f"{cue.speaker}: {cue.text}"
        yield f"{index}\n{clock(cue.start, ',')} --> {clock(cue.end, ',')}\n{text}\n"


def iter_vtt(items: Iterable[Cue]) -> Iterator[str]:
    """The WebVTT header, then one block per cue; text and speakers escaped."""
    yield "WEBVTT\n"
    for cue in items:
        text = _escape(cue.text) if cue.speaker is None else f"<v {_escape(cue.speaker)}>{_escape(cue.text)}</v>"
        yield f"\n{clock(cue.start, '.')} --> {clock(cue.end, '.')}\n{text}\n"


def to_srt(transcript: Transcript) -> str:
    """The transcript as SRT, one cue per turn or piece of a long turn."""
    return "".join(iter_srt(cues(transcript)))


def to_vtt(transcript: Transcript) -> str:
    """The transcript as WebVTT, the speaker in a voice tag."""
    return "".join(iter_vtt(cues(transcript)))
