"""``/v1/realtime``: OpenAI's realtime transcription WebSocket, with live speakers.

Client events (JSON text frames, as OpenAI's realtime API defines them):
``session.update`` (``session.audio.input.format`` PCM at 24 or 16 kHz, ``transcription``
model and language, ``turn_detection`` ``server_vad`` or ``null``; the older
``transcription_session.update`` shape too), ``input_audio_buffer.append`` (base64 audio),
``input_audio_buffer.commit`` and ``input_audio_buffer.clear``. Binary frames are raw PCM16
mono 16 kHz, for simple clients such as ``wscat``. Our own ``audar.stream.end`` flushes
the stream (its last speakers and the last item), answered by ``audar.stream.ended``.

Server events: ``session.created`` / ``session.updated`` (the session carries a
``resume_token``), ``input_audio_buffer.speech_started`` / ``speech_stopped`` /
``committed`` / ``cleared``, then per item ``conversation.item.input_audio_transcription``
``.segment`` (speaker, start, end, text; with ``diarize=true``), ``.delta`` and
``.completed`` (or ``.failed``), and ``audar.speaker_activity`` as soon as the backend
finalises speaker activity. Times are seconds since the start of the stream.

A dropped connection is parked for ``realtime_idle_seconds``: connecting again with
``?resume=TOKEN`` continues the stream with the same speaker labels. Refusals before the
handshake (API key, session cap) are HTTP answers in OpenAI's error shape; problems with a
message (bad JSON, bad audio, a message over the size cap) are ``error`` events and the
session goes on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from ..backends.base import SpeakerCount
from .auth import SUBPROTOCOL_PREFIX, authorized
from .errors import APIError, error_for
from .forms import Fields
from .realtime_stream import RealtimeStream, TurnDetection

__all__ = ["add_realtime_routes", "SessionRegistry"]

logger = logging.getLogger(__name__)

RATES = (16_000, 24_000)
TRANSCRIPTION = "conversation.item.input_audio_transcription"


@dataclass
class SessionRegistry:
    """Live connections (capped) and parked streams waiting to be resumed."""

    limit: int
    park_seconds: float
    active: int = 0
    parked: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)  # tokens of open connections

    def expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, (deadline, _) in self.parked.items() if deadline < now]:
            del self.parked[token]

    def park(self, token: str, state: dict[str, Any]) -> None:
        self.expire()
        self.parked[token] = (time.monotonic() + self.park_seconds, state)

    async def take(self, token: str, wait: float = 5.0) -> dict[str, Any] | None:
        """The parked stream of ``token``, waiting a little for a connection still closing to park it."""
        deadline = time.monotonic() + wait
        while token in self.live and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self.expire()
        entry = self.parked.pop(token, None)
        return None if entry is None else entry[1]


def add_realtime_routes(app) -> None:
    """Register ``/v1/realtime`` on ``app``."""

    @app.websocket("/v1/realtime")
    async def realtime(websocket: WebSocket) -> None:
        settings = websocket.app.state.settings
        registry = _registry(websocket.app)
        protocols = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        if not authorized(settings.api_key, websocket.headers.get("authorization"), protocols):
            await _refuse(websocket, APIError("missing or incorrect API key", 401, code="invalid_api_key"))
            return
        registry.expire()
        if registry.active >= registry.limit:
            await _refuse(websocket, APIError(
                f"the server is at its limit of {registry.limit} realtime sessions; try again later",
                429, code="too_many_sessions"))
            return
        registry.active += 1  # reserved before any await, so that the cap holds
        try:
            connection = await _Connection.open(websocket)
        except APIError as error:
            registry.active -= 1
            await _refuse(websocket, error)
            return
        registry.live.add(connection.token)
        try:
            subprotocol = next((p for p in protocols if p == "realtime" or not p.startswith(SUBPROTOCOL_PREFIX)), None)
            await websocket.accept(subprotocol=subprotocol)
            await connection.run()
        finally:
            registry.active -= 1
            registry.live.discard(connection.token)


def _registry(app) -> SessionRegistry:
    registry = getattr(app.state, "realtime", None)
    if registry is None:
        settings = app.state.settings
        registry = app.state.realtime = SessionRegistry(settings.max_realtime_sessions, settings.realtime_idle_seconds)
    return registry


async def _refuse(websocket, error: APIError) -> None:
    """Answer the handshake with an HTTP error in OpenAI's shape (403 where the server cannot)."""
    from starlette.responses import JSONResponse

    try:
        await websocket.send_denial_response(JSONResponse(error.body(), status_code=error.status))
    except RuntimeError:  # an ASGI server without the denial-response extension
        await websocket.close(code=1008, reason=error.message[:120])


