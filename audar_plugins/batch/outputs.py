"""The output folder of a batch: outputs written atomically, a record per file, ``failures.jsonl``.

Beside the outputs, ``.audar-batch/<name>.json`` records what each file's outputs were made
from: the fingerprint of the options, the input's SHA-256 and the stat it was read under. It
is removed before new outputs are written and written after them, so a record always stands
for complete outputs, and a re-run skips a file whose record matches without reading its
audio (or, when only its path or stat changed, after re-hashing it in a worker).
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import AudarError

__all__ = ["FAILURES", "RECORDS", "BatchOutputs", "Record", "write_atomically"]

RECORDS = ".audar-batch"
FAILURES = "failures.jsonl"


@dataclass(frozen=True)
class Record:
    """What one file's outputs were made from."""

    path: str
    fingerprint: str
    sha256: str
    size: int
    mtime_ns: int
    ctime_ns: int
    outputs: tuple[str, ...]
    seconds: float
    speakers: tuple[Mapping[str, Any], ...] = ()
    """Known-speaker matches: ``speaker``, ``name`` (or null) and ``score`` (or null)."""


class BatchOutputs:
    """The output folder ``directory`` (created): outputs, records and the failure log."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise AudarError(f"cannot create the output folder {self.directory}: {error.strerror}") from None
        self._failures: IO[str] | None = None

    def record(self, name: str) -> Record | None:
        """The record of ``name``, or None when there is none or it cannot be read."""
        try:
            data = json.loads((self._record_path(name)).read_text(encoding="utf-8"))
            return Record(**{**data, "outputs": tuple(data["outputs"]), "speakers": tuple(data.get("speakers", ()))})
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def complete(self, record: Record, fingerprint: str, outputs: Iterable[str]) -> bool:
        """Whether ``record`` was made with ``fingerprint`` and each of ``outputs`` is there."""
        return record.fingerprint == fingerprint and all(
            output in record.outputs and (self.directory / output).is_file() for output in outputs)

    def stat_matches(self, record: Record) -> bool:
        """Whether the input is as it was when ``record`` was made, by its size and its modification and
        change times (a copy that keeps the modification time still gets a new change time)."""
        try:
            stat = os.stat(record.path)
        except OSError:
            return False
        return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns) == (record.size, record.mtime_ns, record.ctime_ns)

    def write(self, name: str, files: Mapping[str, bytes], record: Record) -> None:
        """Write each output (relative path -> bytes) atomically, then ``name``'s record; the old record goes
        first, so outputs half replaced are never taken for complete ones."""
        self._record_path(name).unlink(missing_ok=True)
        for relative, content in files.items():
            write_atomically(self.directory / relative, content)
        self.write_record(name, record)

    def remove(self, name: str) -> None:
        """Remove ``name``'s record and the outputs it lists: they were made from other options or content
        than the run that just failed on the file, and must not pass for its results."""
        record = self.record(name)
        self._record_path(name).unlink(missing_ok=True)
        for output in record.outputs if record is not None else ():
            (self.directory / output).unlink(missing_ok=True)

    def write_record(self, name: str, record: Record) -> None:
        """Write (or replace) the record of ``name``."""
        write_atomically(self._record_path(name), json.dumps(asdict(record), indent=1).encode("utf-8"))

    def start_failures(self) -> None:
        """Begin this run's ``failures.jsonl`` (empty)."""
        self.close()
        self._failures = open(self.directory / FAILURES, "w", encoding="utf-8")

    def add_failure(self, failure: Mapping[str, Any]) -> None:
        """Append one failure as a JSON line, on disk at once (after :meth:`start_failures`)."""
        if self._failures is None:
            raise RuntimeError("add_failure() before start_failures()")
        self._failures.write(json.dumps(failure, ensure_ascii=False) + "\n")
        self._failures.flush()

    def close(self) -> None:
        """Close the failure log."""
        if self._failures is not None:
            self._failures.close()
            self._failures = None

    def _record_path(self, name: str) -> Path:
        return self.directory / RECORDS / f"{name}.json"


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in its folder, renamed over it when complete."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                os.fchmod(file.fileno(), 0o666 & ~_umask())  # mkstemp's 0600 would hide results from others
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        raise AudarError(f"cannot write {path}: {error.strerror}") from None


@functools.cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
