"""The multipart forms of the audio routes, read and validated into frozen request types.

Field names and encodings are OpenAI's (arrays as ``name[]`` repeated, or ``name``); ours
are ``diarize``, ``num_speakers``, ``min_speakers`` and ``max_speakers``. A field this server
does not know, or knows but cannot honour, is refused with a 400 naming it, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import SpeakerCount
from .chunking import ChunkingStrategy, parse_chunking_strategy
from .client_values import language_code, number, prompt
from .errors import APIError
from .known_speakers import SpeakerReference, parse_known_speakers
from .models import DIARIZATION_MODEL, diarization_models, diarizes_by_default, resolve_model, transcription_models
from .uploads import Upload

__all__ = [
    "DIARIZATION_FORMATS",
    "RESPONSE_FORMATS",
    "DiarizationRequest",
    "TranscriptionRequest",
    "read_diarization_form",
    "read_transcription_form",
]

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json", "diarized_json", "rttm")
STREAM_FORMATS = ("json", "text", "diarized_json")
SPEAKER_FORMATS = ("diarized_json", "rttm")
"""Formats that are about speakers: they diarize even without ``diarize=true``."""
DIARIZATION_FORMATS = ("json", "rttm")
GRANULARITIES = ("segment", "word")
SPEAKER_FIELDS = ("num_speakers", "min_speakers", "max_speakers")

UNSUPPORTED = {
    "include": "include[]=logprobs is not supported: this server does not return token log probabilities",
    "keywords": "keywords[] is not supported by this server",
    "languages": "languages[] is not supported by this server; give one language",
}


@dataclass(frozen=True)
class TranscriptionRequest:
    """A ``POST /v1/audio/transcriptions`` form, validated."""

    upload: Upload
    model: str
    response_format: str = "json"
    language: str | None = None
    prompt: str | None = None
    temperature: float | None = None
    timestamp_granularities: tuple[str, ...] = ("segment",)
    chunking_strategy: ChunkingStrategy | None = None
    stream: bool = False
    diarize: bool = False
    speakers: SpeakerCount = field(default_factory=SpeakerCount)
    known_speakers: tuple[SpeakerReference, ...] = ()

    def recognizer_options(self) -> dict[str, Any]:
        """The recognizer's options beyond the language (faster-whisper's ``WhisperModel.transcribe`` names).

        ``temperature`` 0 or unset keeps faster-whisper's fallback schedule (0.0, 0.2, ... 1.0),
        which is what OpenAI documents for 0: start greedy, raise it where decoding fails.
        """
        options: dict[str, Any] = {}
        if self.prompt:
            options["initial_prompt"] = self.prompt
        if self.temperature:
            options["temperature"] = self.temperature
        if self.chunking_strategy is not None:
            options.update(self.chunking_strategy.whisper_options())
        return options


@dataclass(frozen=True)
class DiarizationRequest:
    """A ``POST /v1/audio/diarizations`` form, validated."""

    upload: Upload
    model: str = DIARIZATION_MODEL
    response_format: str = "json"
    speakers: SpeakerCount = field(default_factory=SpeakerCount)
    known_speakers: tuple[SpeakerReference, ...] = ()


class Fields:
    """Form values by name (``name[]`` read as ``name``), each read at most once."""

    def __init__(self, form) -> None:
        self.values: dict[str, list[Any]] = {}
        for name, value in form.multi_items():
            self.values.setdefault(name, []).append(value)
        self.read: set[str] = set()

    def upload(self, name: str = "file") -> Upload:
        self.read.add(name)
        values = self.values.get(name, [])
        if not values:
            raise APIError(f"'{name}' is required: the audio, as a file upload", 400, name,
                           "missing_required_parameter")
        if len(values) > 1:
            raise APIError(f"give one '{name}', got {len(values)}", 400, name, "invalid_value")
        value = values[0]
        if isinstance(value, str):
            raise APIError(f"'{name}' must be a file upload (multipart file part), not a text field", 400, name,
                           "invalid_value")
        return Upload(value.file, value.filename or "audio")

    def strings(self, name: str) -> list[str]:
        return [value for value in self.all_strings(name) if value.strip()]

    def all_strings(self, name: str) -> list[str]:
        """Every value of ``name``/``name[]``, empty ones too."""
        values = []
        for key in (name, name + "[]"):
            self.read.add(key)
            values += self.values.get(key, [])
        if any(not isinstance(value, str) for value in values):
            raise APIError(f"'{name}' must be a text field, not a file", 400, name, "invalid_value")
        return values

    def known_speakers(self) -> tuple[SpeakerReference, ...]:
        return parse_known_speakers(self.all_strings("known_speaker_names"),
                                    self.all_strings("known_speaker_references"))

    def text(self, name: str) -> str | None:
        values = self.strings(name)
        if len(values) > 1:
            raise APIError(f"'{name}' was given {len(values)} times", 400, name, "invalid_value")
        return values[0].strip() if values else None

    def boolean(self, name: str) -> bool | None:
        text = self.text(name)
        if text is None:
            return None
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise APIError(f"'{name}' must be true or false, got {text!r}", 400, name, "invalid_value")

    def integer(self, name: str) -> int | None:
        text = self.text(name)
        if text is None:
            return None
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            raise APIError(f"'{name}' must be a whole number, got {text!r}", 400, name, "invalid_value")
        return int(text)

    def number(self, name: str, low: float, high: float) -> float | None:
        text = self.text(name)
        return None if text is None else number(text, name, low, high)

    def choice(self, name: str, choices: Iterable[str], default: str) -> str:
        choices = tuple(choices)
        text = self.text(name)
        if text is None:
            return default
        if text not in choices:
            raise APIError(f"'{name}' must be one of {', '.join(choices)}; got {text!r}", 400, name,
                           "invalid_value")
        return text

    def speakers(self) -> SpeakerCount:
        counts = {name: self.integer(name) for name in SPEAKER_FIELDS}
        for name, value in counts.items():
            if value is not None and not 1 <= value <= 64:
                raise APIError(f"'{name}' must be in 1..64, got {value}", 400, name, "invalid_value")
        return SpeakerCount(**counts)

    def refuse_the_rest(self) -> None:
        """400 for a field nobody read: unsupported ones with the reason, unknown ones by name."""
        for name in self.values:
            if name in self.read:
                continue
            base = name.removesuffix("[]")
            if base in UNSUPPORTED:
                raise APIError(UNSUPPORTED[base], 400, base, "unsupported_parameter")
            raise APIError(f"unrecognized form field {name!r}", 400, name, "unknown_parameter")


def read_transcription_form(form, backend: str) -> TranscriptionRequest:
    """Validate a transcription form (a Starlette ``FormData``) for a server of the ``backend`` backend."""
    fields = Fields(form)
    model = resolve_model(fields.text("model"), transcription_models(backend))
    response_format = fields.choice("response_format", RESPONSE_FORMATS, "json")
    language = language_code(fields.text("language"))
    granularities = fields.strings("timestamp_granularities")
    wrong = [value for value in granularities if value not in GRANULARITIES]
    if wrong:
        raise APIError(f"timestamp_granularities[] takes 'segment' and 'word', got {wrong[0]!r}", 400,
                       "timestamp_granularities", "invalid_value")
    chunking_fields = {name: values for name, values in fields.values.items() if name.startswith("chunking_strategy")}
    fields.read.update(chunking_fields)
    stream = bool(fields.boolean("stream"))
    if stream and response_format not in STREAM_FORMATS:
        raise APIError(f"stream=true answers in {', '.join(STREAM_FORMATS)}; not {response_format}", 400,
                       "stream", "unsupported_value")
    diarize = _diarize(fields.boolean("diarize"), response_format, model)
    speakers = fields.speakers()
    if not diarize and speakers != SpeakerCount():
        raise APIError("speaker counts need diarization: add diarize=true", 400, "diarize", "invalid_value")
    known_speakers = fields.known_speakers()
    if not diarize and known_speakers:
        raise APIError("known speakers name the speakers of a diarization: add diarize=true (or use "
                       "response_format=diarized_json)", 400, "diarize", "invalid_value")
    request = TranscriptionRequest(
        upload=fields.upload(),
        model=model,
        response_format=response_format,
        language=language,
        prompt=prompt(fields.text("prompt")),
        temperature=fields.number("temperature", 0.0, 1.0),
        timestamp_granularities=tuple(dict.fromkeys(granularities)) or ("segment",),
        chunking_strategy=parse_chunking_strategy(chunking_fields),
        stream=stream,
        diarize=diarize,
        speakers=speakers,
        known_speakers=known_speakers,
    )
    fields.refuse_the_rest()
    return request


def _diarize(asked: bool | None, response_format: str, model: str) -> bool:
    if asked is False and response_format in SPEAKER_FORMATS:
        raise APIError(f"response_format={response_format} gives speakers, which needs diarization; "
                       "drop diarize=false", 400, "diarize", "invalid_value")
    if asked is not None:
        return asked
    return response_format in SPEAKER_FORMATS or diarizes_by_default(model)


def read_diarization_form(form, backend: str) -> DiarizationRequest:
    """Validate a diarization form (a Starlette ``FormData``) for a server of the ``backend`` backend."""
    fields = Fields(form)
    request = DiarizationRequest(
        model=resolve_model(fields.text("model"), diarization_models(backend)),
        response_format=fields.choice("response_format", DIARIZATION_FORMATS, "json"),
        speakers=fields.speakers(),
        upload=fields.upload(),
        known_speakers=fields.known_speakers(),
    )
    fields.refuse_the_rest()
    return request