class _Connection:
    """One accepted WebSocket: reads client events, runs the stream, sends server events."""

    def __init__(self, websocket, stream: RealtimeStream, diarize: bool, token: str) -> None:
        self.websocket = websocket
        self.app = websocket.app
        self.engine = websocket.app.state.engine
        self.settings = websocket.app.state.settings
        self.stream = stream
        self.diarize = diarize
        self.token = token
        self.rate = 24_000  # OpenAI's realtime PCM rate until session.update says otherwise
        self.language: str | None = None
        self.model = "gpt-4o-transcribe-diarize" if diarize else "gpt-4o-transcribe"
        self.resampler = None
        self.items: asyncio.Queue = asyncio.Queue()
        self.send_lock = asyncio.Lock()
        self.events = 0
        self.finished = False
        self.current = None  # the item being transcribed

    @classmethod
    async def open(cls, websocket) -> _Connection:
        """A connection for the handshake's query: a new stream, or a parked one resumed."""
        query = Fields(websocket.query_params)  # the form's field rules, for the handshake's query
        engine = websocket.app.state.engine
        if not callable(getattr(engine.backend, "open_session", None)):
            raise APIError(f"the {engine.backend.name!r} backend does not stream: serve a streaming backend "
                           "(embedded or sortformer) for /v1/realtime", 400, code="backend_not_streaming")
        diarize = bool(query.boolean("diarize"))
        token = query.text("resume")
        if token is not None:
            parked = await _registry(websocket.app).take(token)
            if parked is None:
                raise APIError("unknown or expired resume token", 404, param="resume", code="session_not_found")
            connection = cls(websocket, RealtimeStream.resume(engine.backend, parked["stream"]), parked["diarize"], token)
            connection.rate, connection.language, connection.model = parked["rate"], parked["language"], parked["model"]
            for item in parked["items"]:  # committed before the drop, not yet transcribed
                connection.items.put_nowait(item)
            return connection
        speakers = SpeakerCount(max_speakers=query.integer("max_speakers"))
        stream = RealtimeStream(engine.backend, speakers, keep_activity=diarize and engine.whisper is not None)
        return cls(websocket, stream, diarize, secrets.token_urlsafe(24))

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        await self.send({"type": "session.created", "session": self.session()})
        worker = asyncio.create_task(self.transcribe_items())
        dropped = True
        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.websocket.receive(),
                                                     timeout=self.settings.realtime_idle_seconds)
                except asyncio.TimeoutError:
                    await self.error(APIError(f"no message for {self.settings.realtime_idle_seconds:g} s: closing; "
                                              "resume with the session's resume_token", 408, code="idle_timeout"))
                    await self.websocket.close(code=1001)
                    break
                if message["type"] == "websocket.disconnect":
                    break
                await self.handle(message)
                if self.finished:
                    dropped = False
                    break
        except WebSocketDisconnect:
            pass
        finally:
            if dropped:
                await self.park(worker)
            else:
                worker.cancel()
        if not dropped:
            await self.websocket.close(code=1000)

    async def park(self, worker: asyncio.Task) -> None:
        """Keep the stream, and the items not yet transcribed, for a connection with the token."""
        worker.cancel()
        try:
            await worker
        except (asyncio.CancelledError, Exception):  # the client is gone: nobody to tell
            pass
        pending = [self.current] if self.current is not None else []
        while not self.items.empty():
            item = self.items.get_nowait()
            if item is not None:
                pending.append(item)
        if not self.stream.closed:
            state = await self.engine.run(self.stream.park, live=True)
            _registry(self.app).park(self.token, {"stream": state, "diarize": self.diarize, "rate": self.rate,
                                                  "language": self.language, "model": self.model, "items": pending})

    async def handle(self, message: dict[str, Any]) -> None:
        data = message.get("bytes")
        text = message.get("text")
        size = len(data) if data is not None else len(text or "")
        if size > self.settings.max_message_bytes:
            await self.error(APIError(f"a message of {size} bytes is over the limit of "
                                      f"{self.settings.max_message_bytes}", 413, code="message_too_large"))
            return
        try:
            if data is not None:
                await self.append(_pcm16(data), 16_000)
                return
            try:
                event = json.loads(text or "")
            except json.JSONDecodeError as error:
                raise APIError(f"not JSON: {error}", 400, code="invalid_json") from None
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                raise APIError("an event is a JSON object with a string 'type'", 400, code="invalid_event")
            await self.dispatch(event)
        except Exception as error:  # every bad message is answered; the session goes on
            await self.error(error_for(error), event_id=_event_id(text))

    async def dispatch(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind in ("session.update", "transcription_session.update"):
            self.update(event.get("session"))
            await self.send({"type": "session.updated", "session": self.session()})
        elif kind == "input_audio_buffer.append":
            audio = event.get("audio")
            if not isinstance(audio, str):
                raise APIError("input_audio_buffer.append needs 'audio', base64 PCM16", 400, param="audio",
                               code="invalid_value")
            try:
                raw = base64.b64decode(audio, validate=True)
            except (binascii.Error, ValueError):
                raise APIError("'audio' is not valid base64", 400, param="audio", code="invalid_value") from None
            await self.append(_pcm16(raw), self.rate)
        elif kind == "input_audio_buffer.commit":
            if self.stream.buffered_seconds < 0.1:
                raise APIError(f"buffer too small: {1000 * self.stream.buffered_seconds:.0f} ms of audio; a commit "
                               "needs at least 100 ms", 400, code="input_audio_buffer_commit_empty")
            await self.publish([self.stream.commit()])
        elif kind == "input_audio_buffer.clear":
            self.stream.clear()
            await self.send({"type": "input_audio_buffer.cleared"})
        elif kind == "audar.stream.end":
            if self.resampler is not None:  # the resampler's last samples
                tail = self.resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
                if tail.size:
                    block, events = await self.engine.run(self.stream.push, tail, live=True)
                    await self.publish_activity(block)
                    await self.publish(events)
            block, events = await self.engine.run(self.stream.finish, live=True)
            await self.publish_activity(block)
            await self.publish(events)
            await self.items.put(None)
            await self.items.join()  # the worker answers every item, even when sending fails
            await self.send({"type": "audar.stream.ended", "duration": self.stream.received_seconds,
                             "speakers": list(self.stream.labels)})
            self.finished = True
        else:
            raise APIError(f"unknown event type {kind!r}", 400, param="type", code="unknown_event")

    def update(self, session: Any) -> None:
        """Apply a ``session.update``: audio format, transcription model/language, turn detection."""
        if not isinstance(session, dict):
            raise APIError("session.update needs a 'session' object", 400, param="session", code="invalid_value")
        audio = session.get("audio")
        audio = audio.get("input") if isinstance(audio, dict) else None
        audio = audio if isinstance(audio, dict) else {}
        form = audio.get("format", session.get("input_audio_format"))
        if form is not None:
            self.rate = _rate(form)
            self.resampler = None
        transcription = audio.get("transcription", session.get("input_audio_transcription"))
        if isinstance(transcription, dict):
            self.model = transcription.get("model", self.model)
            self.language = transcription.get("language", self.language)
        if "turn_detection" in audio or "turn_detection" in session:
            self.stream.turn_detection = _turn_detection(audio.get("turn_detection", session.get("turn_detection")))

    def session(self) -> dict[str, Any]:
        detection = self.stream.turn_detection
        return {
            "id": self.stream.id, "object": "realtime.transcription_session", "type": "transcription",
            "audio": {"input": {
                "format": {"type": "audio/pcm", "rate": self.rate},
                "transcription": {"model": self.model, "language": self.language},
                "turn_detection": None if detection is None else {"type": "server_vad", **detection.__dict__},
            }},
            "diarize": self.diarize,
            "speakers": list(self.stream.labels),
            "resume_token": self.token,
        }

    # -- audio -------------------------------------------------------------------------------

    async def append(self, samples: np.ndarray, rate: int) -> None:
        if self.stream.received_seconds > self.settings.max_audio_seconds:
            raise APIError(f"this session is over the limit of {self.settings.max_audio_seconds:g} s of audio",
                           400, code="audio_too_long")
        if rate != 16_000:
            if self.resampler is None:
                import soxr

                self.resampler = soxr.ResampleStream(rate, 16_000, 1, dtype="float32")
            samples = self.resampler.resample_chunk(samples)
        block, events = await self.engine.run(self.stream.push, samples, live=True)
        await self.publish_activity(block)
        await self.publish(events)

    async def publish_activity(self, block) -> None:
        if not self.diarize or not block.num_frames:
            return
        segments = []
        for label, spans in zip(block.labels, _active_spans(block)):
            segments += [{"speaker": label, "start": round(s, 3), "end": round(e, 3)} for s, e in spans]
        segments.sort(key=lambda s: (s["start"], s["speaker"]))
        await self.send({"type": "audar.speaker_activity", "start": round(block.start, 3),
                         "end": round(block.end, 3), "speakers": list(block.labels), "segments": segments})

    async def publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            item = event.pop("item", None)
            await self.send(event)
            if item is not None:
                await self.items.put(item)

    # -- transcripts -------------------------------------------------------------------------

    async def transcribe_items(self) -> None:
        """Transcribe committed items in order, one at a time."""
        while True:
            item = await self.items.get()
            try:
                if item is None:
                    return
                self.current = item
                await self.transcribe(item)
            except asyncio.CancelledError:
                raise
            except Exception:  # a send to a closed socket: the receive loop sees the disconnect
                logger.debug("could not send item %s", item.id, exc_info=True)
            finally:
                self.current = None
                self.items.task_done()

    async def transcribe(self, item) -> None:
        base = {"item_id": item.id, "content_index": 0}
        whisper = self.engine.whisper
        if whisper is None:
            await self.send({"type": f"{TRANSCRIPTION}.failed", **base, "error": APIError(
                "this server has no ASR model (start it with --asr); speaker activity still streams",
                400, code="asr_unavailable").body()["error"]})
            return
        try:
            turns = await self.engine.run(self.stream.transcribe, item, whisper, self.language, self.diarize)
        except Exception as error:
            self.current = None
            await self.send({"type": f"{TRANSCRIPTION}.failed", **base, "error": error_for(error).body()["error"]})
            return
        self.current = None  # its events are going out: a resumed session does not redo it
        for index, (speaker, start, end, text) in enumerate(turns):
            segment_id = f"seg_{item.id[5:]}_{index}"
            if self.diarize:
                await self.send({"type": f"{TRANSCRIPTION}.segment", **base, "id": segment_id, "speaker": speaker,
                                 "start": round(start, 3), "end": round(end, 3), "text": text})
            delta = text if index == 0 else " " + text
            await self.send({"type": f"{TRANSCRIPTION}.delta", **base, "delta": delta})
        transcript = " ".join(text for *_, text in turns)
        await self.send({"type": f"{TRANSCRIPTION}.completed", **base, "transcript": transcript,
                         "usage": {"type": "duration", "seconds": round(item.end - item.start, 3)}})

    # -- sending -----------------------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> None:
        self.events += 1
        async with self.send_lock:
            await self.websocket.send_text(json.dumps({"event_id": f"event_{self.events}", **event}))

    async def error(self, error: APIError, event_id: str | None = None) -> None:
        body = error.body()["error"]
        await self.send({"type": "error", "error": {**body, "event_id": event_id}})


def _pcm16(data: bytes) -> np.ndarray:
    if len(data) % 2:
        raise APIError(f"PCM16 audio comes in 2-byte samples, got {len(data)} bytes", 400, param="audio",
                       code="invalid_audio")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def _rate(form: Any) -> int:
    if form == "pcm16":  # the older session shape: 24 kHz
        return 24_000
    if isinstance(form, dict) and form.get("type") == "audio/pcm":
        rate = form.get("rate", 24_000)
        if rate in RATES:
            return int(rate)
        raise APIError(f"PCM rate {rate!r} is not supported: use 24000 or 16000", 400,
                       param="session.audio.input.format.rate", code="unsupported_format")
    raise APIError(f"audio format {form!r} is not supported: use audio/pcm at 24000 or 16000 Hz", 400,
                   param="session.audio.input.format", code="unsupported_format")


def _turn_detection(value: Any) -> TurnDetection | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type", "server_vad") != "server_vad":
        raise APIError("turn_detection is null or {'type': 'server_vad', ...}", 400,
                       param="session.audio.input.turn_detection", code="unsupported_turn_detection")
    try:
        return TurnDetection(int(value.get("silence_duration_ms", 500)), int(value.get("prefix_padding_ms", 300)))
    except (TypeError, ValueError):
        raise APIError("silence_duration_ms and prefix_padding_ms are integers", 400,
                       param="session.audio.input.turn_detection", code="invalid_value") from None


def _active_spans(block) -> list[list[tuple[float, float]]]:
    """Each speaker's spans of frames over 0.5 in ``block``."""
    spans = []
    for column in block.probabilities.T:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], (column > 0.5).astype(np.int8), [0]])))
        spans.append([(block.start + a * block.frame_duration, block.start + b * block.frame_duration)
                      for a, b in zip(edges[::2], edges[1::2])])
    return spans


def _event_id(text: str | None) -> str | None:
    try:
        event = json.loads(text or "")
    except (json.JSONDecodeError, TypeError):
        return None
    return event.get("event_id") if isinstance(event, dict) else None


