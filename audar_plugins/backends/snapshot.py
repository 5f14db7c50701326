"""Session snapshots as bytes: numpy arrays plus a JSON header, no pickle.

A snapshot may travel through a client (a reconnect token), so restoring one
must never run code: arrays are read with ``allow_pickle=False`` and the header
is plain JSON.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from ..errors import SnapshotError

__all__ = ["pack", "unpack"]

_HEADER = "__header__"


def pack(kind: str, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise ``header`` (JSON-able) and named arrays into one byte string tagged ``kind``."""
    buffer = io.BytesIO()
    payload = {_HEADER: np.frombuffer(json.dumps({"magic": kind, **header}).encode(), dtype=np.uint8), **arrays}
    np.savez(buffer, **payload)  # type: ignore[arg-type]  # numpy's stub reads **kwds as its allow_pickle
    return buffer.getvalue()


def unpack(kind: str, data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of :func:`pack`'s output for ``kind``; :class:`SnapshotError` for anything else."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SnapshotError(f"a snapshot is bytes, got {type(data).__name__}")
    try:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        header = json.loads(arrays.pop(_HEADER).tobytes().decode())
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise SnapshotError(f"not a session snapshot: {error}") from None
    if not isinstance(header, dict) or header.get("magic") != kind:
        raise SnapshotError(f"not an audar {kind} snapshot")
    return header, arrays
