"""Speaker-attributed words grouped into turns that split exactly where the speaker changes.

Before grouping, two documented corrections, both of which only ever move words the
attribution was unsure of (``confidence`` below a limit):

* **Flickers.** A run of at most ``max_flicker_words`` words given to speaker B, with
  at least ``flicker_context`` words of one speaker A on each side and every word in the
  run below ``flicker_confidence``, is given to A. A confident one-word answer ("yes")
  stays with its speaker.
* **Sentence boundaries.** A speaker change within ``sentence_tolerance`` seconds of a
  sentence end (a word ending in ``.``, ``?``, ``!`` or ``…``) that lies inside one of
  the two turns moves to that sentence end, when every word it moves across is below
  ``boundary_confidence``. Speakers rarely change mid-sentence; diarization boundaries
  are often a few hundred milliseconds off.

A turn never splits a word: it is a run of whole words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InvalidOptionError
from .words import AttributedWord

__all__ = ["Turn", "TurnOptions", "group_turns", "join_words", "smooth_labels", "smooth_speakers"]

SENTENCE_ENDS = (".", "?", "!", "…", "。", "？", "！")


@dataclass(frozen=True)
class TurnOptions:
    """The corrections applied before grouping; see the module docstring."""

    max_flicker_words: int = 1
    flicker_context: int = 2
    flicker_confidence: float = 0.7
    sentence_tolerance: float = 0.5
    boundary_confidence: float = 0.9

    def __post_init__(self) -> None:
        if self.max_flicker_words < 0 or self.flicker_context < 1:
            raise InvalidOptionError("max_flicker_words must be >= 0 and flicker_context >= 1")
        if self.sentence_tolerance < 0:
            raise InvalidOptionError(f"sentence_tolerance={self.sentence_tolerance} must be >= 0")


@dataclass(frozen=True)
class Turn:
    """Consecutive words of one speaker."""

    speaker: str | None
    words: tuple[AttributedWord, ...]

    @property
    def start(self) -> float | None:
        return next((word.start for word in self.words if word.start is not None), None)

    @property
    def end(self) -> float | None:
        return next((word.end for word in reversed(self.words) if word.end is not None), None)

    @property
    def text(self) -> str:
        return join_words(word.text for word in self.words)


def join_words(texts) -> str:
    """Words as text. Whisper-style words carry their own leading space (and a token
    without one, like ``"%"``, belongs to the word before); other words are joined by spaces."""
    texts = list(texts)
    if any(text[:1].isspace() for text in texts):
        return "".join(texts).strip()
    return " ".join(text.strip() for text in texts if text.strip())


def smooth_speakers(words: Sequence[AttributedWord], options: TurnOptions = TurnOptions()) -> list[AttributedWord]:
    """``words`` with flickers and near-sentence-end changes corrected (unchanged words are the same objects)."""
    speakers = smooth_labels(
        [word.speaker for word in words],
        [word.confidence for word in words],
        [word.text for word in words],
        [word.start for word in words],
        [word.end for word in words],
        options,
    )
    return [
        word if word.speaker == speaker else dataclasses.replace(word, speaker=speaker, second_speaker=None)
        for word, speaker in zip(words, speakers)
    ]


def smooth_labels(
    speakers: list,
    confidence: Sequence[float],
    texts: Sequence[str],
    starts: Sequence[float | None],
    ends: Sequence[float | None],
    options: TurnOptions = TurnOptions(),
) -> list:
    """The corrections of :func:`smooth_speakers` on parallel lists; returns the new speaker list."""
    speakers = list(speakers)
    _smooth_flickers(speakers, confidence, options)
    _snap_to_sentences(texts, starts, ends, speakers, confidence, options)
    return speakers


def group_turns(words: Sequence[AttributedWord], options: TurnOptions | None = TurnOptions()) -> list[Turn]:
    """Turns of consecutive same-speaker words, after :func:`smooth_speakers` (``options=None``: no smoothing)."""
    if options is not None:
        words = smooth_speakers(words, options)
    turns: list[Turn] = []
    first = 0
    for index in range(1, len(words) + 1):
        if index == len(words) or words[index].speaker != words[first].speaker:
            turns.append(Turn(words[first].speaker, tuple(words[first:index])))
            first = index
    return turns


def _runs(speakers: list) -> list[tuple[int, int]]:
    """``(first, stop)`` of each run of equal speakers."""
    runs, first = [], 0
    for index in range(1, len(speakers) + 1):
        if index == len(speakers) or speakers[index] != speakers[first]:
            runs.append((first, index))
            first = index
    return runs


def _smooth_flickers(speakers: list, confidence: list[float], options: TurnOptions) -> None:
    runs = _runs(speakers)
    for (before, middle, after) in zip(runs, runs[1:], runs[2:]):
        first, stop = middle
        if (
            stop - first <= options.max_flicker_words
            and speakers[before[0]] == speakers[after[0]]
            and before[1] - before[0] >= options.flicker_context
            and after[1] - after[0] >= options.flicker_context
            and max(confidence[first:stop]) < options.flicker_confidence
        ):
            speakers[first:stop] = [speakers[before[0]]] * (stop - first)


def _snap_to_sentences(texts, starts, ends, speakers: list, confidence, options: TurnOptions) -> None:
    runs = _runs(speakers)
    if len(runs) < 2:
        return
    sentence_end = [text.rstrip().endswith(SENTENCE_ENDS) for text in texts]
    floor = 0  # words before this were already moved by an earlier change: leave them
    for (first, change), (_, stop) in zip(runs, runs[1:]):
        first = max(first, floor)
        at = _time_between(starts, ends, change)
        if at is None:
            continue
        best = None
        # sentence ends inside the left run (move the change back) or the right run (forward)
        for boundary in range(first + 1, stop):
            if boundary == change or not sentence_end[boundary - 1]:
                continue
            when = _time_between(starts, ends, boundary)
            if when is None or abs(when - at) > options.sentence_tolerance:
                continue
            moved = range(boundary, change) if boundary < change else range(change, boundary)
            if all(confidence[i] < options.boundary_confidence for i in moved):
                if best is None or abs(when - at) < abs(best[1] - at):
                    best = (boundary, when)
        if best is None:
            continue
        boundary = best[0]
        if boundary < change:
            speakers[boundary:change] = [speakers[change]] * (change - boundary)
        else:
            speakers[change:boundary] = [speakers[change - 1]] * (boundary - change)
        floor = boundary


def _time_between(starts, ends, index: int) -> float | None:
    """The time of the gap before word ``index``: between the previous word's end and this one's start."""
    left, right = ends[index - 1], starts[index]
    if left is None and right is None:
        return None
    if left is None or right is None:
        return left if right is None else right
    return (left + right) / 2
