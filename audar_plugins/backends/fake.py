"""A deterministic backend for tests of everything above the backends.

It needs no model: speaker ``k`` is active wherever the script says so. The
default script alternates ``num_speakers`` speakers in turns of
``turn_duration`` seconds, with a short overlap at each change, so formats,
the CLI, adapters and servers can be tested on predictable output. It streams
too (:class:`~audar_plugins.backends.fake_session.FakeSession`), with the same
output as the offline call however the stream is cut.
"""

from __future__ import annotations

import numpy as np

from ..activity import Binarization, SpeakerActivity
from ..audio import SAMPLE_RATE, AudioInput, load_audio
from ..errors import InvalidOptionError
from .base import ProgressCallback, SpeakerCount
from .fake_session import FakeSession

__all__ = ["FakeBackend", "FakeSession"]


class FakeBackend:
    """Alternating speakers on an 80 ms grid, independent of the audio's content.

    Speaker ``k`` arrives with turn ``k``: its column is 0 before, at least 0.05
    after, and the output has a column for each speaker who has arrived.

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
        count = self.speaker_count(speakers)
        frames = self.frame_count(waveform.shape[0])
        probabilities = self.script(0, frames, count)[:, : self.arrived(frames, count)]
        if progress is not None:
            progress(duration, duration)
        return SpeakerActivity(probabilities, self.frame_duration)

    def open_session(self, preset: None = None, speakers: SpeakerCount = SpeakerCount()) -> FakeSession:
        """A live session of the script; ``preset`` must be ``None`` (the fake has one latency, a frame)."""
        if preset is not None:
            raise InvalidOptionError(f"the fake backend has no latency presets (got {preset!r})")
        return FakeSession(self, self.speaker_count(speakers))

    def restore_session(self, snapshot: bytes) -> FakeSession:
        """Resume a session from :meth:`FakeSession.snapshot` bytes."""
        return FakeSession.restore(self, snapshot)

    @property
    def frame_samples(self) -> int:
        """Samples per frame at 16 kHz (1280)."""
        return round(self.frame_duration * SAMPLE_RATE)

    def speaker_count(self, speakers: SpeakerCount) -> int:
        """Speakers taking turns: ``num_speakers`` within the call's bounds."""
        low, high = speakers.bounds
        return int(min(max(self.num_speakers, low), high))

    def frame_count(self, num_samples: int) -> int:
        """Frames covering ``num_samples``, a last partial frame included (integer arithmetic: exact)."""
        return -(-num_samples // self.frame_samples)

    def arrived(self, frames: int, count: int) -> int:
        """Speakers who have spoken within the first ``frames`` frames."""
        if frames <= 0:
            return 0
        return int(min(count, self._turns(np.array([frames - 1]))[0] + 1))

    def script(self, first: int, stop: int, count: int) -> np.ndarray:
        """Probabilities of frames ``first`` to ``stop``, shape ``(stop - first, count)`` float32."""
        frames = np.arange(first, stop)
        turn = self._turns(frames)
        into_turn = (frames + 0.5) * self.frame_duration - turn * self.turn_duration
        arrived = np.arange(count)[np.newaxis, :] <= turn[:, np.newaxis]
        probabilities = np.where(arrived, 0.05, 0.0).astype(np.float32)
        probabilities[np.arange(frames.size), turn % count] = 0.95
        if count > 1:
            # the previous speaker lingers for `overlap` seconds into each new turn
            lingering = (into_turn < self.overlap) & (turn > 0)
            probabilities[np.flatnonzero(lingering), (turn[lingering] - 1) % count] = 0.8
        return probabilities

    def _turns(self, frames: np.ndarray) -> np.ndarray:
        """The turn each frame's centre falls in."""
        return np.floor((frames + 0.5) * self.frame_duration / self.turn_duration).astype(int)
