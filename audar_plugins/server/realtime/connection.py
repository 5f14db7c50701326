"""One accepted ``/v1/realtime`` WebSocket: its reader, its handler loop, its transcription worker.

See :mod:`audar_plugins.server.realtime` for the protocol. Messages are read as they arrive,
whatever the server is doing, so that keepalive pings are answered, and wait in an inbox;
the inbox holds at most ``realtime_backlog_seconds`` of audio (and :data:`MAX_INBOX_MESSAGES`
messages). An append that would overfill it is refused with an ``input_too_fast`` error
event naming it: its audio is not part of the stream. An item is done once its last event
has been sent; a connection that ends otherwise parks its stream and its unfinished items.
It also keeps its last :data:`REPLAY_EVENTS` events: a client that resumes with
``after=EVENT_ID`` (the last event it received) gets the ones it missed again, since a send
that went out before a network failure may never have arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
from collections import deque
from typing import Any

import numpy as np
from starlette.websockets import WebSocketDisconnect, WebSocketDisconnected

from ...activity import runs
from ...backends.base import SpeakerCount, StreamingBackend
from ..client_values import number
from ..errors import APIError, error_for
from ..forms import Fields
from ..models import transcription_models
from .protocol import Inbound, SessionOptions, audio_of, known_speakers_of, pcm16, read_message, read_session_update
from .registry import SessionRegistry
from .stream import Item, RealtimeStream

__all__ = ["GONE", "Connection", "registry_of"]

logger = logging.getLogger(__name__)

TRANSCRIPTION = "conversation.item.input_audio_transcription"
MAX_INBOX_MESSAGES = 1_000
REPLAY_EVENTS = 1_000
"""Events a parked stream keeps for a resuming client that names the last one it received."""
_NOT_REPLAYED = ("session.created", "session.updated", "error")
GONE = (WebSocketDisconnect, WebSocketDisconnected, OSError)
"""What a send or receive raises once the client has gone: a normal end, not a failure."""


def registry_of(app) -> SessionRegistry:
    """The app's :class:`SessionRegistry`, made on first use from its settings."""
    registry = getattr(app.state, "realtime", None)
    if registry is None:
        settings = app.state.settings
        registry = app.state.realtime = SessionRegistry(settings.max_realtime_sessions, settings.realtime_idle_seconds)
    return registry


