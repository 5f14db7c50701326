"""``known_speakers=``: every form a caller may give known speakers in, as a list of voiceprints.

Accepted: a :class:`~.voiceprint.Voiceprint` or a sequence of them; a folder of voiceprint
files (``audar enroll`` writes one per name) or one such file; a mapping of names to a
reference clip or a list of clips, enrolled on the spot. Names must be distinct, and at most
:data:`MAX_KNOWN_SPEAKERS` speakers may be known at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidOptionError
from .encoder import VoiceEncoder
from .enrollment import check_name, enroll
from .voiceprint import Voiceprint, read_voiceprint, read_voiceprints

__all__ = ["MAX_KNOWN_SPEAKERS", "KnownSpeakers", "gather_voiceprints", "known_voiceprints"]

MAX_KNOWN_SPEAKERS = 32

KnownSpeakers = Voiceprint | Iterable[Voiceprint] | str | os.PathLike | Mapping[str, Any] | None
"""What ``known_speakers=`` accepts (see the module docstring)."""


def known_voiceprints(known: KnownSpeakers, encoder: VoiceEncoder | None = None) -> list[Voiceprint]:
    """The voiceprints ``known`` gives, checked: distinct valid names, at most 32."""
    if known is None:
        return []
    if isinstance(known, Voiceprint):
        voiceprints = [known]
    elif isinstance(known, (str, os.PathLike)):
        if not os.fspath(known).strip():
            raise InvalidOptionError("known_speakers is an empty path: give a folder or file of voiceprints")
        path = Path(known)
        voiceprints = read_voiceprints(path) if path.is_dir() else [read_voiceprint(path)]
    elif isinstance(known, Mapping):
        for name in known:
            check_name(name)
        _check_count(len(known))
        voiceprints = [enroll(name, clips, encoder) for name, clips in known.items()]
    elif isinstance(known, Iterable) and not isinstance(known, bytes):
        voiceprints = list(known)
        for item in voiceprints:
            if not isinstance(item, Voiceprint):
                raise InvalidOptionError(f"known_speakers must hold Voiceprint objects, got {type(item).__name__}")
    else:
        raise InvalidOptionError("known_speakers must be voiceprints, a folder or file of them, or a mapping "
                                 f"of names to reference clips, got {type(known).__name__}")
    _check_count(len(voiceprints))
    names = [check_name(voiceprint.name) for voiceprint in voiceprints]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidOptionError(f"known speaker names must be distinct; repeated: {', '.join(repeated)}")
    return voiceprints


def gather_voiceprints(voices: str | os.PathLike | None, clips: Mapping[str, Sequence[str]],
                       encoder: VoiceEncoder) -> list[Voiceprint]:
    """The voiceprints in the folder ``voices`` and those enrolled now from ``clips`` (name -> clip paths), checked.

    What ``--voices DIR`` and ``--speaker NAME=CLIP`` give together."""
    voiceprints = read_voiceprints(voices) if voices else []
    voiceprints += [enroll(name, files, encoder) for name, files in clips.items()]
    return known_voiceprints(voiceprints, encoder)


def _check_count(count: int) -> None:
    if count > MAX_KNOWN_SPEAKERS:
        raise InvalidOptionError(f"{count} known speakers; at most {MAX_KNOWN_SPEAKERS} at once")
