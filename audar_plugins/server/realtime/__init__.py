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
``?resume=TOKEN`` continues the stream with the same speaker labels, and every committed
item whose ``completed`` (or ``failed``) event had not gone out is sent, whole, on the new
connection. Adding ``&after=EVENT_ID``, the last event the client received, also sends again
(same ids, right after ``session.created``) the events that went out after it, of the last
1,000: what a network failure lost in flight. Event ids keep counting across connections.
Refusals before the handshake (API key, session cap, a bad query value) are
HTTP answers in OpenAI's error shape; problems with a message (bad JSON, bad audio, a
message over the size cap, audio over the session's cap, audio arriving faster than the
server diarizes it) are ``error`` events and the session goes on.

The package: :mod:`.protocol` (client messages, read and checked), :mod:`.registry` (the
session cap and parked streams), :mod:`.connection` (one WebSocket), :mod:`.stream` (a
connection's audio, speakers, turn detection and items, without the WebSocket).
"""

from __future__ import annotations

import logging

from fastapi import WebSocket

from ..auth import SUBPROTOCOL_PREFIX, authorized
from ..errors import APIError, error_for
from .connection import GONE, Connection, registry_of

__all__ = ["add_realtime_routes"]

logger = logging.getLogger(__name__)


def add_realtime_routes(app) -> None:
    """Register ``/v1/realtime`` on ``app``."""

    @app.websocket("/v1/realtime")
    async def realtime(websocket: WebSocket) -> None:
        settings = websocket.app.state.settings
        registry = registry_of(websocket.app)
        protocols = list(websocket.scope.get("subprotocols") or ())  # as the ASGI server parsed the header
        if not authorized(settings.api_key, websocket.headers.get("authorization"), protocols):
            await _refuse(websocket, APIError("missing or incorrect API key", 401, code="invalid_api_key"))
            return
        if not registry.has_room(websocket.query_params.get("resume")):
            await _refuse(websocket, APIError(
                f"the server is at its limit of {registry.limit} realtime sessions; try again later",
                429, code="too_many_sessions"))
            return
        with registry.slot():  # reserved before any await, so that the cap holds; given back however this ends
            try:
                connection = await Connection.open(websocket)
            except Exception as error:  # a bad query value, an unknown token: answered, nothing kept
                await _refuse(websocket, error_for(error))
                return
            registry.live.add(connection.token)
            try:
                subprotocol = next((p for p in protocols if p == "realtime" or not p.startswith(SUBPROTOCOL_PREFIX)),
                                   None)
                await websocket.accept(subprotocol=subprotocol)
                await connection.run()
            except GONE:
                logger.debug("realtime client left during the handshake")
            finally:
                registry.live.discard(connection.token)


async def _refuse(websocket, error: APIError) -> None:
    """Answer the handshake with an HTTP error in OpenAI's shape (403 where the server cannot)."""
    from starlette.responses import JSONResponse

    try:
        await websocket.send_denial_response(JSONResponse(error.body(), status_code=error.status))
    except GONE:
        logger.debug("realtime client left before its refusal")
    except RuntimeError:  # an ASGI server without the denial-response extension
        await websocket.close(code=1008, reason=error.message[:120])


