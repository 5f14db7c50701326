"""NamingBackend: any backend, its speakers named after known speakers, offline and live."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..activity import SpeakerActivity
from ..audio import AudioInput, load_audio
from ..backends.base import ProgressCallback, SpeakerCount
from .encoder import VoiceEncoder, encoder_for
from .known import KnownSpeakers, known_voiceprints
from .live import NamingSession
from .naming import Naming, NamingSettings, check_encoder, name_speakers
from .voiceprint import Voiceprint

__all__ = ["NamingBackend", "naming_backend"]


class NamingBackend:
    """``backend`` with the names of ``voiceprints`` on its speakers (:func:`.naming.name_speakers`
    offline, :class:`.live.NamingSession` live). It has ``backend``'s name and binarization, so
    it stands in for it anywhere: the realtime gateway, ``audar stream``, the adapters."""

    def __init__(self, backend, voiceprints: Sequence[Voiceprint], encoder: VoiceEncoder | None = None,
                 settings: NamingSettings = NamingSettings()) -> None:
        self.backend = backend
        self.voiceprints = list(voiceprints)
        self.encoder = encoder or encoder_for(backend)
        check_encoder(self.voiceprints, self.encoder)
        self.settings = settings
        self.name = backend.name
        self.binarization = backend.binarization

    @property
    def names(self) -> frozenset[str]:
        """The known speakers' names."""
        return frozenset(voiceprint.name for voiceprint in self.voiceprints)

    def name_activity(self, waveform: np.ndarray, activity: SpeakerActivity) -> Naming:
        """The backend's ``activity`` of ``waveform`` (16 kHz mono), named, with every speaker's match."""
        return name_speakers(waveform, activity, self.voiceprints, self.encoder, self.settings)

    def diarize(self, audio: AudioInput, speakers: SpeakerCount = SpeakerCount(),
                progress: ProgressCallback | None = None) -> SpeakerActivity:
        waveform = load_audio(audio)
        return self.name_activity(waveform, self.backend.diarize(waveform, speakers, progress)).activity

    def open_session(self, preset: Any = None, speakers: SpeakerCount = SpeakerCount()) -> NamingSession:
        return NamingSession(self.backend.open_session(preset, speakers), self.voiceprints, self.encoder,
                             self.settings)

    def restore_session(self, snapshot: bytes) -> NamingSession:
        return NamingSession.restore((self.backend, self.encoder), snapshot)


def naming_backend(backend, known_speakers: KnownSpeakers = None, settings: NamingSettings | None = None):
    """``backend`` itself without known speakers, else a :class:`NamingBackend` of it (the faces'
    ``known_speakers=`` argument, in any form :func:`~.known.known_voiceprints` reads)."""
    if known_speakers is None:
        return backend
    encoder = encoder_for(backend)
    return NamingBackend(backend, known_voiceprints(known_speakers, encoder), encoder, settings or NamingSettings())
