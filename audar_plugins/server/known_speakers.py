"""OpenAI's ``known_speaker_names[]`` and ``known_speaker_references[]``: names on the voices.

The references are data URLs (``data:audio/wav;base64,...``) of the speakers alone, one per
name, in the same order. They are decoded in memory, enrolled for this request only
(:func:`~audar_plugins.speakers.enroll`), and never logged or written: a reference's bytes are
left out of every ``repr``. OpenAI takes at most 4 references of 2-10 s; this server takes
up to :data:`MAX_REFERENCES`, each at most :data:`MAX_REFERENCE_BYTES` decoded and 30 s long.
The server's own voiceprints (``audar serve --voices DIR``) are known too; a request's
reference replaces a server voiceprint of the same name.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import AudarError
from ..speakers import NamingBackend, VoiceEncoder, Voiceprint, enroll, known_voiceprints
from ..speakers.enrollment import check_name
from .errors import APIError

__all__ = ["MAX_REFERENCES", "MAX_REFERENCE_BYTES", "SpeakerReference", "naming_for",
           "parse_known_speakers", "voiceprints_for"]

MAX_REFERENCES = 8
MAX_REFERENCE_BYTES = 3_000_000
NAMES = "known_speaker_names"
REFERENCES = "known_speaker_references"
_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[\w.+-]+)*;base64,(?P<data>.*)", re.DOTALL)


@dataclass(frozen=True)
class SpeakerReference:
    """One known speaker of a request: the name and the decoded reference clip."""

    name: str
    audio: bytes = field(repr=False)


def expand(values: Sequence[str]) -> list[str]:
    """Form values of an array field: repeated ``name[]``/``name`` fields, or one JSON array."""
    if len(values) == 1 and values[0].lstrip().startswith("["):
        try:
            parsed = json.loads(values[0])
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
    return list(values)


def parse_known_speakers(names: Sequence[str], references: Sequence[str]) -> tuple[SpeakerReference, ...]:
    """The request's known speakers from the two fields' values; a 400 for anything unusable."""
    names, references = expand(names), expand(references)
    if not names and not references:
        return ()
    if len(names) != len(references):
        raise APIError(f"{NAMES}[] and {REFERENCES}[] must pair up one to one; got {len(names)} name(s) and "
                       f"{len(references)} reference(s)", 400, NAMES if len(names) > len(references) else REFERENCES,
                       "invalid_value")
    if len(names) > MAX_REFERENCES:
        raise APIError(f"at most {MAX_REFERENCES} known speakers per request, got {len(names)}", 400, REFERENCES,
                       "invalid_value")
    for index, name in enumerate(names):
        if not name.strip():
            raise APIError(f"{NAMES}[{index}] is empty", 400, NAMES, "invalid_value")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise APIError(f"{NAMES}[] repeats {', '.join(repeated)}: each name once", 400, NAMES, "invalid_value")
    return tuple(SpeakerReference(name, _decode(reference, index)) for index, (name, reference)
                 in enumerate(zip(names, references)))


def _decode(reference: str, index: int) -> bytes:
    where = f"{REFERENCES}[{index}]"
    match = _DATA_URL.fullmatch(reference.strip())
    if match is None:
        raise APIError(f"{where} must be a data URL of audio, data:audio/wav;base64,...", 400, REFERENCES,
                       "invalid_value")
    if match["type"] and not match["type"].startswith(("audio/", "video/", "application/octet-stream")):
        raise APIError(f"{where} is {match['type']}, not audio", 400, REFERENCES, "invalid_value")
    if len(match["data"]) > MAX_REFERENCE_BYTES * 4 // 3 + 4:
        raise APIError(f"{where} is over {MAX_REFERENCE_BYTES // 1_000_000} MB", 400, REFERENCES, "invalid_value")
    try:
        audio = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise APIError(f"{where} is not valid base64", 400, REFERENCES, "invalid_value") from None
    if not audio:
        raise APIError(f"{where} is empty", 400, REFERENCES, "invalid_value")
    return audio


def voiceprints_for(references: Sequence[SpeakerReference], server_voices: Sequence[Voiceprint],
                    encoder: VoiceEncoder) -> list[Voiceprint]:
    """The server's voiceprints and the request's references enrolled (a 400 naming the reference
    that cannot be)."""
    for reference in references:
        try:
            check_name(reference.name)
        except AudarError as error:
            raise APIError(str(error), 400, NAMES, "invalid_value") from None
    enrolled = []
    for index, reference in enumerate(references):
        try:
            enrolled.append(enroll(reference.name, [reference.audio], encoder, labels=[f"{REFERENCES}[{index}]"]))
        except AudarError as error:
            raise APIError(str(error), 400, REFERENCES, "invalid_value") from None
    named = {voiceprint.name for voiceprint in enrolled}
    try:
        return known_voiceprints([*(v for v in server_voices if v.name not in named), *enrolled], encoder)
    except AudarError as error:
        raise APIError(str(error), 400, NAMES, "invalid_value") from None


def naming_for(backend, references: Sequence[SpeakerReference], server_voices: Sequence[Voiceprint],
               encoder: Callable[[], VoiceEncoder]) -> NamingBackend | None:
    """``backend`` naming the request's known speakers, or ``None`` when neither it nor the server knows one."""
    if not references and not server_voices:
        return None
    speaker_encoder = encoder()
    return NamingBackend(backend, voiceprints_for(references, server_voices, speaker_encoder), speaker_encoder)
