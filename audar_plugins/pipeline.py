"""``diarize()``: audio in, speaker activity and an annotation out, with any backend."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .activity import Binarization, SpeakerActivity
from .audio import AudioInput, load_audio
from .backends.base import Backend, ProgressCallback, SpeakerCount
from .formats import safe_uri
from .registry import DEFAULT_BACKEND, load_backend

if TYPE_CHECKING:
    from pyannote.core import Annotation

    from .speakers import KnownSpeakers, NamingSettings, SpeakerMatch

__all__ = ["Diarization", "diarize"]


@dataclass(frozen=True)
class Diarization:
    """The result of :func:`diarize`.

    Attributes
    ----------
    activity
        The backend's un-thresholded speaker probabilities.
    annotation
        ``activity`` binarized with ``binarization``.
    binarization
        The post-processing that produced ``annotation``.
    backend
        Name of the backend that produced ``activity``.
    speakers
        With ``known_speakers``: per speaker column, the name it took (or none) and its score.
    """

    activity: SpeakerActivity
    annotation: Annotation
    binarization: Binarization
    backend: str
    speakers: tuple[SpeakerMatch, ...] = ()


def diarize(
    audio: AudioInput,
    backend: str | Backend = DEFAULT_BACKEND,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    binarization: Binarization | None = None,
    uri: str | None = None,
    progress: ProgressCallback | None = None,
    known_speakers: KnownSpeakers = None,
    naming: NamingSettings | None = None,
) -> Diarization:
    """Who spoke when in ``audio``.

    Parameters
    ----------
    audio
        Anything :func:`audar_plugins.audio.load_audio` accepts.
    backend
        A backend, or the name of a registered one (loaded with default options).
    num_speakers, min_speakers, max_speakers
        Speaker-count constraints, as in pyannote.audio.
    binarization
        Post-processing; the backend's own default when ``None``.
    uri
        File identifier of the annotation; by default the file name without extension.
    progress
        Called with (seconds processed, seconds in all).
    known_speakers
        Voiceprints, a folder of them, or ``{name: reference clip(s)}``: speakers who sound like
        one are labelled with its name (:func:`audar_plugins.speakers.name_speakers`).
    naming
        When a speaker takes a name (:class:`~audar_plugins.speakers.NamingSettings`).

    Examples
    --------
    ::

        result = diarize("meeting.wav", num_speakers=3)
        for segment, _, speaker in result.annotation.itertracks(yield_label=True):
            print(f"{segment.start:.2f} {segment.end:.2f} {speaker}")
    """
    speakers = SpeakerCount(num_speakers, min_speakers, max_speakers)
    if isinstance(backend, str):
        backend = load_backend(backend)
    uri = uri or _default_uri(audio)
    matches: tuple[SpeakerMatch, ...] = ()
    if known_speakers is None:
        activity = backend.diarize(audio, speakers=speakers, progress=progress)
    else:
        from .speakers import naming_backend

        namer = naming_backend(backend, known_speakers, naming)
        waveform = load_audio(audio)
        named = namer.name_activity(waveform, backend.diarize(waveform, speakers=speakers, progress=progress))
        activity, matches = named.activity, named.matches
    binarization = binarization or backend.binarization
    annotation = activity.to_annotation(binarization, uri=uri)
    return Diarization(activity, annotation, binarization, backend.name, matches)


def _default_uri(audio: AudioInput) -> str:
    if isinstance(audio, (str, os.PathLike)):
        return safe_uri(os.path.splitext(os.path.basename(os.fspath(audio)))[0])
    if isinstance(audio, Mapping) and isinstance(audio.get("uri"), str):
        return safe_uri(audio["uri"])
    if isinstance(audio, Mapping) and isinstance(audio.get("audio"), (str, os.PathLike)):
        return _default_uri(audio["audio"])
    return "audio"
