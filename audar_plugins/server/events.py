"""``stream=true``: the transcription as OpenAI's server-sent events.

Events, as the OpenAI SDK's ``TranscriptionStreamEvent`` types read them:

- ``transcript.text.segment`` ``{id, start, end, speaker, text}`` for each speaker turn, when
  the request diarizes (ids, times and speakers as in the ``diarized_json`` answer: "A", "B",
  ... there; ``speaker_0`` ... with ``json`` and ``text``);
- ``transcript.text.delta`` ``{delta, segment_id}``: new text, with the turn it belongs to;
- ``transcript.text.done`` ``{text}``, last.

The deltas concatenate to the ``done`` text, which is the text of the answer without
streaming. Without diarization a delta follows each decoded segment. With it, each
decoded word goes through the incremental aligner
(:class:`~audar_plugins.alignment.streaming.StreamingAligner`, then
:class:`~audar_plugins.alignment.settled.TurnSettler`: work linear in the words), and a
turn is sent once later words can no longer change it (about two turns behind the
decoder); the last turns when decoding ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..alignment.settled import TurnSettler
from ..alignment.streaming import StreamingAligner
from ..alignment.turns import Turn, TurnOptions, join_words
from ..alignment.words import Word
from ..formats.transcript import next_letter
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

    def __init__(self, letters: bool, known: frozenset[str] = frozenset()) -> None:
        self.letters = letters
        self.known = known  # known speakers' names: kept, and never given as letters
        self.segments = 0
        self.texts: list[str] = []  # the words' texts, sent
        self.deltas = _Deltas()
        self.names: dict[str, str] = {}  # speaker -> letter, in order of first word

    def events(self, turn: Turn, final_text: str | None = None) -> Iterator[dict[str, Any]]:
        self.texts += [word.text for word in turn.words]
        for word in turn.words:
            if word.speaker is not None and word.speaker not in self.names:
                self.names[word.speaker] = (word.speaker if word.speaker in self.known
                                            else next_letter(self.names.values(), self.known))
        segment_id = None
        if turn.start is not None and turn.end is not None:
            segment_id = f"seg_{self.segments}"
            self.segments += 1
            yield {"type": "transcript.text.segment", "id": segment_id, "start": round(turn.start, 3),
                   "end": round(turn.end, 3), "speaker": self._speaker(turn.speaker), "text": turn.text}
        text = join_words(self.texts)
        if final_text is None or final_text.startswith(text):
            delta = self.deltas.advance(text)
            if delta:
                yield _delta(delta, segment_id)

    def _speaker(self, speaker: str | None) -> str:
        if speaker is None:
            return "unknown"
        return self.names[speaker] if self.letters else speaker


def _turn_events(run: Transcription, letters: bool) -> Iterator[dict[str, Any]]:
    assert run.activity is not None
    aligner = StreamingAligner()
    aligner.push_activity(run.activity)  # all of it: each word is final once its pause (if any) is known
    settler = TurnSettler(TurnOptions())
    turns = _Turns(letters, frozenset(m.name for m in run.speaker_matches if m.name is not None))
    held: list[Turn] = []  # settled, waiting until the words' joining is fixed
    fixed = False
    for segment in run.decoded():
        held += settler.push(aligner.push_words(segment.words))
        fixed = fixed or _fixed_joining(segment.words)
        if fixed:
            for turn in held:
                yield from turns.events(turn)
            held = []
    transcript = run.result().transcript
    assert transcript is not None
    text = transcript.text
    for turn in [*held, *settler.push(aligner.flush()), *settler.flush()]:
        yield from turns.events(turn, text)
    if text != turns.deltas.sent:
        yield _delta(text[len(turns.deltas.sent):])
    yield {"type": "transcript.text.done", "text": text}
