"""A deterministic backend for tests of everything above the backends.

It needs no model: speaker ``k`` is active wherever the script says so. The
default script alternates ``num_speakers`` speakers in turns of
``turn_duration`` seconds, with a short overlap at each change, so formats,
the CLI, adapters and servers can be tested on predictable output.
"""

from __future__ import annotations

import numpy as np

from ..activity import Binarization, SpeakerActivity
from ..audio import SAMPLE_RATE, AudioInput, load_audio
from ..errors import InvalidOptionError
from .base import ProgressCallback, SpeakerCount

__all__ = ["FakeBackend"]


class FakeBackend:
    """Alternating speakers on an 80 ms grid, independent of the audio's content.

    Parameters
    ----------
    num_speakers
        Speakers taking turns, when the call gives no ``num_speakers``.
    turn_duration
        Seconds per turn.
    overlap
        Seconds both speakers are active at each change.
    """

    name = "fake"
    frame_duration = 0.08

    def __init__(self, num_speakers: int = 2, turn_duration: float = 2.0, overlap: float = 0.32) -> None:
        if num_speakers < 1:
            raise InvalidOptionError(f"num_speakers must be >= 1, got {num_speakers}")
        if not 0 <= overlap < turn_duration:
            raise InvalidOptionError(f"overlap must be in [0, turn_duration), got {overlap}")
        self.num_speakers = num_speakers
        self.turn_duration = turn_duration
        self.overlap = overlap
        self.binarization = Binarization()

    def diarize(
        self,
        audio: AudioInput,
        speakers: SpeakerCount = SpeakerCount(),
        progress: ProgressCallback | None = None,
    ) -> SpeakerActivity:
        waveform = load_audio(audio)
        duration = waveform.shape[0] / SAMPLE_RATE
        low, high = speakers.bounds
        count = int(min(max(self.num_speakers, low), high))
        times = (np.arange(int(np.ceil(duration / self.frame_duration))) + 0.5) * self.frame_duration
        turn = np.floor(times / self.turn_duration).astype(int)
        into_turn = times - turn * self.turn_duration
        probabilities = np.full((times.size, count), 0.05, dtype=np.float32)
        probabilities[np.arange(times.size), turn % count] = 0.95
        if count > 1:
            # the previous speaker lingers for `overlap` seconds into each new turn
            lingering = (into_turn < self.overlap) & (turn > 0)
            probabilities[np.flatnonzero(lingering), (turn[lingering] - 1) % count] = 0.8
        if progress is not None:
            progress(duration, duration)
        return SpeakerActivity(probabilities, self.frame_duration)
