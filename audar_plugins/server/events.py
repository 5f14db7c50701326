"""``stream=true``: the transcription as OpenAI's server-sent events.

Events, as the OpenAI SDK's ``TranscriptionStreamEvent`` types read them:

- ``transcript.text.segment`` ``{id, start, end, speaker, text}`` for each speaker turn, when
  the request diarizes (ids, times and speakers as in the ``diarized_json`` answer: "A", "B",
  ... there; ``speaker_0`` ... with ``json`` and ``text``);
- ``transcript.text.delta`` ``{delta, segment_id}``: new text, with the turn it belongs to;
- ``transcript.text.done`` ``{text}``, last.

The deltas concatenate to the ``done`` text, which is the text of the answer without
streaming. Without diarization a delta follows each decoded faster-whisper segment. With
it, a turn is sent once later words can no longer change it
(:func:`~audar_plugins.alignment.settled.settled_turns`: about two turns behind the
decoder), and the last turns when decoding ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..alignment.settled import settled_turns
from ..alignment.transcript import Transcript
from ..alignment.turns import Turn, join_words
from ..alignment.words import AttributedWord, Word, attribute_spans, attributed, coverage_of, word_times
from ..formats import speaker_letters
from .transcription import Transcription

__all__ = ["transcription_events"]


def _fixed_joining(words: Sequence[Word]) -> bool:
    """Whether the text of these words is a prefix of the text of any continuation.

    :func:`join_words` concatenates words once any carries its own leading space (whisper's
    words do) and joins by spaces before that; only the first rule is stable as words arrive.
    """
    return any(word.text[:1].isspace() for word in words)


class _Deltas:
    """Cuts a growing text into deltas."""

    def __init__(self) -> None:
        self.sent = ""

    def advance(self, text: str) -> str:
        if not text.startswith(self.sent):
            return ""
        delta, self.sent = text[len(self.sent):], text
        return delta


def _delta(delta: str, segment_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "transcript.text.delta", "delta": delta}
    if segment_id is not None:
        event["segment_id"] = segment_id
    return event


def transcription_events(run: Transcription, response_format: str) -> Iterator[dict[str, Any]]:
    """The events of ``run``, decoding as they are consumed (call on a worker thread)."""
    if run.activity is None:
        yield from _text_events(run)
    else:
        yield from _turn_events(run, letters=response_format == "diarized_json")


def _text_events(run: Transcription) -> Iterator[dict[str, Any]]:
    deltas = _Deltas()
    for _ in run.decoded():
        if _fixed_joining(run.words):
            delta = deltas.advance(join_words(word.text for word in run.words))
            if delta:
                yield _delta(delta)
    text = run.result().text
    if text != deltas.sent:
        yield _delta(text[len(deltas.sent):])
    yield {"type": "transcript.text.done", "text": text}


class _Turns:
    """Turns to events, numbering segments as ``diarized_json`` does (turns with times only)."""

    def __init__(self, letters: bool) -> None:
        self.letters = letters
        self.count = 0  # turns sent
        self.segments = 0
        self.words: list[AttributedWord] = []
        self.deltas = _Deltas()

    def events(self, turn: Turn, final_text: str | None = None) -> Iterator[dict[str, Any]]:
        self.count += 1
        self.words.extend(turn.words)
        segment_id = None
        if turn.start is not None and turn.end is not None:
            segment_id = f"seg_{self.segments}"
            self.segments += 1
            yield {"type": "transcript.text.segment", "id": segment_id, "start": round(turn.start, 3),
                   "end": round(turn.end, 3), "speaker": self._speaker(turn.speaker), "text": turn.text}
        text = join_words(word.text for word in self.words)
        if final_text is None or final_text.startswith(text):
            delta = self.deltas.advance(text)
            if delta:
                yield _delta(delta, segment_id)

    def _speaker(self, speaker: str | None) -> str:
        if speaker is None:
            return "unknown"
        if not self.letters:
            return speaker
        return speaker_letters(Transcript(tuple(self.words), (), 0.0))[speaker]


def _turn_events(run: Transcription, letters: bool) -> Iterator[dict[str, Any]]:
    coverage = coverage_of(run.activity)
    turns = _Turns(letters)
    for _ in run.decoded():
        words = run.words
        if not _fixed_joining(words) or all(word.start is None for word in words):
            continue
        raw = attributed(words, attribute_spans(*word_times(words), coverage))
        for turn in settled_turns(raw)[turns.count:]:
            yield from turns.events(turn)
    transcript = run.result().transcript
    text = transcript.text
    for turn in transcript.turns[turns.count:]:
        yield from turns.events(turn, text)
    if text != turns.deltas.sent:
        yield _delta(text[len(turns.deltas.sent):])
    yield {"type": "transcript.text.done", "text": text}
