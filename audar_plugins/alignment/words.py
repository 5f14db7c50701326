"""Who said each word: speaker activity integrated over the word's span.

The rule, for every word:

1. **Speech under the word.** Each speaker's activity mass over ``[start, end]``
   (soft probabilities, or hard turns) is computed; the largest wins. ``confidence``
   is the winner's share of all the mass; ``second_speaker`` is the runner-up when it
   is active (mean probability at least 0.5) over the word too: overlapped speech.
   Words of zero or negative duration are read as 20 ms around their midpoint
   (faster-whisper rounds times to 10 ms).
2. **No speech under the word** (a pause, or beyond the audio): the speaker whose
   speech is nearest in time; the earlier one on a tie. ``confidence`` is 0.
3. **No timestamp** (numbers and symbols some aligners leave untimed): the previous
   timed word's speaker, or the next one's at the start. ``confidence`` is 0.
4. **No speech at all** in the activity: ``speaker`` is ``None``.

Cost: two interpolations per word and speaker, a few passes over arrays; no
per-word scan of the turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..activity import SpeakerActivity
from .coverage import SpeakerCoverage

__all__ = ["AttributedWord", "Attribution", "Word", "attribute_spans", "attribute_words", "coverage_of"]

POINT_WORD = 0.02
"""Seconds a zero-duration word is read as covering, centred on its time."""
OVERLAP_PROBABILITY = 0.5
"""Mean probability over a word at which a runner-up counts as speaking too."""


@dataclass(frozen=True)
class Word:
    """One recognised word; ``start``/``end`` in seconds, ``None`` when the ASR gave no time."""

    text: str
    start: float | None = None
    end: float | None = None
    probability: float | None = None


@dataclass(frozen=True)
class AttributedWord(Word):
    """A word with its speaker (``None`` only when the activity has no speech at all)."""

    speaker: str | None = None
    confidence: float = 0.0
    second_speaker: str | None = None


@dataclass(frozen=True)
class Attribution:
    """Per-word results as arrays: speaker and runner-up indices into ``labels`` (-1: none)."""

    labels: list[str]
    speaker: np.ndarray
    confidence: np.ndarray
    second: np.ndarray

    def speaker_labels(self) -> list[str | None]:
        names = [*self.labels, None]  # index -1 reads the trailing None
        return [names[index] for index in self.speaker.tolist()]


def coverage_of(diarization) -> SpeakerCoverage:
    """A :class:`SpeakerCoverage` from activity, an Annotation, a WhisperX DataFrame or a coverage."""
    if isinstance(diarization, SpeakerCoverage):
        return diarization
    if isinstance(diarization, SpeakerActivity):
        return SpeakerCoverage.from_activity(diarization)
    if hasattr(diarization, "itertracks"):
        return SpeakerCoverage.from_annotation(diarization)
    if hasattr(diarization, "columns") and {"start", "end", "speaker"} <= set(diarization.columns):
        return SpeakerCoverage.from_turns(
            diarization["start"].to_numpy(float), diarization["end"].to_numpy(float), diarization["speaker"].to_numpy()
        )
    raise TypeError(
        "diarization must be SpeakerActivity, a pyannote Annotation or a DataFrame with start, end and speaker "
        f"columns, got {type(diarization).__name__}"
    )


def attribute_spans(starts: np.ndarray, ends: np.ndarray, coverage: SpeakerCoverage) -> Attribution:
    """Attribute words given as arrays of start and end times (NaN: untimed), in transcript order."""
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    count = starts.size
    speaker = np.full(count, -1, dtype=np.int64)
    confidence = np.zeros(count)
    second = np.full(count, -1, dtype=np.int64)
    if coverage.num_speakers == 0 or count == 0:
        return Attribution(coverage.labels, speaker, confidence, second)

    timed, low, high = word_spans(starts, ends)
    index = np.flatnonzero(timed)
    mass = coverage.speech(low[index], high[index])
    total = mass.sum(axis=1)
    best = np.argmax(mass, axis=1)
    heard = total > 1e-9
    speaker[index[heard]] = best[heard]
    confidence[index[heard]] = mass[heard, best[heard]] / total[heard]
    if coverage.num_speakers > 1:
        others = mass.copy()
        others[np.arange(index.size), best] = -1.0
        runner_up = np.argmax(others, axis=1)
        duration = high[index] - low[index]
        overlapped = heard & (mass[np.arange(index.size), runner_up] >= OVERLAP_PROBABILITY * duration)
        second[index[overlapped]] = runner_up[overlapped]

    silent = index[~heard]
    if silent.size:
        before, after = coverage.gaps(low[silent], high[silent])
        # nearest speech in time; on a tie, speech that came before the word wins
        nearest = np.argmin(np.minimum(before, np.nextafter(after, np.inf)), axis=1)
        reachable = np.isfinite(np.minimum(before, after)[np.arange(silent.size), nearest])
        speaker[silent[reachable]] = nearest[reachable]

    if not timed.all():
        _fill_from_neighbours(speaker, confidence, timed)
    return Attribution(coverage.labels, speaker, confidence, second)


def word_spans(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(timed, low, high)``: which words have a time, and the span each one is read over
    (end before start: the span between them; shorter than :data:`POINT_WORD`: that much
    around its midpoint; a missing end: the start)."""
    starts = np.where(np.isfinite(starts), starts, np.nan)  # inf is as untimed as None
    ends = np.where(np.isfinite(ends), ends, starts)
    low, high = np.minimum(starts, ends), np.maximum(starts, ends)
    short = high - low < POINT_WORD
    middle = (low + high) / 2
    low = np.where(short, middle - POINT_WORD / 2, low)
    high = np.where(short, middle + POINT_WORD / 2, high)
    return np.isfinite(starts), low, high


def word_times(words: Sequence[Word]) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times as float arrays; a missing time (``None``) is NaN."""
    return (np.array([word.start for word in words], dtype=np.float64),
            np.array([word.end for word in words], dtype=np.float64))


def attributed(words: Sequence[Word], result: Attribution) -> list[AttributedWord]:
    """``words`` with the speakers of ``result`` (one row per word, same order)."""
    names = [*result.labels, None]  # index -1 reads the trailing None
    rows = zip(words, result.speaker.tolist(), result.confidence.tolist(), result.second.tolist())
    return [
        AttributedWord(word.text, word.start, word.end, word.probability, names[speaker], confidence, names[second])
        for word, speaker, confidence, second in rows
    ]


def attribute_words(words: Iterable[Word], diarization) -> list[AttributedWord]:
    """Give every word a speaker; see the module docstring for the rule.

    ``diarization`` is a :class:`SpeakerActivity` (best: the soft probabilities), a pyannote
    ``Annotation`` or a WhisperX diarization DataFrame.
    """
    words = list(words)
    return attributed(words, attribute_spans(*word_times(words), coverage_of(diarization)))


def _fill_from_neighbours(speaker: np.ndarray, confidence: np.ndarray, timed: np.ndarray) -> None:
    """Untimed words take the previous timed word's speaker (the next one's before any)."""
    positions = np.where(timed, np.arange(timed.size), -1)
    previous = np.maximum.accumulate(positions)
    following = np.where(timed, np.arange(timed.size), timed.size)
    following = np.minimum.accumulate(following[::-1])[::-1]
    source = np.where(previous >= 0, previous, following)
    untimed = np.flatnonzero(~timed & (source < timed.size))
    speaker[untimed] = speaker[source[untimed]]
    confidence[untimed] = 0.0

