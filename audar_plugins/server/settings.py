"""Server settings: one frozen dataclass, filled from command-line flags, then ``AUDAR_*`` variables.

    settings = Settings.from_sources({"port": 9000}, os.environ)    # flags win over the environment

Every field has an environment variable (:data:`ENVIRONMENT`); the ``audar serve`` flags are
in :mod:`audar_plugins.cli.serve`. Sizes are in bytes and durations in seconds.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidOptionError
from ..registry import DEFAULT_BACKEND

__all__ = ["ASR_GRACE_SECONDS", "ENVIRONMENT", "Settings"]

MB = 1_000_000
ASR_GRACE_SECONDS = 30.0
"""Decoding time every request gets on top of ``asr_time_factor`` x its audio."""


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """What ``audar serve`` runs with.

    Attributes
    ----------
    host, port
        Where to listen; loopback and the model card's port 8001 by default.
    backend, backend_options
        The registered diarization backend and its constructor options
        (``model``, ``device``, ``preset``, ``precision``: as ``audar diarize`` takes them).
    asr_model
        faster-whisper model: a local CTranslate2 directory or a model name. ``None``: the
        transcription route answers a clear error and diarization still works.
    compute_type
        CTranslate2 compute type of the ASR model.
    api_key
        When set, every ``/v1`` request needs ``Authorization: Bearer <api_key>``.
    max_upload_bytes
        Larger request bodies are refused with 413 while they arrive.
    max_audio_seconds
        Longer audio is refused with 400 before it is diarized or transcribed.
    max_realtime_sessions, realtime_idle_seconds, max_message_bytes, realtime_backlog_seconds
        Limits of the ``/v1/realtime`` WebSocket: sessions open or parked at once, seconds
        without a message before a session is closed (and how long a dropped one stays
        parked), bytes per message, seconds of received audio that may wait to be diarized
        (appends beyond it are refused with ``input_too_fast``).
    asr_time_factor
        Seconds the ASR model may spend decoding per second of audio, plus
        :data:`ASR_GRACE_SECONDS`; a request (or realtime item) over it is answered
        ``transcription_too_slow``. Bounds what one request (a repetitive ``prompt``
        multiplies whisper's temperature fallbacks) can take from everyone else.
    voices
        A folder of voiceprints (``audar enroll``): speakers who sound like one are named after
        it in every diarizing request and realtime session.
    workers
        Threads that run the CPU work (decoding, diarization, ASR); requests beyond that
        wait in a queue.
    web_page
        Serve the web page (live and file modes) at ``GET /``.
    params
        A file of post-processing written by ``audar tune``, for the diarization route.
    """

    host: str = "127.0.0.1"
    port: int = 8001
    backend: str = DEFAULT_BACKEND
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    asr_model: str | None = None
    compute_type: str = "int8"
    api_key: str | None = None
    max_upload_bytes: int = 200 * MB
    max_audio_seconds: float = 3 * 3600.0
    max_realtime_sessions: int = 8
    realtime_idle_seconds: float = 60.0
    max_message_bytes: int = 1 * MB
    realtime_backlog_seconds: float = 20.0
    asr_time_factor: float = 1.0
    voices: str | None = None
    workers: int = field(default_factory=_default_workers)
    web_page: bool = True
    params: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidOptionError(f"port={self.port} must be in 0..65535")
        for name in ("max_upload_bytes", "max_realtime_sessions", "max_message_bytes", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidOptionError(f"{name} must be a positive integer, got {value!r}")
        for name in ("max_audio_seconds", "realtime_idle_seconds", "realtime_backlog_seconds", "asr_time_factor"):
            if not getattr(self, name) > 0:
                raise InvalidOptionError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.api_key is not None and not self.api_key.strip():
            raise InvalidOptionError("api_key must not be empty (leave it unset to serve without a key)")
        object.__setattr__(self, "backend_options", dict(self.backend_options))

    @classmethod
    def from_sources(cls, flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``flags`` (field name -> value; ``None`` means not given), then ``environ``, then defaults.

        ``flags`` may also hold the backend options ``model``, ``device``, ``preset`` and ``precision``.
        """
        flags = {name: value for name, value in (flags or {}).items() if value is not None}
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (variable, parse) in ENVIRONMENT.items():
            if name in flags:
                values[name] = flags[name]
            elif environ.get(variable, "").strip():
                values[name] = _parse(parse, variable, environ[variable].strip())
        options = {}
        for name, variable in BACKEND_OPTION_ENVIRONMENT.items():
            if name in flags:
                options[name] = flags[name]
            elif environ.get(variable, "").strip():
                options[name] = environ[variable].strip()
        unknown = set(flags) - set(ENVIRONMENT) - set(BACKEND_OPTION_ENVIRONMENT) - {"backend_options"}
        if unknown:
            raise InvalidOptionError(f"unknown server setting(s) {sorted(unknown)}")
        values["backend_options"] = {**flags.get("backend_options", {}), **options}
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)


def _parse(parse: Callable[[str], Any], variable: str, text: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        raise InvalidOptionError(f"{variable}={text!r} is not a valid value") from None


def _switch(text: str) -> bool:
    value = text.strip().lower()
    if value not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
        raise InvalidOptionError(f"expected true or false (1/0, yes/no, on/off), got {text!r}")
    return value in {"1", "true", "yes", "on"}


def _megabytes(text: str) -> int:
    return round(float(text) * MB)


ENVIRONMENT: dict[str, tuple[str, Callable[[str], Any]]] = {
    "host": ("AUDAR_HOST", str),
    "port": ("AUDAR_PORT", int),
    "backend": ("AUDAR_BACKEND", str),
    "asr_model": ("AUDAR_ASR", str),
    "compute_type": ("AUDAR_COMPUTE_TYPE", str),
    "api_key": ("AUDAR_API_KEY", str),
    "max_upload_bytes": ("AUDAR_MAX_UPLOAD_MB", _megabytes),
    "max_audio_seconds": ("AUDAR_MAX_AUDIO_SECONDS", float),
    "max_realtime_sessions": ("AUDAR_MAX_REALTIME_SESSIONS", int),
    "realtime_idle_seconds": ("AUDAR_REALTIME_IDLE_SECONDS", float),
    "max_message_bytes": ("AUDAR_MAX_MESSAGE_BYTES", int),
    "realtime_backlog_seconds": ("AUDAR_REALTIME_BACKLOG_SECONDS", float),
    "asr_time_factor": ("AUDAR_ASR_TIME_FACTOR", float),
    "workers": ("AUDAR_WORKERS", int),
    "voices": ("AUDAR_VOICES", str),
    "web_page": ("AUDAR_WEB_PAGE", _switch),
    "params": ("AUDAR_PARAMS", str),
}
"""Field name -> (environment variable, parser). ``AUDAR_MAX_UPLOAD_MB`` is in megabytes (10^6 bytes)."""

BACKEND_OPTION_ENVIRONMENT = {"model": "AUDAR_MODEL", "device": "AUDAR_DEVICE", "preset": "AUDAR_PRESET",
                              "precision": "AUDAR_PRECISION"}
"""Backend option -> environment variable."""
