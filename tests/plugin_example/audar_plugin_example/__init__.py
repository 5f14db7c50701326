"""A minimal third-party backend (one speaker, active wherever the audio is not silent), and two
backends that misbehave on purpose for the tests of ``audar batch``."""

from __future__ import annotations

import os
import time

import numpy as np

from audar_plugins import Binarization, SpeakerActivity, SpeakerCount, load_audio
from audar_plugins.backends.fake import FakeBackend

STALL_FOLDER = "AUDAR_EXAMPLE_STALL_DIR"


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


class StallOnceBackend(FakeBackend):
    """The fake backend, except that the first file any process gives it while the environment
    variable ``AUDAR_EXAMPLE_STALL_DIR`` names a folder stalls: its process writes its id to
    ``<folder>/stalled`` and sleeps until it is killed. Later files (and retries) run normally."""

    name = "example-stall-once"

    def diarize(self, audio, speakers: SpeakerCount = SpeakerCount(), progress=None) -> SpeakerActivity:
        folder = os.environ.get(STALL_FOLDER)
        if folder:
            try:
                descriptor = os.open(os.path.join(folder, "stalled"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(descriptor, f"{os.getpid()}\n".encode())
                os.close(descriptor)
                time.sleep(600)
        return super().diarize(audio, speakers, progress)


class CrashingBackend(FakeBackend):
    """The fake backend with a bug: every call raises ``RuntimeError``."""

    name = "example-crashing"

    def diarize(self, audio, speakers: SpeakerCount = SpeakerCount(), progress=None) -> SpeakerActivity:
        raise RuntimeError("a bug in the backend")


class ExitingBackend(FakeBackend):
    """The fake backend whose process ends abruptly on every call, as one killed by the system would."""

    name = "example-exiting"

    def diarize(self, audio, speakers: SpeakerCount = SpeakerCount(), progress=None) -> SpeakerActivity:
        os._exit(3)


def not_a_backend() -> str:
    return "this is not a backend"
