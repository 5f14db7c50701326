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
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidOptionError
from .words import AttributedWord

__all__ = ["Turn", "TurnOptions", "group_turns", "join_words", "smooth_codes", "smooth_speakers"]

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
    names = list(dict.fromkeys(word.speaker for word in words))
    code = {name: index for index, name in enumerate(names)}
    smoothed = smooth_codes(
        np.array([code[word.speaker] for word in words], dtype=np.int64),
        np.array([word.confidence for word in words], dtype=np.float64),
        [word.text for word in words],
        np.array([np.nan if word.start is None else word.start for word in words], dtype=np.float64),
        np.array([np.nan if word.end is None else word.end for word in words], dtype=np.float64),
        options,
    )
    return [
        word if word.speaker == names[new] else dataclasses.replace(word, speaker=names[new], second_speaker=None)
        for word, new in zip(words, smoothed.tolist())
    ]


def smooth_codes(
    speakers: np.ndarray,
    confidence: np.ndarray,
    texts: Sequence[str],
    starts: np.ndarray,
    ends: np.ndarray,
    options: TurnOptions = TurnOptions(),
) -> np.ndarray:
    """The corrections of :func:`smooth_speakers` on arrays: speaker codes (any integers), confidence,
    word texts, start and end times (NaN: untimed). Returns new codes; inputs are not changed."""
    speakers = np.array(speakers, dtype=np.int64)
    if speakers.size < 2:
        return speakers
    _smooth_flickers(speakers, np.asarray(confidence, dtype=np.float64), options)
    _snap_to_sentences(speakers, np.asarray(confidence, dtype=np.float64), texts,
                       np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64), options)
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


def _runs(speakers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(firsts, stops)`` of the runs of equal codes."""
    changes = np.flatnonzero(speakers[1:] != speakers[:-1]) + 1
    return np.concatenate([[0], changes]), np.concatenate([changes, [speakers.size]])


def _smooth_flickers(speakers: np.ndarray, confidence: np.ndarray, options: TurnOptions) -> None:
    firsts, stops = _runs(speakers)
    if firsts.size < 3:
        return
    lengths = stops - firsts
    labels = speakers[firsts]
    peak = np.maximum.reduceat(confidence, firsts)
    middle = np.arange(1, firsts.size - 1)
    flicker = middle[
        (lengths[middle] <= options.max_flicker_words)
        & (labels[middle - 1] == labels[middle + 1])
        & (lengths[middle - 1] >= options.flicker_context)
        & (lengths[middle + 1] >= options.flicker_context)
        & (peak[middle] < options.flicker_confidence)
    ]
    for run in flicker.tolist():
        speakers[firsts[run] : stops[run]] = labels[run - 1]


def _snap_to_sentences(speakers, confidence, texts, starts, ends, options: TurnOptions) -> None:
    firsts, stops = _runs(speakers)
    if firsts.size < 2:
        return
    # the time of the gap before each word: between the previous word's end and this word's start
    gap = np.full(speakers.size, np.nan)
    left, right = ends[:-1], starts[1:]
    gap[1:] = np.where(np.isnan(left), right, np.where(np.isnan(right), left, (left + right) / 2))
    # A boundary moves across unsure words only: before a change at c it lies after the last
    # confident word before c; after c, at or before the first confident word from c on.
    positions = np.arange(speakers.size)
    sure = confidence >= options.boundary_confidence
    last_sure = np.maximum.accumulate(np.where(sure, positions, -1))
    first_sure = np.minimum.accumulate(np.where(sure, positions, speakers.size)[::-1])[::-1]
    changes = stops[:-1]
    lowest = np.maximum(firsts[:-1] + 1, last_sure[changes - 1] + 1)
    highest = np.minimum(stops[1:] - 1, first_sure[changes])
    movable = (lowest < changes) | (highest > changes)
    gap = gap.tolist()  # scalar reads from lists are several times faster than from arrays
    tolerance = options.sentence_tolerance
    floor = 0  # words before this were already moved by an earlier change: leave them
    for change, low, high in zip(changes[movable].tolist(), lowest[movable].tolist(), highest[movable].tolist()):
        at = gap[change]
        if math.isnan(at):
            continue
        best, best_distance = None, tolerance
        # candidates within the tolerance in time, walking outward from the change (gap times
        # are nearly sorted); the nearest sentence end wins
        for boundary in _near(gap, change, max(low, floor + 1), high + 1, at, tolerance):
            distance = abs(gap[boundary] - at)
            if distance > best_distance or (best is not None and distance == best_distance):
                continue
            if texts[boundary - 1].rstrip().endswith(SENTENCE_ENDS):
                best, best_distance = boundary, distance
        if best is None:
            continue
        if best < change:
            speakers[best:change] = speakers[change]
        else:
            speakers[change:best] = speakers[change - 1]
        floor = best


def _near(gap: list[float], change: int, first: int, stop: int, at: float, tolerance: float):
    """Word indices in ``[first, stop)`` but ``change``, outward from it, while their gap time is within tolerance."""
    index = change - 1
    while index >= first and not (gap[index] < at - tolerance):
        yield index
        index -= 1
    index = change + 1
    while index < stop and not (gap[index] > at + tolerance):
        yield index
        index += 1
