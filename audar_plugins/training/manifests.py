"""NeMo diarization manifests: writing them from audio + RTTM pairs, and checking them before training.

A manifest is JSON Lines, one training segment per line, as NeMo's
``AudioToSpeechE2ESpkDiarDataset`` reads it::

    {"audio_filepath": "/data/ES2002a.wav", "offset": 90.0, "duration": 90.0, "label": "infer",
     "text": "-", "num_speakers": 4, "rttm_filepath": "/out/rttm/ES2002a.rttm", "uem_filepath": null}

NeMo reads every line of ``rttm_filepath`` whatever its recording identifier, and silently
drops speakers beyond the model's count, so :func:`check_manifest` insists on one RTTM per
recording, named after it, and on no more speakers in a segment than the model has.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FormatError, InvalidOptionError, TrainingDataError

if TYPE_CHECKING:
    from pyannote.core import Annotation

__all__ = [
    "DEFAULT_SEGMENT",
    "ManifestEntry",
    "audio_duration",
    "check_manifest",
    "pair_recordings",
    "read_manifest",
    "slice_recordings",
    "write_manifest",
]

DEFAULT_SEGMENT = 90.0
"""Seconds per training segment: the length the model card's recipe trains on."""

_TOLERANCE = 0.05
"""Seconds a segment may run past the end of its audio (rounding in the manifest)."""


@dataclass(frozen=True)
class ManifestEntry:
    """One training segment: ``duration`` seconds of ``audio_filepath`` from ``offset``."""

    audio_filepath: str
    offset: float
    duration: float
    rttm_filepath: str
    num_speakers: int

    @property
    def uri(self) -> str:
        """The recording's identifier: its file name without the extension."""
        return Path(self.audio_filepath).stem

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "label": "infer", "text": "-", "uem_filepath": None})


def audio_duration(path: str | os.PathLike) -> float:
    """Seconds of audio in a file, from its header; :class:`TrainingDataError` if it cannot be read."""
    import soundfile

    if not os.path.isfile(path):
        raise TrainingDataError(f"no such audio file: {os.fspath(path)!r}")
    try:
        info = soundfile.info(os.fspath(path))
    except Exception as error:  # soundfile raises its own LibsndfileError, or RuntimeError on old versions
        raise TrainingDataError(f"cannot read {os.fspath(path)!r} as audio: {error}") from error
    if info.frames <= 0:
        raise TrainingDataError(f"{os.fspath(path)!r} holds no audio")
    return info.frames / info.samplerate


def pair_recordings(audio: Iterable[str | os.PathLike], references: Mapping[str, Annotation]) -> dict[str, Path]:
    """Audio files by recording identifier (file name without extension), each with its reference.

    Raises :class:`TrainingDataError` for an audio file with no reference, a reference with no
    audio, or two files with the same name.
    """
    paths: dict[str, Path] = {}
    for path in map(Path, audio):
        if path.stem in paths:
            raise TrainingDataError(f"two audio files are named {path.stem!r}: {paths[path.stem]} and {path}")
        paths[path.stem] = path
    unreferenced = sorted(set(paths) - set(references))
    if unreferenced:
        raise TrainingDataError(f"no reference (RTTM uri) for the audio files {', '.join(unreferenced)}")
    unknown = sorted(set(references) - set(paths))
    if unknown:
        raise TrainingDataError(f"the RTTM names recordings with no audio file: {', '.join(unknown)}")
    return paths


def slice_recordings(
    audio: Mapping[str, str | os.PathLike],
    references: Mapping[str, Annotation],
    rttm_directory: str | os.PathLike,
    segment: float = DEFAULT_SEGMENT,
    min_segment: float = 5.0,
) -> list[ManifestEntry]:
    """Manifest entries cutting each recording into ``segment``-second pieces.

    A shorter last piece is kept if it lasts ``min_segment`` seconds or more. Each recording's
    reference is written to ``rttm_directory/<uri>.rttm``, which its entries name.
    """
    from pyannote.core import Segment

    if not 0 < min_segment <= segment:
        raise InvalidOptionError(f"segment lengths must satisfy 0 < min_segment <= segment, got "
                                 f"{min_segment} and {segment}")
    rttm_directory = Path(rttm_directory)
    rttm_directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for uri, path in sorted(audio.items()):
        total = audio_duration(path)
        reference = references[uri]
        rttm = rttm_directory / f"{uri}.rttm"
        rttm.write_text(_rttm(reference, uri))
        offset = 0.0
        while total - offset >= min_segment:
            duration = min(segment, total - offset)
            speakers = reference.crop(Segment(offset, offset + duration)).labels()
            entries.append(ManifestEntry(str(Path(path).resolve()), round(offset, 3), round(duration, 3),
                                         str(rttm.resolve()), len(speakers)))
            offset += segment
    return entries