class Connection:
    """One accepted WebSocket: reads client events, runs the stream, sends server events."""

    def __init__(self, websocket, stream: RealtimeStream, diarize: bool, token: str,
                 options: SessionOptions) -> None:
        self.websocket = websocket
        self.app = websocket.app
        self.engine = websocket.app.state.engine
        self.settings = websocket.app.state.settings
        self.stream = stream
        self.diarize = diarize
        self.token = token
        self.options = options
        self.stream.turn_detection = options.turn_detection
        self.resampler: Any = None  # a soxr.ResampleStream while the client's rate is not 16 kHz
        self.inbox: asyncio.Queue[Inbound | None] = asyncio.Queue()
        self.backlog = 0.0  # seconds of audio in the inbox
        self.items: asyncio.Queue[Item | None] = asyncio.Queue()
        self.unfinished: list[Item] = []  # taken by the worker, their last event not sent
        self.send_lock = asyncio.Lock()
        self.events = 0  # numbers event ids across the stream's connections
        # (number, the item whose transcription it is or None, JSON)
        self.sent: deque[tuple[int, str | None, str]] = deque(maxlen=REPLAY_EVENTS)
        self.replay: list[str] = []  # sent again right after session.created
        self.finished = False

    @classmethod
    async def open(cls, websocket) -> Connection:
        """A connection for the handshake's query: a new stream, or a parked one resumed."""
        query = Fields(websocket.query_params)  # the form's field rules, for the handshake's query
        engine = websocket.app.state.engine
        if not isinstance(engine.backend, StreamingBackend):
            raise APIError(f"the {engine.backend.name!r} backend does not stream: serve a streaming backend "
                           "(embedded or sortformer) for /v1/realtime", 400, code="backend_not_streaming")
        diarize = bool(query.boolean("diarize"))
        given = query.text("max_speakers")
        max_speakers = None if given is None else number(given, "max_speakers", 1, 64, whole=True)
        token = query.text("resume")
        after = query.text("after")
        last_received = None if after is None else event_number(after)  # checked before the stream is taken
        if token is not None:
            parked = await registry_of(websocket.app).take(token)
            if parked is None:
                raise APIError("unknown or expired resume token", 404, param="resume", code="session_not_found")
            connection = cls(websocket, RealtimeStream.resume(parked["stream"]), parked["diarize"],
                             token, parked["options"])
            for item in parked["items"]:  # committed before the drop, their events not all sent
                connection.items.put_nowait(item)
            connection.events, connection.sent = parked["events"], parked["sent"]
            if last_received is not None:
                unfinished = {item.id for item in parked["items"]}
                connection.replay = [text for number, item, text in parked["sent"]
                                     if number > last_received and item not in unfinished]
            return connection
        stream = RealtimeStream(engine.backend, SpeakerCount(max_speakers=max_speakers),
                                keep_activity=diarize and engine.recognizer is not None)
        if engine.voiceprints:  # the server's known speakers (audar serve --voices)
            from ...speakers import NamingBackend

            stream.name_speakers(NamingBackend(engine.backend, engine.voiceprints, engine.encoder))
        model = "gpt-4o-transcribe-diarize" if diarize else "gpt-4o-transcribe"
        return cls(websocket, stream, diarize, secrets.token_urlsafe(24), SessionOptions(model=model))

    # -- the loops ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Handle the inbox in order until the stream ends (closed 1000) or the client leaves (parked)."""
        await self.send({"type": "session.created", "session": self.session()})
        async with self.send_lock:
            for text in self.replay:
                await self.websocket.send_text(text)
        worker = asyncio.create_task(self.transcribe_items())
        reader = asyncio.create_task(self.receive())
        try:
            while (inbound := await self.inbox.get()) is not None:
                self.backlog -= inbound.seconds
                await self.handle(inbound)
                if self.finished:
                    break
        except GONE:
            logger.debug("realtime client %s left", self.stream.id)
        finally:
            reader.cancel()
            if not self.finished:
                await self.park(worker)
        with contextlib.suppress(*GONE):
            await self.websocket.close(code=1000)

    async def receive(self) -> None:
        """Read messages as they come (keepalive pings stay answered) into the inbox, within the backlog cap."""
        idle = self.settings.realtime_idle_seconds
        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.websocket.receive(), timeout=idle)
                except asyncio.TimeoutError:
                    await self.error(APIError(f"no message for {idle:g} s: closing; resume with the session's "
                                              "resume_token", 408, code="idle_timeout"))
                    await self.websocket.close(code=1001)
                    return
                if message["type"] == "websocket.disconnect":
                    return
                inbound = read_message(message, self.settings.max_message_bytes, self.options.rate)
                if inbound.seconds and (self.backlog + inbound.seconds > self.settings.realtime_backlog_seconds
                                        or self.inbox.qsize() >= MAX_INBOX_MESSAGES):
                    await self.error(APIError(
                        f"audio arrives faster than this server can diarize it: {self.backlog:.1f} s are waiting "
                        f"(the limit is {self.settings.realtime_backlog_seconds:g} s); this message's "
                        f"{inbound.seconds:.2f} s were not added to the stream: send at real time or slower", 429,
                        code="input_too_fast"), inbound.event_id)
                    continue
                self.backlog += inbound.seconds
                self.inbox.put_nowait(inbound)
                if inbound.event is not None and inbound.event["type"] == "audar.stream.end":
                    return  # the last message: no idle timeout while the stream finishes
        except GONE:
            logger.debug("realtime client %s left", self.stream.id)
        finally:
            self.inbox.put_nowait(None)

    async def park(self, worker: asyncio.Task) -> None:
        """Keep the stream, and the items whose events did not all go out, for a connection with the token."""
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        pending = list(self.unfinished)
        while not self.items.empty():
            item = self.items.get_nowait()
            if item is not None:
                pending.append(item)
        if not self.stream.closed:
            state = await self.engine.run(self.stream.park, lane="live")
            registry_of(self.app).park(self.token, {"stream": state, "diarize": self.diarize, "options": self.options,
                                                  "items": pending, "events": self.events, "sent": self.sent})

    async def handle(self, inbound: Inbound) -> None:
        """Act on one message; every bad one is answered with an error event and the session goes on."""
        try:
            if inbound.error is not None:
                raise inbound.error
            if inbound.audio is not None:
                await self.append(pcm16(inbound.audio), 16_000)
            elif inbound.event is not None:
                await self.dispatch(inbound.event)
        except GONE:
            raise
        except Exception as error:
            await self.error(error_for(error), inbound.event_id)

    async def dispatch(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind in ("session.update", "transcription_session.update"):
            models = transcription_models(self.engine.backend.name)
            options = read_session_update(event.get("session"), self.options, models)
            references = known_speakers_of(event.get("session"))
            if references is not None:
                await self.know(references)
            self.update(options)
            await self.send({"type": "session.updated", "session": self.session()})
        elif kind == "input_audio_buffer.append":
            await self.append(audio_of(event), self.options.rate)
        elif kind == "input_audio_buffer.commit":
            if self.stream.buffered_seconds < 0.1:
                raise APIError(f"buffer too small: {1000 * self.stream.buffered_seconds:.0f} ms of audio; a commit "
                               "needs at least 100 ms", 400, code="input_audio_buffer_commit_empty")
            await self.publish([self.stream.commit()])
        elif kind == "input_audio_buffer.clear":
            self.stream.clear()
            await self.send({"type": "input_audio_buffer.cleared"})
        elif kind == "audar.stream.end":
            await self.end()
        else:
            raise APIError(f"unknown event type {kind[:80]!r}", 400, param="type", code="unknown_event")

    def update(self, options: SessionOptions) -> None:
        if options.rate != self.options.rate:
            self.resampler = None
        self.options = options
        self.stream.turn_detection = options.turn_detection

    async def know(self, references) -> None:
        """Name the session's speakers after the server's voiceprints and these references."""
        from ...speakers import NamingBackend
        from ..known_speakers import voiceprints_for

        engine = self.engine
        self.stream.check_no_audio_yet()  # before the work of enrolling
        # the encoder's first use may load its models: on a worker thread, never on the event loop
        voiceprints = await engine.run(lambda: voiceprints_for(references, engine.voiceprints, engine.encoder),
                                       lane="live")
        self.stream.name_speakers(NamingBackend(engine.backend, voiceprints, engine.encoder))

    async def end(self) -> None:
        """``audar.stream.end``: flush the stream, transcribe every item, answer ``audar.stream.ended``."""
        if self.resampler is not None:  # the resampler's last samples
            tail = self.resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if tail.size:
                block, events = await self.engine.run(self.stream.push, tail, lane="live")
                await self.publish_activity(block)
                await self.publish(events)
        block, events = await self.engine.run(self.stream.finish, lane="live")
        await self.publish_activity(block)
        await self.publish(events)
        await self.items.put(None)
        await self.items.join()  # the worker answers every item, even when sending fails
        await self.send({"type": "audar.stream.ended", "duration": self.stream.received_seconds,
                         "speakers": list(self.stream.labels)})
        self.finished = True

    def session(self) -> dict[str, Any]:
        options = self.options
        detection = options.turn_detection
        return {
            "id": self.stream.id, "object": "realtime.transcription_session", "type": "transcription",
            "audio": {"input": {
                "format": {"type": "audio/pcm", "rate": options.rate},
                "transcription": {"model": options.model, "language": options.language, "prompt": options.prompt},
                "turn_detection": None if detection is None else {"type": "server_vad",
                                                                  **dataclasses.asdict(detection)},
            }},
            "diarize": self.diarize,
            "speakers": list(self.stream.labels),
            "resume_token": self.token,
        }

    # -- audio -------------------------------------------------------------------------------

    async def append(self, samples: np.ndarray, rate: int) -> None:
        limit = self.settings.max_audio_seconds
        if self.stream.received_seconds + samples.size / rate > limit:
            raise APIError(f"this message's {samples.size / rate:.2f} s would take the session over its limit of "
                           f"{limit:g} s of audio ({self.stream.received_seconds:.2f} s so far): not added", 400,
                           code="audio_too_long")
        if rate != 16_000:
            if self.resampler is None:
                import soxr

                self.resampler = soxr.ResampleStream(rate, 16_000, 1, dtype="float32")
            samples = self.resampler.resample_chunk(samples)
        block, events = await self.engine.run(self.stream.push, samples, lane="live")
        await self.publish_activity(block)
        await self.publish(events)

    async def publish_activity(self, block) -> None:
        if not self.diarize or not block.num_frames:
            return
        for event in self.stream.new_names():
            await self.send(event)
        labels = [self.stream.name_of(label) for label in block.labels]
        segments = []
        for label, spans in zip(labels, _active_spans(block)):
            segments += [{"speaker": label, "start": round(s, 3), "end": round(e, 3)} for s, e in spans]
        segments.sort(key=lambda s: (s["start"], s["speaker"]))
        await self.send({"type": "audar.speaker_activity", "start": round(block.start, 3),
                         "end": round(block.end, 3), "speakers": labels, "segments": segments})

    async def publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            item = event.pop("item", None)
            await self.send(event)
            if item is not None:
                await self.items.put(item)

    # -- transcripts -------------------------------------------------------------------------

    async def transcribe_items(self) -> None:
        """Transcribe committed items in order, one at a time; an item is done once its last event is sent."""
        while (item := await self.items.get()) is not None:
            try:
                await self.transcribe(item)
            except asyncio.CancelledError:
                self.unfinished.append(item)  # the connection is parking: the next one sends it
                raise
            except Exception as error:  # a send that failed: the client left (or, logged, a bug)
                self.unfinished.append(item)
                if isinstance(error, GONE):
                    logger.debug("realtime client left before item %s went out", item.id)
                else:
                    logger.error("could not send item %s", item.id, exc_info=error)
            finally:
                self.items.task_done()
        self.items.task_done()

    async def transcribe(self, item: Item) -> None:
        base = {"item_id": item.id, "content_index": 0}
        recognizer = self.engine.recognizer
        if recognizer is None:
            await self.send({"type": f"{TRANSCRIPTION}.failed", **base, "error": APIError(
                "this server has no ASR model (start it with --asr); speaker activity still streams",
                400, code="asr_unavailable").body()["error"]})
            return
        if item.turns is None:
            options = self.options
            try:
                item.turns = await self.engine.run(self.stream.transcribe, item, recognizer, options.language,
                                                   self.diarize, options.prompt, self.settings.asr_time_factor,
                                                   lane="live_asr")
            except Exception as error:
                await self.send({"type": f"{TRANSCRIPTION}.failed", **base, "error": error_for(error).body()["error"]})
                return
        for index, (speaker, start, end, text) in enumerate(item.turns):
            segment_id = f"seg_{item.id[5:]}_{index}"
            if self.diarize:
                await self.send({"type": f"{TRANSCRIPTION}.segment", **base, "id": segment_id,
                                 "speaker": self.stream.name_of(speaker),
                                 "start": round(start, 3), "end": round(end, 3), "text": text})
            delta = text if index == 0 else " " + text
            await self.send({"type": f"{TRANSCRIPTION}.delta", **base, "delta": delta})
        transcript = " ".join(text for *_, text in item.turns)
        await self.send({"type": f"{TRANSCRIPTION}.completed", **base, "transcript": transcript,
                         "usage": {"type": "duration", "seconds": round(item.end - item.start, 3)}})

    # -- sending -----------------------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        async with self.send_lock:
            self.events += 1
            text = json.dumps({"event_id": f"event_{self.events}", **event})
            if event["type"] not in _NOT_REPLAYED:  # an unfinished item's transcription is sent again whole
                transcribing = event.get("item_id") if event["type"].startswith(TRANSCRIPTION) else None
                self.sent.append((self.events, transcribing, text))
            await self.websocket.send_text(text)

    async def error(self, error: APIError, event_id: str | None = None) -> None:
        body = error.body()["error"]
        await self.send({"type": "error", "error": {**body, "event_id": event_id}})


def event_number(event_id: str) -> int:
    """12 for ``event_12``; a 400 for anything else."""
    number = event_id.removeprefix("event_")
    if not (number.isascii() and number.isdigit()):
        raise APIError(f"after must be an event id such as event_12, got {event_id[:40]!r}", 400, param="after",
                       code="invalid_value")
    return int(number)


def _active_spans(block) -> list[list[tuple[float, float]]]:
    """Each speaker's spans of frames over 0.5 in ``block``."""
    spans = []
    for column in block.probabilities.T:
        spans.append([(block.start + a * block.frame_duration, block.start + b * block.frame_duration)
                      for a, b in runs(column > 0.5)])
    return spans
