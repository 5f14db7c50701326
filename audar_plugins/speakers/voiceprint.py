"""A voiceprint: one speaker's voice as a unit vector, saved as a small ``.npz`` file.

A file holds one voiceprint and no pickled objects:

``header``     a JSON object as a unicode string: ``name``, ``encoder`` (the speaker
               encoder's identity, see :attr:`~.encoder.VoiceEncoder.identity`), ``clips``
               (how many reference clips), ``speech`` (seconds of speech embedded) and
               ``format`` (1)
``embedding``  the unit vector, float32

``audar enroll`` writes one file per name, ``NAME.npz`` (see :func:`file_name`), so a folder
of them is a set of known speakers that can grow one person at a time.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import VoiceprintError

__all__ = ["FORMAT_VERSION", "Voiceprint", "file_name", "read_voiceprint", "read_voiceprints", "write_voiceprint"]

FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class Voiceprint:
    """One known speaker.

    Attributes
    ----------
    name
        What the speaker is called in outputs (``"alice"``, ``"agent"``).
    embedding
        A unit vector from ``encoder``.
    encoder
        The identity of the speaker encoder that made ``embedding``: voiceprints only
        compare with speakers embedded by the same one.
    clips
        How many reference clips it was enrolled from.
    speech
        Seconds of speech embedded.
    """

    name: str
    embedding: np.ndarray
    encoder: str
    clips: int = 1
    speech: float = 0.0

    def __post_init__(self) -> None:
        embedding = np.array(self.embedding, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(embedding))
        if embedding.size == 0 or not np.isfinite(norm) or norm == 0.0:
            raise VoiceprintError(f"the voiceprint of {self.name!r} has no usable embedding")
        if abs(norm - 1.0) > 1e-6:  # already unit ones (read back from a file) stay bit for bit
            embedding = embedding / norm
        embedding.flags.writeable = False
        object.__setattr__(self, "embedding", embedding)

    def __repr__(self) -> str:
        return (f"Voiceprint(name={self.name!r}, encoder={self.encoder!r}, clips={self.clips}, "
                f"speech={self.speech:.1f})")


def file_name(name: str) -> str:
    """``NAME.npz`` with characters unsafe in file names replaced by ``_``."""
    safe = re.sub(r"[^\w.-]+", "_", name, flags=re.UNICODE).strip("._") or "speaker"
    return f"{safe}.npz"


def write_voiceprint(voiceprint: Voiceprint, file: str | os.PathLike | BinaryIO) -> None:
    """Save ``voiceprint`` as ``.npz`` (a JSON header and the embedding)."""
    header = {"format": FORMAT_VERSION, "name": voiceprint.name, "encoder": voiceprint.encoder,
              "clips": voiceprint.clips, "speech": round(voiceprint.speech, 3)}
    np.savez(file, header=np.array(json.dumps(header)), embedding=voiceprint.embedding)


def read_voiceprint(file: str | os.PathLike | BinaryIO) -> Voiceprint:
    """The :class:`Voiceprint` that :func:`write_voiceprint` saved."""
    where = os.fspath(file) if isinstance(file, (str, os.PathLike)) else "the voiceprint"
    try:
        with np.load(file, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            embedding = np.asarray(data["embedding"], dtype=np.float32)
        version = header.get("format") if isinstance(header, dict) else header
        if version != FORMAT_VERSION:
            raise ValueError(f"unknown voiceprint format {version!r}")
        return Voiceprint(str(header["name"]), embedding, str(header["encoder"]), int(header["clips"]),
                          float(header["speech"]))
    except VoiceprintError:
        raise
    except FileNotFoundError:
        raise VoiceprintError(f"no voiceprint file {where}") from None
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, OverflowError, KeyError, TypeError,
            AttributeError) as error:
        raise VoiceprintError(f"{where} is not a voiceprint file: {type(error).__name__}: {error}") from None


def read_voiceprints(folder: str | os.PathLike) -> list[Voiceprint]:
    """Every ``*.npz`` voiceprint in ``folder``, in file-name order."""
    path = Path(folder)
    if not path.is_dir():
        raise VoiceprintError(f"no voiceprint folder {path}")
    return [read_voiceprint(file) for file in sorted(path.glob("*.npz"))]
