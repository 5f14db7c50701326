"""What a batch works on: audio files, folders of them, manifests; where each one's outputs go.

Output names mirror the input tree below the inputs' common folder (for a manifest, its rows'
common folder): ``audar batch corpus/ --output out`` writes ``corpus/ami/a.wav``'s results as
``out/ami/a.rttm``. A file keeps its
extension in the name (``a.wav.rttm``) when its folder holds another audio file of the same
stem, so names never collide and do not change when other files join the batch.

A manifest is a ``.jsonl`` (one JSON object per line) or ``.csv``/``.tsv`` file with a column
``path`` and optional ``reference`` (an RTTM file), ``uri``, ``num_speakers``,
``min_speakers``, ``max_speakers``; relative paths are read from the manifest's folder. Every
column is kept for ``--group-by``. Inputs are read lazily, so a manifest of a million rows is
never held in memory.
"""

from __future__ import annotations

import csv
import functools
import json
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath

from ..errors import InvalidOptionError

__all__ = ["AUDIO_SUFFIXES", "MANIFEST_SUFFIXES", "BatchItem", "BatchInputs"]

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".au", ".caf",
                            ".w64", ".rf64", ".sph", ".nist"})
"""Suffixes of the files found in folders: what libsndfile decodes."""

MANIFEST_SUFFIXES = frozenset({".jsonl", ".ndjson", ".csv", ".tsv"})

_COUNT_COLUMNS = ("num_speakers", "min_speakers", "max_speakers")


@dataclass(frozen=True)
class BatchItem:
    """One input file of a batch.

    Attributes
    ----------
    path
        The audio file (absolute).
    name
        Where its outputs go: a POSIX path relative to the output folder, without extension.
    uri
        The file identifier in its outputs (RTTM's second field).
    reference
        An RTTM file with its reference (from a manifest), or None.
    speakers
        Speaker counts from a manifest row (``num_speakers`` ...), over the batch's own.
    columns
        The manifest row as read, for ``--group-by``; empty for files and folders.
    """

    path: str
    name: str
    uri: str
    reference: str | None = None
    speakers: Mapping[str, int] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)

    def group(self, by: str) -> str:
        """The item's group: the first folder of ``name`` for ``"dir"`` ("." at the top), else a manifest column."""
        if by == "dir":
            parts = PurePosixPath(self.name).parts
            return parts[0] if len(parts) > 1 else "."
        if by not in self.columns:
            raise InvalidOptionError(f"--group-by {by!r}: {self.path} has no such manifest column "
                                     f"(columns: {', '.join(self.columns) or 'none, it is not from a manifest'})")
        return self.columns[by]


