"""Helpers comparing adapter output with the backend's own."""

from __future__ import annotations

from pyannote.core import Annotation

from audar_plugins import SpeakerCount
from audar_plugins.adapters.pyannote import PYANNOTE_MAJOR


def diarization(output) -> Annotation:
    """The overlapping diarization, whatever this pyannote version returns."""
    return output.speaker_diarization if PYANNOTE_MAJOR >= 4 else output


def backend_annotation(pipeline, source, **speakers) -> Annotation:
    """What the backend gives on its own, with the pipeline's current post-processing."""
    activity = pipeline.backend.diarize(source, SpeakerCount(**speakers))
    return activity.to_annotation(pipeline.binarization)


def same_up_to_labels(first: Annotation, second: Annotation) -> bool:
    if len(first.labels()) != len(second.labels()):
        return False
    mapping = dict(zip(first.labels(), second.labels()))
    renamed = {(segment, mapping[label]) for segment, _, label in first.itertracks(yield_label=True)}
    return renamed == {(segment, label) for segment, _, label in second.itertracks(yield_label=True)}
