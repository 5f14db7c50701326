"""The speaker-attributed transcript: words, turns, text, duration, language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .turns import Turn, TurnOptions, group_turns, join_words, smooth_speakers
from .words import AttributedWord, Word, attribute_words

if TYPE_CHECKING:
    from ..speakers.naming import SpeakerMatch

__all__ = ["Transcript", "TranscriptOptions", "build_transcript"]


@dataclass(frozen=True)
class TranscriptOptions:
    """What made a transcript: the diarization backend, the recognizer, the language asked
    (``None``: detected) and the turn corrections (``None``: raw attribution)."""

    backend: str | None = None
    recognizer: str | None = None
    language: str | None = None
    turns: TurnOptions | None = TurnOptions()


@dataclass(frozen=True)
class Transcript:
    """Who said what: attributed words (after smoothing) and the turns they form."""

    words: tuple[AttributedWord, ...]
    turns: tuple[Turn, ...]
    duration: float
    language: str | None = None
    options: TranscriptOptions | None = None
    speaker_matches: tuple[SpeakerMatch, ...] = ()
    """With known speakers: per diarized speaker, the name it took (or none) and its score."""

    @property
    def text(self) -> str:
        return join_words(word.text for word in self.words)

    @property
    def speakers(self) -> list[str]:
        """Speakers in order of their first word."""
        return list(dict.fromkeys(word.speaker for word in self.words if word.speaker is not None))


def build_transcript(
    words: Iterable[Word],
    diarization,
    duration: float,
    language: str | None = None,
    options: TurnOptions | None = TurnOptions(),
) -> Transcript:
    """Attribute ``words`` with ``diarization`` (activity, Annotation or WhisperX DataFrame) and form turns.

    ``options=None`` keeps the raw attribution (no flicker or sentence-boundary correction).
    """
    attributed = attribute_words(words, diarization)
    if options is not None:
        attributed = smooth_speakers(attributed, options)
    return Transcript(tuple(attributed), tuple(group_turns(attributed, None)), float(duration), language)