class BatchInputs:
    """The items of the inputs given to ``audar batch``, in a stable order, each once.

    Parameters
    ----------
    inputs
        Audio files, folders (searched recursively for :data:`AUDIO_SUFFIXES`) and manifests.
    """

    def __init__(self, inputs: Sequence[str | os.PathLike]) -> None:
        if not inputs:
            raise InvalidOptionError("no inputs: give audio files, folders or a manifest")
        self.inputs = [os.path.abspath(os.fspath(given)) for given in inputs]
        for given, path in zip(inputs, self.inputs):
            if not os.path.exists(path):
                raise InvalidOptionError(f"no such file or folder: {os.fspath(given)}")
        self.root = os.path.commonpath([self._folder_of(path) for path in self.inputs])
        self._shared_stems = functools.lru_cache(maxsize=256)(_shared_stems)

    def _folder_of(self, path: str) -> str:
        """The folder an input's outputs are named below: itself, a file's folder, a manifest's rows' common folder."""
        if os.path.isdir(path):
            return path
        if PurePath(path).suffix.lower() not in MANIFEST_SUFFIXES:
            return os.path.dirname(path)
        folder = os.path.dirname(path)
        common = None
        for _, row in _manifest_rows(path):
            audio = row.get("path") or row.get("audio")
            if audio:
                parent = os.path.dirname(os.path.normpath(os.path.join(folder, audio)))
                common = parent if common is None else os.path.commonpath([common, parent])
        return folder if common is None else common

    def count(self) -> int:
        """How many items there are (reading every manifest row, so that a bad one is reported now)."""
        return sum(1 for _ in self)

    def references_given(self) -> bool:
        """Whether a manifest among the inputs names a reference in any row."""
        return any(row.get("reference") or row.get("rttm") for path in self.inputs
                   if not os.path.isdir(path) and PurePath(path).suffix.lower() in MANIFEST_SUFFIXES
                   for _, row in _manifest_rows(path))

    def __iter__(self) -> Iterator[BatchItem]:
        """Each item once: a file listed twice is worked on once (as first listed); two files that would
        write the same outputs (``a.wav`` beside ``a.xyz`` named as an input) are an error."""
        seen: dict[str, str] = {}
        for item in self._items():
            other = seen.get(item.name)
            if other is None:
                seen[item.name] = item.path
                yield item
            elif other != item.path:
                raise InvalidOptionError(f"{other} and {item.path} would both write {item.name}.*: rename one")

    def _items(self) -> Iterator[BatchItem]:
        for path in self.inputs:
            if os.path.isdir(path):
                yield from self._folder(path)
            elif PurePath(path).suffix.lower() in MANIFEST_SUFFIXES:
                yield from self._manifest(path)
            else:
                yield self._item(path)

    def _folder(self, folder: str) -> Iterator[BatchItem]:
        visited: set[str] = set()
        for directory, subdirectories, files in os.walk(folder, followlinks=True):
            real = os.path.realpath(directory)
            if real in visited:  # a symbolic link back up the tree
                subdirectories.clear()
                continue
            visited.add(real)
            subdirectories.sort()
            for file in sorted(files):
                if PurePath(file).suffix.lower() in AUDIO_SUFFIXES:
                    yield self._item(os.path.join(directory, file))

    def _manifest(self, manifest: str) -> Iterator[BatchItem]:
        folder = os.path.dirname(manifest)
        for line, row in _manifest_rows(manifest):
            where = f"{manifest}, {'row' if PurePath(manifest).suffix.lower() in {'.csv', '.tsv'} else 'line'} {line}"
            audio = row.get("path") or row.get("audio")
            if not audio:
                raise InvalidOptionError(f"{where}: no 'path'")
            path = os.path.normpath(os.path.join(folder, audio))
            reference = row.get("reference") or row.get("rttm")
            speakers = {}
            for column in _COUNT_COLUMNS:
                value = row.get(column)
                if value not in (None, ""):
                    try:
                        speakers[column] = int(value)
                    except ValueError:
                        raise InvalidOptionError(f"{where}: {column} must be a whole number, got {value!r}") from None
            yield self._item(path, uri=row.get("uri") or None,
                             reference=None if not reference else os.path.normpath(os.path.join(folder, reference)),
                             speakers=speakers, columns=row)

    def _item(self, path: str, uri: str | None = None, reference: str | None = None,
              speakers: Mapping[str, int] | None = None, columns: Mapping[str, str] | None = None) -> BatchItem:
        from ..formats import safe_uri

        pure = PurePath(path)
        relative = PurePath(os.path.relpath(path, self.root))
        stem = pure.name if pure.stem in self._shared_stems(str(pure.parent)) else pure.stem
        name = PurePosixPath(*relative.parent.parts, stem).as_posix()
        return BatchItem(path, name, safe_uri(uri or pure.stem), reference, dict(speakers or {}), dict(columns or {}))


def _manifest_rows(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line or row number, the row with values as strings) of a JSON Lines or CSV/TSV manifest."""
    json_lines = PurePath(path).suffix.lower() in {".jsonl", ".ndjson"}
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:  # -sig: spreadsheets begin CSV with a BOM
            if json_lines:
                for number, line in enumerate(file, start=1):
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as error:
                        raise InvalidOptionError(f"{path}, line {number}: not JSON ({error.msg})") from None
                    if not isinstance(row, dict):
                        raise InvalidOptionError(f"{path}, line {number}: not a JSON object")
                    yield number, {str(key): "" if value is None else str(value) for key, value in row.items()}
            else:
                reader = csv.DictReader(file, delimiter="\t" if PurePath(path).suffix.lower() == ".tsv" else ",")
                for number, row in enumerate(reader, start=1):
                    yield number, {key: value or "" for key, value in row.items() if key is not None}
    except UnicodeDecodeError:
        raise InvalidOptionError(f"{path}: a manifest must be UTF-8 text") from None
    except OSError as error:
        raise InvalidOptionError(f"cannot read the manifest {path}: {error.strerror}") from None


def _shared_stems(folder: str) -> frozenset[str]:
    """The stems two or more audio files of ``folder`` share."""
    try:
        names = os.listdir(folder)
    except OSError:
        return frozenset()
    stems = Counter(PurePath(name).stem for name in names if PurePath(name).suffix.lower() in AUDIO_SUFFIXES)
    return frozenset(stem for stem, count in stems.items() if count > 1)
