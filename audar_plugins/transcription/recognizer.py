"""Speech recognition behind one small protocol: 16 kHz mono audio in, timed words out.

A :class:`Recognizer` decodes lazily: :meth:`Recognizer.recognize` returns a
:class:`Recognition` whose ``segments`` are decoded while they are iterated, so a face can
stream them. faster-whisper is one implementation
(:class:`audar_plugins.adapters.faster_whisper.FasterWhisperRecognizer`); :class:`FakeRecognizer`
is a deterministic one for tests, shipped in the package.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..alignment.words import Word
from ..audio import SAMPLE_RATE
from ..errors import InvalidOptionError

__all__ = ["FakeRecognizer", "RecognizedSegment", "Recognition", "Recognizer"]


@dataclass(frozen=True)
class RecognizedSegment:
    """A stretch of decoded speech: ``start``/``end`` in seconds, its text and timed words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...]
    source: Any = None  # the implementation's own segment (faster-whisper's, for verbose_json)


@dataclass
class Recognition:
    """What a recognizer gives for one waveform: the language and the segments, decoded while iterated."""

    language: str | None
    segments: Iterator[RecognizedSegment]


@runtime_checkable
class Recognizer(Protocol):
    """Turns 16 kHz mono float32 audio into timed words.

    Attributes
    ----------
    name
        What the recognizer is (a model name or directory), recorded with the results.
    """

    name: str

    def recognize(self, waveform: np.ndarray, language: str | None = None, **options: Any) -> Recognition:
        """Decode ``waveform``; ``options`` are the implementation's own (e.g. faster-whisper's)."""
        ...


class FakeRecognizer:
    """A deterministic recognizer: a word ``w<k>`` in every half second of the audio that is not silent.

    Slot ``k`` covers ``[k/2, k/2 + 1/2)`` s; it holds a word (``start`` 0.05 s into the slot,
    0.4 s long) when the audio's RMS there reaches ``threshold``. Words form segments of at
    most ``words_per_segment`` consecutive slots; a silent slot ends a segment.

    Examples
    --------
    >>> recognition = FakeRecognizer().recognize(np.ones(16_000, dtype=np.float32))
    >>> [word.text for segment in recognition.segments for word in segment.words]
    [' w0', ' w1']
    """

    name = "fake"
    slot_seconds = 0.5

    def __init__(self, threshold: float = 1e-3, words_per_segment: int = 8) -> None:
        if threshold < 0 or words_per_segment < 1:
            raise InvalidOptionError("threshold must be >= 0 and words_per_segment >= 1")
        self.threshold = threshold
        self.words_per_segment = words_per_segment
        self.calls = 0  # how many waveforms it has decoded (tests count them)

    def recognize(self, waveform: np.ndarray, language: str | None = None, **options: Any) -> Recognition:
        self.calls += 1
        return Recognition(language or "en", self._segments(np.asarray(waveform, dtype=np.float32)))

    def _segments(self, waveform: np.ndarray) -> Iterator[RecognizedSegment]:
        slot = int(self.slot_seconds * SAMPLE_RATE)
        words: list[Word] = []
        for index in range(-(-waveform.size // slot)):
            piece = waveform[index * slot : (index + 1) * slot]
            if piece.size and float(np.sqrt(np.mean(np.square(piece)))) >= self.threshold:
                start = index * self.slot_seconds + 0.05
                words.append(Word(f" w{index}", round(start, 3), round(start + 0.4, 3), 0.9))
                if len(words) < self.words_per_segment:
                    continue
            if words:
                yield _segment(words)
                words = []
        if words:
            yield _segment(words)


def _segment(words: list[Word]) -> RecognizedSegment:
    start, end = words[0].start, words[-1].end
    assert start is not None and end is not None  # the fake times every word
    return RecognizedSegment(start, end, "".join(word.text for word in words), tuple(words))
