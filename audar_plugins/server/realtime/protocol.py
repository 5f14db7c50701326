"""``/v1/realtime`` client messages, read and validated before the connection acts on them.

:func:`read_message` turns one WebSocket message into an :class:`Inbound`: raw PCM16, a
parsed event, or the error to answer for it (with the event's ``event_id`` when it has
one). :func:`read_session_update` applies a ``session.update`` to :class:`SessionOptions`.
Every number a client sends is checked by :func:`~.client_values.number`: Infinity, NaN,
booleans, huge values and deep nesting are answered with an error event, never a crash.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..client_values import language_code, number, parse_json, prompt, shown
from ..errors import APIError
from ..models import resolve_model
from .stream import TurnDetection

__all__ = ["RATES", "Inbound", "SessionOptions", "audio_of", "known_speakers_of", "pcm16", "read_message",
           "read_session_update"]

RATES = (16_000, 24_000)
MAX_TURN_MILLISECONDS = 10_000
_TURN = "session.audio.input.turn_detection"
_FORMAT = "session.audio.input.format"
_TRANSCRIPTION = "session.audio.input.transcription"


@dataclass(frozen=True)
class SessionOptions:
    """What ``session.update`` sets: the input PCM rate, the transcription settings, turn detection."""

    rate: int = 24_000  # OpenAI's realtime PCM rate until session.update says otherwise
    model: str = "gpt-4o-transcribe"
    language: str | None = None
    prompt: str | None = None
    turn_detection: TurnDetection | None = TurnDetection()


@dataclass(frozen=True)
class Inbound:
    """One client message: ``audio`` (raw PCM16 at 16 kHz), an ``event``, or the ``error`` to answer."""

    event: dict[str, Any] | None = None
    audio: bytes | None = None
    error: APIError | None = None
    event_id: str | None = None
    seconds: float = 0.0  # of audio it carries, about (for the backlog)


def read_message(message: dict[str, Any], max_bytes: int, rate: int) -> Inbound:
    """Read an ASGI ``websocket.receive`` message; ``rate`` is the session's PCM rate for appends."""
    data, text = message.get("bytes"), message.get("text")
    size = len(data) if data is not None else len(text or "")
    if size > max_bytes:
        return Inbound(error=APIError(f"a message of {size} bytes is over the limit of {max_bytes}", 413,
                                      code="message_too_large"))
    if data is not None:
        return Inbound(audio=data, seconds=len(data) / 2 / 16_000)
    try:
        event = parse_json(text or "")
    except APIError as error:
        return Inbound(error=error)
    event_id = event.get("event_id") if isinstance(event, dict) else None
    event_id = event_id if isinstance(event_id, str) and len(event_id) <= 256 else None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return Inbound(error=APIError("an event is a JSON object with a string 'type'", 400, code="invalid_event"),
                       event_id=event_id)
    seconds = 0.0
    if event["type"] == "input_audio_buffer.append" and isinstance(event.get("audio"), str):
        seconds = len(event["audio"]) * 3 / 4 / 2 / rate
    return Inbound(event=event, event_id=event_id, seconds=seconds)


def pcm16(data: bytes) -> np.ndarray:
    """Little-endian 16-bit samples as float32 in [-1, 1)."""
    if len(data) % 2:
        raise APIError(f"PCM16 audio comes in 2-byte samples, got {len(data)} bytes", 400, param="audio",
                       code="invalid_audio")
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def audio_of(event: dict[str, Any]) -> np.ndarray:
    """The samples of an ``input_audio_buffer.append`` (base64 PCM16)."""
    audio = event.get("audio")
    if not isinstance(audio, str):
        raise APIError("input_audio_buffer.append needs 'audio', base64 PCM16", 400, param="audio",
                       code="invalid_value")
    try:
        raw = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise APIError("'audio' is not valid base64", 400, param="audio", code="invalid_value") from None
    return pcm16(raw)


