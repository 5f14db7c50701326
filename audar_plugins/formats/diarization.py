"""Writers (and the RTTM and UEM readers) for diarization results, a pyannote.core ``Annotation``.

Each format has one generator of text pieces, behind ``to_<format>()`` (a
string) and ``write_<format>()`` (to an open text file).

- RTTM: pyannote.core's own writer.
- JSON: the model card's shape,
  ``{"segments": [{"speaker": "speaker_0", "start": 0.0, "end": 3.2}, ...]}``,
  ordered by start time; times in seconds, rounded to the millisecond.
- JSON Lines (:func:`to_json_line`): one line per file, ``{"uri", "segments"}``, for several
  files in one stream.

The frame probabilities themselves are saved by :mod:`.npz`.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import FormatError, InvalidOptionError

if TYPE_CHECKING:
    from pyannote.core import Annotation, Timeline

__all__ = [
    "FORMATS",
    "MAX_URI_LENGTH",
    "iter_json",
    "iter_rttm",
    "read_rttm",
    "read_uem",
    "safe_uri",
    "segments",
    "to_json",
    "to_json_line",
    "to_rttm",
    "write",
    "write_json",
    "write_rttm",
]

FORMATS = ("rttm", "json")

MAX_URI_LENGTH = 200
"""The longest file identifier :func:`safe_uri` returns, in characters."""

_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
"""Unicode categories dropped from identifiers: controls (NUL, ESC), format characters (bidi
overrides such as U+202E, zero-width spaces), surrogates, private-use and unassigned code points."""


def safe_uri(name: str) -> str:
    r"""A file identifier safe in RTTM and in logs.

    Whitespace runs become ``_``; control, format, surrogate, private-use and unassigned
    characters are dropped; letters of any script are kept. The result has at most
    :data:`MAX_URI_LENGTH` characters, and is ``"audio"`` when nothing is left.

    Examples
    --------
    >>> safe_uri("team meeting 3")
    'team_meeting_3'
    >>> safe_uri("evil\u202ewav.exe\x00")
    'evilwav.exe'
    >>> safe_uri("\x1b")
    'audio'
    """
    kept = "".join(c for c in name if c.isspace() or unicodedata.category(c) not in _INVISIBLE)
    return re.sub(r"\s+", "_", kept.strip())[:MAX_URI_LENGTH] or "audio"


def _check_labels(annotation: Annotation) -> None:
    for label in annotation.labels():
        if not isinstance(label, str) or not label or re.search(r"\s", label):
            raise InvalidOptionError(f"speaker labels must be non-empty strings without spaces, got {label!r}")


def iter_rttm(annotation: Annotation) -> Iterator[str]:
    """RTTM lines, from pyannote.core's writer."""
    if annotation.uri and safe_uri(annotation.uri) != annotation.uri:
        annotation = annotation.copy()
        annotation.uri = safe_uri(annotation.uri)
    _check_labels(annotation)
    yield from annotation.to_rttm().splitlines(keepends=True)


def to_rttm(annotation: Annotation) -> str:
    """The annotation as RTTM text."""
    return "".join(iter_rttm(annotation))


def write_rttm(annotation: Annotation, file: TextIO) -> None:
    """Write RTTM lines to an open text file."""
    file.writelines(iter_rttm(annotation))


def segments(annotation: Annotation) -> list[dict[str, Any]]:
    """``[{"speaker", "start", "end"}, ...]`` ordered by start, end, then speaker."""
    rows = [
        {"speaker": str(label), "start": round(segment.start, 3), "end": round(segment.end, 3)}
        for segment, _, label in annotation.itertracks(yield_label=True)
    ]
    return sorted(rows, key=lambda row: (row["start"], row["end"], row["speaker"]))


def iter_json(annotation: Annotation, indent: int | None = 2) -> Iterator[str]:
    """The model card's JSON document, as one piece."""
    yield json.dumps({"segments": segments(annotation)}, indent=indent) + "\n"


def to_json(annotation: Annotation, indent: int | None = 2) -> str:
    """The annotation as the model card's JSON."""
    return "".join(iter_json(annotation, indent))


def write_json(annotation: Annotation, file: TextIO, indent: int | None = 2) -> None:
    """Write the model card's JSON to an open text file."""
    file.writelines(iter_json(annotation, indent))


def to_json_line(annotation: Annotation, uri: str) -> str:
    """One JSON Lines record, ``{"uri": uri, "segments": [...]}`` and a newline: several files in one stream."""
    return json.dumps({"uri": uri, "segments": segments(annotation)}) + "\n"


_WRITERS = {"rttm": write_rttm, "json": write_json}


def write(annotation: Annotation, file: TextIO, format: str) -> None:
    """Write ``annotation`` in ``format`` (one of :data:`FORMATS`)."""
    try:
        writer = _WRITERS[format]
    except KeyError:
        raise InvalidOptionError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}") from None
    writer(annotation, file)


def read_rttm(path: str | os.PathLike) -> dict[str, Annotation]:
    """Annotations by file identifier, read with pyannote.database."""
    from pyannote.database.util import load_rttm

    return _read(load_rttm, path, "RTTM")


def read_uem(path: str | os.PathLike) -> dict[str, Timeline]:
    """Scored regions by file identifier, read with pyannote.database."""
    from pyannote.database.util import load_uem

    return _read(load_uem, path, "UEM")


def _read(loader: Any, path: str | os.PathLike, kind: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise FormatError(f"no such {kind} file: {os.fspath(path)!r}")
    try:
        return loader(os.fspath(path))
    except Exception as error:
        raise FormatError(f"cannot read {os.fspath(path)!r} as {kind}: {error}") from error

