"""``chunking_strategy``: OpenAI's three wire encodings, validated, and what faster-whisper does with it.

Clients send it as

- a plain string: ``chunking_strategy=auto``;
- bracketed keys, as the OpenAI Python SDK encodes a dict:
  ``chunking_strategy[type]=server_vad``, ``chunking_strategy[threshold]=0.5``;
- a JSON string, as other SDKs do: ``chunking_strategy={"type": "server_vad", "threshold": 0.5}``.

Unset, the audio is transcribed as one block (OpenAI's meaning, and faster-whisper's
default). ``auto`` and ``server_vad`` cut the audio at silences first: faster-whisper's
Silero VAD filter, with ``threshold``, ``silence_duration_ms`` and ``prefix_padding_ms``
as its ``threshold``, ``min_silence_duration_ms`` and ``speech_pad_ms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .client_values import number, parse_json, shown
from .errors import APIError

__all__ = ["ChunkingStrategy", "parse_chunking_strategy"]

FIELD = "chunking_strategy"
MAX_MILLISECONDS = 60_000


@dataclass(frozen=True)
class ChunkingStrategy:
    """``type`` is ``"auto"`` or ``"server_vad"``; the others (server_vad only) as OpenAI names them."""

    type: str = "auto"
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200
    threshold: float = 0.5

    def whisper_options(self) -> dict[str, Any]:
        """Keyword arguments for ``WhisperModel.transcribe``."""
        if self.type == "auto":
            return {"vad_filter": True}
        return {"vad_filter": True, "vad_parameters": {
            "threshold": self.threshold,
            "min_silence_duration_ms": self.silence_duration_ms,
            "speech_pad_ms": self.prefix_padding_ms,
        }}


def _invalid(message: str) -> APIError:
    return APIError(f"invalid chunking_strategy: {message}", 400, FIELD, "invalid_value")


def parse_chunking_strategy(fields: Mapping[str, list[str]]) -> ChunkingStrategy | None:
    """The strategy in the form ``fields`` (name -> values), ``None`` when absent."""
    plain = fields.get(FIELD, [])
    prefix = FIELD + "["
    bracketed = {name[len(prefix):-1]: values for name, values in fields.items()
                 if name.startswith(prefix) and name.endswith("]")}
    if len(plain) > 1 or any(len(values) > 1 for values in bracketed.values()):
        raise _invalid("given more than once")
    if plain and bracketed:
        raise _invalid("give it either as one field or as chunking_strategy[...] fields, not both")
    if bracketed:
        return _from_object({key: values[0] for key, values in bracketed.items()})
    if not plain:
        return None
    text = plain[0].strip()
    if text == "auto":
        return ChunkingStrategy("auto")
    if text.startswith(("{", '"')):
        try:
            value = parse_json(text, FIELD, "invalid_value")
        except APIError as error:
            raise _invalid(f"{text[:80]!r} is not valid JSON ({error.message})") from None
        if value == "auto":
            return ChunkingStrategy("auto")
        if isinstance(value, dict):
            return _from_object(value)
    raise _invalid(f"{text[:80]!r}; use \"auto\" or an object {{\"type\": \"server_vad\", ...}}")


def _from_object(value: Mapping[str, Any]) -> ChunkingStrategy:
    unknown = set(value) - {"type", "prefix_padding_ms", "silence_duration_ms", "threshold"}
    if unknown:
        raise _invalid(f"unknown key(s) {shown(sorted(unknown))}")
    kind = value.get("type")
    if kind == "auto" and len(value) == 1:
        return ChunkingStrategy("auto")
    if kind != "server_vad":
        raise _invalid(f"type must be \"server_vad\" (or the plain string \"auto\"), got {shown(kind)}")
    options: dict[str, Any] = {}
    for key in ("prefix_padding_ms", "silence_duration_ms"):
        if key in value:
            options[key] = _number(key, value[key], MAX_MILLISECONDS, whole=True)
    if "threshold" in value:
        options["threshold"] = _number("threshold", value["threshold"], 1.0)
    return ChunkingStrategy("server_vad", **options)


def _number(key: str, value: Any, high: float, whole: bool = False) -> float:
    try:
        return number(value, key, 0, high, whole=whole, param=FIELD)
    except APIError as error:
        raise _invalid(error.message) from None
