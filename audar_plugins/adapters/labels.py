"""pyannote's speaker names (``SPEAKER_00``, ``SPEAKER_01``, ...), shared by the pyannote and WhisperX faces."""

from __future__ import annotations

import itertools
from collections.abc import Collection

from pyannote.core import Annotation

from ..activity import SpeakerActivity

__all__ = ["pyannote_names"]


def pyannote_names(activity: SpeakerActivity, annotation: Annotation, known: Collection[str] = ()) -> dict[str, str]:
    """``SPEAKER_00, SPEAKER_01, ...`` for the speakers who speak in ``annotation``, in the backend's column
    order; a known speaker's name (one of ``known``) stays as it is."""
    speaking = set(annotation.labels())
    names = {label: label for label in activity.labels if label in speaking and label in known}
    numbers = (f"SPEAKER_{index:02d}" for index in itertools.count())
    for label in activity.labels:
        if label in speaking and label not in known:
            names[label] = next(name for name in numbers if name not in known)
    return names
