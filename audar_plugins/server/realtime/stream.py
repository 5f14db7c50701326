"""One realtime connection's audio, speakers and transcript items, without the WebSocket.

Audio runs continuously through the backend's live session, whose final blocks become
speaker-activity events. The same audio collects in an input buffer; each commit (by the
client, or by turn detection on the final activity: speech, then ``silence_duration_ms``
without any) makes an item, which is transcribed and its words given speakers by the
stream's :class:`~audar_plugins.alignment.streaming.StreamingAligner`, which holds the final
activity. When the item ends after the final activity (a client that commits and sends no
more audio), the aligner settles its words on the live session's provisional flush of the
frames still open. Times are seconds since the start of the stream.

Every method here is synchronous and CPU-bound: the WebSocket route calls them on the
server's worker threads, one call at a time per connection except :meth:`transcribe`,
which may run beside a push (the backend session is locked).
"""

from __future__ import annotations

import itertools
import math
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...activity import SpeakerActivity
from ...alignment.streaming import StreamingAligner
from ...alignment.turns import TurnOptions, group_turns
from ...alignment.words import Word
from ...audio import SAMPLE_RATE
from ...backends.base import SpeakerCount, StreamingBackend, StreamingSession
from ...transcription import Recognizer

__all__ = ["Item", "RealtimeStream", "TurnDetection"]

UNKNOWN_SPEAKER = "unknown"
"""The speaker of words said when the backend had heard nobody."""
MAX_ITEM_SECONDS = 30.0
"""With turn detection, an item is committed by itself when its audio reaches this length (whisper's window)."""
MAX_BUFFER_SECONDS = 300.0
"""Without turn detection, uncommitted audio is committed by itself at this length (19 MB of float32),
so that a client that never commits holds a bounded buffer; nothing is dropped."""
ACTIVE = 0.5
LOOK_BACK_SECONDS = 5.0
"""Activity kept before the last transcribed item's end, for words whisper times a little early."""


@dataclass(frozen=True)
class TurnDetection:
    """OpenAI's ``server_vad`` settings that apply here (``silence_duration_ms`` of no speaker ends a turn)."""

    silence_duration_ms: int = 500
    prefix_padding_ms: int = 300


@dataclass
class Item:
    """Committed audio waiting for its transcript."""

    id: str
    previous_id: str | None
    start: float
    audio: np.ndarray
    turns: list | None = None  # once transcribed: kept until its events have gone out

    @property
    def end(self) -> float:
        return self.start + self.audio.size / SAMPLE_RATE


@dataclass
class _Buffer:
    """The uncommitted input audio and what turn detection has seen in it."""

    item_id: str
    start: float = 0.0
    pieces: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    speech_start: float | None = None  # first speech seen in the buffer
    speech_end: float | None = None  # end of the last speech seen