def _rttm(reference: Annotation, uri: str) -> str:
    from ..formats.diarization import to_rttm

    renamed = reference.copy()
    renamed.uri = uri
    return to_rttm(renamed)


def write_manifest(entries: Iterable[ManifestEntry], path: str | os.PathLike) -> int:
    """Write the entries as a NeMo manifest (JSON Lines); returns how many."""
    lines = [entry.to_json() for entry in entries]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("".join(line + "\n" for line in lines))
    return len(lines)


def read_manifest(path: str | os.PathLike) -> list[ManifestEntry]:
    """The entries of a NeMo diarization manifest; :class:`TrainingDataError` on a malformed line."""
    if not os.path.isfile(path):
        raise TrainingDataError(f"no such manifest: {os.fspath(path)!r}")
    entries = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{os.fspath(path)}, line {number}"
        try:
            item: dict[str, Any] = json.loads(line)
            audio = item.get("audio_filepath", item.get("audio_filename"))
            entries.append(ManifestEntry(
                str(audio), float(item.get("offset") or 0.0), float(item["duration"]),
                str(item["rttm_filepath"]), int(item.get("num_speakers") or 0)))
        except (ValueError, KeyError, TypeError) as error:
            raise TrainingDataError(f"{where}: not a diarization manifest entry ({error!r})") from error
        if audio is None:
            raise TrainingDataError(f"{where}: no audio_filepath")
    if not entries:
        raise TrainingDataError(f"{os.fspath(path)!r} has no entries")
    return entries


def check_manifest(path: str | os.PathLike, max_speakers: int) -> list[ManifestEntry]:
    """Read a manifest and check everything NeMo's data loader would trip over, or silently get wrong.

    Every audio file must decode and contain its segment; every RTTM must exist, parse, name
    only the recording it belongs to (empty means no speech), and have at most ``max_speakers``
    speakers within the segment. Raises :class:`TrainingDataError` naming the line.
    """
    from pyannote.core import Segment

    durations: dict[str, float] = {}
    rttms: dict[str, dict[str, Annotation]] = {}
    entries = read_manifest(path)
    for number, entry in enumerate(entries, start=1):
        where = f"{os.fspath(path)}, entry {number}"
        if entry.audio_filepath not in durations:
            try:
                durations[entry.audio_filepath] = audio_duration(entry.audio_filepath)
            except TrainingDataError as error:
                raise TrainingDataError(f"{where}: {error}") from None
        total = durations[entry.audio_filepath]
        if entry.offset < 0 or entry.duration <= 0 or entry.offset + entry.duration > total + _TOLERANCE:
            raise TrainingDataError(f"{where}: segment {entry.offset:g}-{entry.offset + entry.duration:g} s is "
                                    f"outside {entry.audio_filepath!r} ({total:.2f} s)")
        if entry.rttm_filepath not in rttms:
            rttms[entry.rttm_filepath] = _read_rttm(entry.rttm_filepath, where)
        references = rttms[entry.rttm_filepath]
        others = sorted(set(references) - {entry.uri})
        if others:
            raise TrainingDataError(f"{where}: {entry.rttm_filepath!r} names recordings other than "
                                    f"{entry.uri!r} ({', '.join(others[:5])}); NeMo would mix them into its labels")
        if entry.uri in references:
            window = Segment(entry.offset, entry.offset + entry.duration)
            speakers = references[entry.uri].crop(window).labels()
            if len(speakers) > max_speakers:
                raise TrainingDataError(f"{where}: {len(speakers)} speakers in {entry.uri} "
                                        f"{entry.offset:g}-{entry.offset + entry.duration:g} s, but the model "
                                        f"has {max_speakers} outputs")
    return entries


def _read_rttm(path: str, where: str) -> dict[str, Annotation]:
    from ..formats.diarization import read_rttm

    if os.path.isfile(path) and not Path(path).read_text().strip():
        return {}
    try:
        return read_rttm(path)
    except FormatError as error:
        raise TrainingDataError(f"{where}: {error}") from None

