"""pyannote's speaker names (``SPEAKER_00``, ``SPEAKER_01``, ...), shared by the pyannote and WhisperX faces."""

from __future__ import annotations

from pyannote.core import Annotation

from ..activity import SpeakerActivity

__all__ = ["pyannote_names"]


def pyannote_names(activity: SpeakerActivity, annotation: Annotation) -> dict[str, str]:
    """``SPEAKER_00, SPEAKER_01, ...`` for the speakers who speak in ``annotation``, in the backend's column order."""
    speaking = set(annotation.labels())
    ordered = [label for label in activity.labels if label in speaking]
    return {label: f"SPEAKER_{index:02d}" for index, label in enumerate(ordered)}