class RealtimeStream:
    """The state of one realtime session; see the module docstring."""

    def __init__(self, backend: StreamingBackend, speakers: SpeakerCount = SpeakerCount(),
                 session: StreamingSession | None = None, keep_activity: bool = True) -> None:
        self.backend = backend
        self.id = "sess_" + secrets.token_hex(12)
        self._speakers = speakers
        self._announced: set[str] = set()  # labels whose name has been announced
        self._session = session if session is not None else backend.open_session(speakers=speakers)
        self._lock = threading.Lock()  # the backend session, and the aligner it feeds
        self._items = itertools.count(1)
        self._buffer = _Buffer(self._next_item_id())
        self._aligner = StreamingAligner()  # the final activity, for the words of items
        self._last_item: str | None = None
        self.keep_activity = keep_activity  # False when no item will need speakers (no ASR, no diarization)
        self.turn_detection: TurnDetection | None = TurnDetection()
        self.received = 0  # samples

    def _next_item_id(self) -> str:
        return f"item_{self.id[5:13]}_{next(self._items)}"

    @property
    def received_seconds(self) -> float:
        return self.received / SAMPLE_RATE

    @property
    def labels(self) -> tuple[str, ...]:
        """The speakers so far, known speakers by name."""
        return tuple(self.name_of(label) for label in self._session.labels)

    @property
    def names(self) -> dict[str, str]:
        """Known speakers' names given so far, by the session's label (``speaker_N``)."""
        return dict(getattr(self._session, "names", {}))

    def name_of(self, label: str) -> str:
        """``label``'s known speaker's name, once it has one, else ``label``."""
        return getattr(self._session, "names", {}).get(label, label)

    def new_names(self) -> list[dict[str, Any]]:
        """``audar.speaker.named`` events for the names given since the last call."""
        scores = getattr(self._session, "scores", {})
        events = [{"type": "audar.speaker.named", "speaker": label, "name": name, "score": round(scores[label], 3)}
                  for label, name in self.names.items() if label not in self._announced]
        self._announced.update(event["speaker"] for event in events)
        return events

    def check_no_audio_yet(self) -> None:
        """An ``APIError`` once audio has arrived: known speakers are set before it."""
        from ..errors import APIError

        if self.received or self._session.received_seconds:
            raise APIError("known speakers are set before the first audio of a session", 400,
                           "session.known_speaker_names", "known_speakers_after_audio")

    def name_speakers(self, backend: Any) -> None:
        """Diarize with ``backend`` (a :class:`~audar_plugins.speakers.NamingBackend` of this stream's
        backend) from now on; only before the first audio."""
        with self._lock:
            self.check_no_audio_yet()
            self.backend = backend
            self._session = backend.open_session(speakers=self._speakers)

    @property
    def closed(self) -> bool:
        """The stream ended (:meth:`finish`)."""
        return bool(self._session.closed)

    # -- audio in ----------------------------------------------------------------------------

    def push(self, samples: np.ndarray) -> tuple[SpeakerActivity, list[dict[str, Any]]]:
        """Add 16 kHz audio; returns the newly final activity and the buffer events it caused
        (``input_audio_buffer.speech_started`` / ``speech_stopped`` / ``committed``, as dicts
        with an ``item`` for a commit)."""
        with self._lock:
            block = self._session.push(samples)
            self._keep(block)
        self.received += samples.size
        self._buffer.pieces.append(samples)
        self._buffer.samples += samples.size
        return block, self._detect_turns(block)

    def finish(self) -> tuple[SpeakerActivity, list[dict[str, Any]]]:
        """End of the stream: the last activity, and a commit of whatever audio is left."""
        with self._lock:
            block = self._session.flush()
            self._keep(block)
        events = self._detect_turns(block)
        if self._buffer.samples:
            events.append(self.commit())
        return block, events

    def _keep(self, block: SpeakerActivity) -> None:
        """Give ``block`` to the aligner, for items still to transcribe (under the lock)."""
        if self.keep_activity:
            self._aligner.push_activity(block)

    @property
    def buffered_seconds(self) -> float:
        return self._buffer.samples / SAMPLE_RATE

    def commit(self, until: float | None = None) -> dict[str, Any]:
        """Make the buffered audio (up to ``until`` seconds of stream time) an item
        (``input_audio_buffer.committed``); the rest stays in the buffer."""
        buffer = self._buffer
        audio = np.concatenate(buffer.pieces) if buffer.pieces else np.zeros(0, dtype=np.float32)
        cut = audio.size if until is None else int(np.clip(round((until - buffer.start) * SAMPLE_RATE), 0, audio.size))
        item = Item(buffer.item_id, self._last_item, buffer.start, audio[:cut])
        self._last_item = item.id
        rest = audio[cut:]
        self._buffer = _Buffer(self._next_item_id(), start=item.end, pieces=[rest] if rest.size else [],
                               samples=rest.size)
        return {"type": "input_audio_buffer.committed", "item_id": item.id,
                "previous_item_id": item.previous_id, "item": item}

    def clear(self) -> None:
        """Drop the uncommitted audio (speaker activity keeps its timeline)."""
        self._buffer = _Buffer(self._buffer.item_id, start=self._buffer.start + self.buffered_seconds)

    def _detect_turns(self, block: SpeakerActivity) -> list[dict[str, Any]]:
        buffer = self._buffer
        events: list[dict[str, Any]] = []
        speaking = ((block.probabilities > ACTIVE).any(axis=1) if block.num_speakers
                    else np.zeros(block.num_frames, bool))
        times = block.frame_starts()
        inside = times >= buffer.start - 1e-6
        voiced = np.flatnonzero(speaking & inside)
        if voiced.size:
            if buffer.speech_start is None:
                buffer.speech_start = float(times[voiced[0]])
                events.append({"type": "input_audio_buffer.speech_started", "item_id": buffer.item_id,
                               "audio_start_ms": int(round(1000 * buffer.speech_start))})
            buffer.speech_end = float(times[voiced[-1]] + block.frame_duration)
        detection = self.turn_detection
        buffered = buffer.samples / SAMPLE_RATE
        if detection is not None and buffer.speech_end is not None:
            if block.end - buffer.speech_end >= detection.silence_duration_ms / 1000:
                events.append({"type": "input_audio_buffer.speech_stopped", "item_id": buffer.item_id,
                               "audio_end_ms": int(round(1000 * buffer.speech_end))})
                # up to where the activity is known: later audio may be the next turn
                events.append(self.commit(until=block.end))
                return events
        if buffered >= (MAX_ITEM_SECONDS if detection is not None else MAX_BUFFER_SECONDS):
            events.append(self.commit(until=block.end if block.end > buffer.start else None))
        return events

    # -- transcripts -------------------------------------------------------------------------

    def transcribe(self, item: Item, recognizer: Recognizer, language: str | None, diarize: bool,
                   prompt: str | None = None, time_factor: float = math.inf):
        """The item's turns: ``[(speaker, start, end, text)]`` (speaker ``None`` without diarization);
        decoding is bounded as :func:`~audar_plugins.server.transcription.within_time` bounds it."""
        from ..transcription import within_time

        if item.audio.size < SAMPLE_RATE // 10:
            return []
        recognition = recognizer.recognize(item.audio, language, initial_prompt=prompt,
                                           condition_on_previous_text=False)
        segments = within_time(recognition.segments, item.audio.size / SAMPLE_RATE, time_factor)
        words = [Word(w.text, _shift(w.start, item.start), _shift(w.end, item.start), w.probability)
                 for segment in segments for w in segment.words]
        if not words:
            return []
        if not diarize:
            text = "".join(w.text for w in words).strip()
            return [(None, words[0].start, words[-1].end, text)]
        with self._lock:  # no push between reading the final activity and the provisional rest
            attributed = self._aligner.push_words(words)
            attributed += self._aligner.settle(self._provisional(item.end))
            self._aligner.forget(item.end - LOOK_BACK_SECONDS)
        return [(turn.speaker or UNKNOWN_SPEAKER, turn.start, turn.end, turn.text.strip())
                for turn in group_turns(attributed, TurnOptions())]

    def _provisional(self, end: float) -> SpeakerActivity | None:
        """The frames after the final activity, as the live session would give them if the stream
        ended now (``None`` when the final activity reaches ``end``); under the lock."""
        if self._session.closed or self._aligner.activity_end >= end - 1e-6:
            return None
        return self.backend.restore_session(self._session.snapshot()).flush()

    # -- resuming ----------------------------------------------------------------------------

    def park(self) -> dict[str, Any]:
        """What a later connection needs to continue this stream (see :meth:`resume`)."""
        with self._lock:
            snapshot = self._session.snapshot() if not self._session.closed else None
        return {"snapshot": snapshot, "backend": self.backend, "announced": set(self._announced),
                "speakers": self._speakers,
                "buffer": self._buffer, "aligner": self._aligner, "received": self.received,
                "items": self._items, "last_item": self._last_item, "turn_detection": self.turn_detection,
                "id": self.id, "keep_activity": self.keep_activity}

    @classmethod
    def resume(cls, parked: dict[str, Any]) -> RealtimeStream:
        """The stream :meth:`park` saved, its backend session restored from the snapshot."""
        backend = parked["backend"]  # the stream's own: with known speakers, a NamingBackend of the server's
        stream = cls(backend, parked["speakers"], session=backend.restore_session(parked["snapshot"]),
                     keep_activity=parked["keep_activity"])
        stream.id = parked["id"]
        stream._buffer, stream._aligner, stream.received = parked["buffer"], parked["aligner"], parked["received"]
        stream._items, stream._last_item = parked["items"], parked["last_item"]
        stream.turn_detection = parked["turn_detection"]
        stream._announced = set(parked["announced"])
        return stream


def _shift(value: float | None, offset: float) -> float | None:
    return None if value is None else value + offset
