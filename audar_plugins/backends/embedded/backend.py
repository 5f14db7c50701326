"""EmbeddedBackend: who spoke when on a CPU, two at once where they overlap, from PyPI wheels.

Offline, :func:`~.offline.diarize_offline` (pyannote 3.1's recipe, scheduled for a CPU);
live, :class:`~.live.SegmentationSession` (diart's recipe on a fixed grid of windows). Both
run segmentation-3.0, CAM++ and Silero VAD (:class:`~.models.Models`), loaded once and shared
by every call and session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ...activity import Binarization, SpeakerActivity
from ...audio import SAMPLE_RATE, AudioInput, load_audio
from ...errors import InvalidOptionError
from ..base import ProgressCallback, SpeakerCount
from .live import LiveSettings, SegmentationSession
from .models import Models
from .offline import OfflineSettings, diarize_offline

__all__ = ["PRESETS", "EmbeddedBackend", "EmbeddedOptions"]

PRESETS = ("accurate", "fast")
"""Offline presets: ``accurate`` (the default) embeds every window's local speakers with CAM++;
``fast`` takes them from the clean pieces' embeddings (:attr:`OfflineSettings.reuse_pieces`)."""


@dataclass(frozen=True)
class EmbeddedOptions:
    """Settings of the offline pipeline and of live sessions."""

    offline: OfflineSettings = OfflineSettings()
    live: LiveSettings = LiveSettings()


class EmbeddedBackend:
    """The CPU default backend, registered as ``embedded``.

    Parameters
    ----------
    options
        An :class:`EmbeddedOptions`.
    device
        Where segmentation and CAM++ run (``"cpu"``, ``"cuda"``, a ``torch.device``); Silero
        VAD always runs on the CPU with ONNX Runtime.
    preset
        ``"accurate"`` or ``"fast"`` (offline; see :data:`PRESETS`), over ``options``. ``fast``
        is about twice as fast; its DER is measured beside the default's in
        ``benchmarks/README.md``. Live sessions are the same under both.

    One instance may serve several threads: every call and session keeps its own state.
    """

    name = "embedded"

    def __init__(self, options: EmbeddedOptions | None = None, device: Any = "cpu", preset: str | None = None
                 ) -> None:
        self.options = options or EmbeddedOptions()
        if not isinstance(self.options, EmbeddedOptions):
            raise InvalidOptionError(f"options must be an EmbeddedOptions, got {type(options).__name__}")
        if preset is not None:
            if preset not in PRESETS:
                raise InvalidOptionError(f"the embedded backend's presets are {', '.join(PRESETS)} (got {preset!r})")
            offline = replace(self.options.offline, reuse_pieces=preset == "fast")
            self.options = replace(self.options, offline=offline)
        # the probabilities are 0 or 1: speech shorter than 100 ms is a flicker at a speaker change
        self.binarization = Binarization(onset=0.5, offset=0.5, min_duration_on=0.1)
        self.models = Models.load(device)

    def to(self, device: Any) -> EmbeddedBackend:
        """Move segmentation and CAM++ to ``device`` (a ``torch.device`` or its name)."""
        self.models.to(device)
        return self

    def diarize(
        self,
        audio: AudioInput,
        speakers: SpeakerCount = SpeakerCount(),
        progress: ProgressCallback | None = None,
    ) -> SpeakerActivity:
        waveform = load_audio(audio)
        duration = waveform.shape[0] / SAMPLE_RATE
        low, high = speakers.bounds

        def report(fraction: float) -> None:
            if progress is not None:
                progress(fraction * duration, duration)

        report(0.0)
        return diarize_offline(waveform, self.models, self.options.offline, low, high, report)

    def open_session(self, preset: None = None, speakers: SpeakerCount = SpeakerCount()) -> SegmentationSession:
        """A live session on this backend's models; ``speakers`` caps the number of speakers it creates.

        The embedded backend has one latency (``options.live.step`` seconds, plus compute), so
        ``preset`` must be ``None``; it is there to share Sortformer's signature.
        """
        if preset is not None:
            raise InvalidOptionError(f"the embedded backend has no latency presets (got {preset!r}); "
                                     "set EmbeddedOptions.live.step instead")
        return SegmentationSession(self.models, self.options.live, speakers.bounds[1])

    def restore_session(self, snapshot: bytes) -> SegmentationSession:
        """Resume a session from its ``snapshot()`` bytes, in this or another process."""
        return SegmentationSession.restore(self.models, snapshot)
