"""A minimal third-party backend: one speaker, active wherever the audio is not silent."""

from __future__ import annotations

import numpy as np

from audar_plugins import Binarization, SpeakerActivity, SpeakerCount, load_audio


class ConstantBackend:
    """Marks 100 ms frames louder than ``threshold`` (RMS) as speech of a single speaker."""

    name = "example-constant"

    def __init__(self, threshold: float = 1e-3) -> None:
        self.threshold = threshold
        self.binarization = Binarization()

    def diarize(self, audio, speakers: SpeakerCount = SpeakerCount(), progress=None) -> SpeakerActivity:
        waveform = load_audio(audio)
        frames = waveform[: waveform.size // 1600 * 1600].reshape(-1, 1600)
        loud = np.sqrt((frames**2).mean(axis=1)) > self.threshold
        return SpeakerActivity(loud[:, np.newaxis].astype(np.float32), frame_duration=0.1)


def not_a_backend() -> str:
    return "this is not a backend"