def read_session_update(session: Any, options: SessionOptions, models: tuple[str, ...]) -> SessionOptions:
    """``options`` with what a ``session.update``'s ``session`` object changes (the new or the older shape);
    ``models`` are the transcription model ids the server answers to."""
    if not isinstance(session, dict):
        raise APIError("session.update needs a 'session' object", 400, param="session", code="invalid_value")
    audio = session.get("audio")
    audio = audio.get("input") if isinstance(audio, dict) else None
    audio = audio if isinstance(audio, dict) else {}
    changes: dict[str, Any] = {}
    form = audio.get("format", session.get("input_audio_format"))
    if form is not None:
        changes["rate"] = _rate(form)
    transcription = audio.get("transcription", session.get("input_audio_transcription"))
    if transcription is not None:
        if not isinstance(transcription, dict):
            raise APIError("transcription is an object {model, language, prompt}", 400, _TRANSCRIPTION,
                           "invalid_value")
        if transcription.get("model") is not None:
            changes["model"] = _model(transcription["model"], models)
        if "language" in transcription:
            changes["language"] = language_code(transcription["language"], f"{_TRANSCRIPTION}.language")
        if "prompt" in transcription:
            changes["prompt"] = _prompt(transcription["prompt"])
    if "turn_detection" in audio or "turn_detection" in session:
        changes["turn_detection"] = _turn_detection(audio.get("turn_detection", session.get("turn_detection")))
    return dataclasses.replace(options, **changes)


def known_speakers_of(session: Any):
    """The known speakers a ``session.update`` sets (our extension: ``session.known_speaker_names`` and
    ``session.known_speaker_references``, lists as in the HTTP form), or ``None`` when it sets none."""
    from ..known_speakers import parse_known_speakers

    if not isinstance(session, dict) or ("known_speaker_names" not in session
                                         and "known_speaker_references" not in session):
        return None
    lists = []
    for key in ("known_speaker_names", "known_speaker_references"):
        value = session.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise APIError(f"session.{key} is a list of strings", 400, f"session.{key}", "invalid_value")
        lists.append(value)
    return parse_known_speakers(*lists)


def _rate(form: Any) -> int:
    if form == "pcm16":  # the older session shape: 24 kHz
        return 24_000
    if isinstance(form, dict) and form.get("type") == "audio/pcm":
        rate = number(form.get("rate", 24_000), "rate", 1, 10**6, whole=True, param=f"{_FORMAT}.rate")
        if rate in RATES:
            return rate
        raise APIError(f"PCM rate {rate} is not supported: use 24000 or 16000", 400, f"{_FORMAT}.rate",
                       "unsupported_format")
    raise APIError(f"audio format {shown(form)} is not supported: use audio/pcm at 24000 or 16000 Hz", 400,
                   _FORMAT, "unsupported_format")


def _model(model: Any, models: tuple[str, ...]) -> str:
    if not isinstance(model, str):
        raise APIError(f"the transcription model is a string, got {shown(model)}", 400, f"{_TRANSCRIPTION}.model",
                       "invalid_value")
    return resolve_model(model, models)


def _prompt(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise APIError(f"the prompt is a string, got {shown(value)}", 400, f"{_TRANSCRIPTION}.prompt",
                       "invalid_value")
    return prompt(value or None, f"{_TRANSCRIPTION}.prompt")


def _turn_detection(value: Any) -> TurnDetection | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type", "server_vad") != "server_vad":
        raise APIError("turn_detection is null or {'type': 'server_vad', ...}", 400, _TURN,
                       "unsupported_turn_detection")
    if "threshold" in value:  # Silero's threshold: read, checked, not used (speakers decide turns here)
        number(value["threshold"], "threshold", 0.0, 1.0, param=f"{_TURN}.threshold")
    durations = {key: number(value[key], key, 0, MAX_TURN_MILLISECONDS, whole=True, param=f"{_TURN}.{key}")
                 for key in ("silence_duration_ms", "prefix_padding_ms") if key in value}
    return TurnDetection(**durations)
