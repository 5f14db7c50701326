"""A live session on segmentation-3.0 and CAM++: diart's recipe on a fixed grid of windows.

Every ``step`` seconds of audio, counted from the start of the stream however it is pushed,
the last 10 s (less at the start, padded) go through the segmentation model. Each local
speaker heard for ``min_local`` seconds is embedded with CAM++ (on the frames where it
speaks alone, or all its frames if it hardly ever does) and matched to the speakers so far
(:class:`~.incremental_speakers.IncrementalSpeakers`); then the window's newest ``step``
seconds become final: a frame is active for the speakers its active local speakers were
matched to, two at once where the model hears overlap.

Every window is computed alone, from the audio at fixed positions of the stream: the output
does not depend on how the stream is cut, and a restored session continues exactly. A frame
is final at most ``step`` seconds after its audio arrives, plus the compute of one window.
Memory: one window of audio and the speakers' centroids.

Frames are the model's, 16.875 ms apart; block frame ``i`` is the model frame centred at
``i`` x 16.875 ms + 30.9 ms (the blocks start at 0, as every session's do).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...activity import default_labels
from ...errors import InvalidOptionError
from ..session import BaseSession
from .campplus import SpeakerEncoder
from .fbank import fbank, normalized
from .incremental_speakers import IncrementalSpeakers
from .local_speakers import FRAME_STEP_SAMPLES, alone, multilabel, speaker_frames
from .segmentation import WINDOW_SAMPLES, Segmentation, frames_in

if TYPE_CHECKING:
    from typing_extensions import Self

    from ...activity import SpeakerActivity

__all__ = ["LiveModels", "LiveSettings", "SegmentationSession"]

FRAMES = frames_in(WINDOW_SAMPLES)
FRAME_DURATION = FRAME_STEP_SAMPLES / 16_000


@dataclass(frozen=True)
class LiveModels:
    """What the sessions share: the two models."""

    segmentation: Segmentation
    encoder: SpeakerEncoder


@dataclass(frozen=True)
class LiveSettings:
    """Settings of a live session (durations in seconds)."""

    step: float = 2.0
    min_local: float = 0.5
    min_long: float = 2.0
    max_distance: float = 0.6
    stitch: float = 0.6

    def __post_init__(self) -> None:
        if not 0.5 <= self.step <= 5.0:
            raise InvalidOptionError(f"step must be within 0.5 and 5 seconds, got {self.step}")
        if not 0 < self.max_distance < 2:
            raise InvalidOptionError(f"max_distance must be within 0 and 2, got {self.max_distance}")

    @property
    def step_frames(self) -> int:
        return max(1, int(round(self.step / FRAME_DURATION)))


class SegmentationSession(BaseSession):
    """One stream through segmentation-3.0 and CAM++; see the module docstring."""

    snapshot_kind = "audar-segmentation-session"
    snapshot_version = 1

    def __init__(self, models: LiveModels, settings: LiveSettings = LiveSettings(),
                 max_speakers: float = math.inf) -> None:
        super().__init__(FRAME_DURATION, {"kind": "segmentation-3.0+campplus", **asdict(settings)})
        self.models = models
        self.settings = settings
        self.speakers = IncrementalSpeakers(settings.max_distance, models.encoder.dimension, max_speakers)
        self._audio = np.zeros(0, dtype=np.float32)
        self._audio_start = 0  # stream sample of self._audio[0]
        self._steps = 0  # steps made final
        self._previous = np.zeros((0, 3), dtype=np.uint8)  # the last window's local activity
        self._previous_start = 0  # its first frame
        self._previous_speakers = [-1, -1, -1]

    @property
    def labels(self) -> tuple[str, ...]:
        return default_labels(self.speakers.count)

    @property
    def latency(self) -> float:
        """Seconds of audio a frame may wait for before it is final (compute aside)."""
        return self.settings.step_frames * FRAME_DURATION

    def _push(self, samples: np.ndarray) -> SpeakerActivity:
        self._audio = np.concatenate([self._audio, samples])
        step_samples = self.settings.step_frames * FRAME_STEP_SAMPLES
        blocks = []
        while (self._steps + 1) * step_samples <= self._received:
            blocks.append(self._final_step((self._steps + 1) * step_samples))
            self._steps += 1
        self._forget_audio()
        return self._join(blocks)

    def _flush(self) -> SpeakerActivity:
        total = math.ceil(self._received / FRAME_STEP_SAMPLES)
        if total <= self.emitted_frames:
            return self._block(np.zeros((0, self.speakers.count), dtype=np.float32), self.labels)
        return self._join([self._final_step(self._received, total)])

    def _final_step(self, end: int, until: int | None = None) -> np.ndarray:
        """Frames ``emitted_frames`` to ``until`` (those whose audio ends by ``end``) from the window
        ending at sample ``end``."""
        step_frames = self.settings.step_frames
        stop = (self._steps + 1) * step_frames if until is None else until
        begin = max(0, (end - WINDOW_SAMPLES) // FRAME_STEP_SAMPLES) * FRAME_STEP_SAMPLES
        window = np.zeros(WINDOW_SAMPLES, dtype=np.float32)
        piece = self._audio[begin - self._audio_start : min(end, begin + WINDOW_SAMPLES) - self._audio_start]
        window[: piece.size] = piece
        activity = multilabel(self.models.segmentation(window[None]))[0]
        matched = self._match(piece, activity, begin // FRAME_STEP_SAMPLES)
        self._previous, self._previous_start, self._previous_speakers = activity, begin // FRAME_STEP_SAMPLES, matched
        first = self._steps * step_frames if until is None else self.emitted_frames
        rows = np.clip(np.arange(first, stop) - begin // FRAME_STEP_SAMPLES, 0, FRAMES - 1)
        probabilities = np.zeros((stop - first, self.speakers.count), dtype=np.float32)
        for local, speaker in enumerate(matched):
            if speaker >= 0:
                probabilities[activity[rows, local] > 0, speaker] = 1.0
        return probabilities

    def _match(self, audio: np.ndarray, activity: np.ndarray, start: int) -> list[int]:
        """Each local speaker's speaker (``-1``: too short to tell, or silent). A local speaker that
        continues one of the previous window's (they agree on the frames both windows hold) keeps its
        speaker; only the others are embedded."""
        settings = self.settings
        min_frames = int(round(settings.min_local / FRAME_DURATION))
        matched = self._stitch(activity, start, min_frames)
        single = alone(activity)
        heard = [local for local in range(3) if activity[:, local].sum() >= min_frames and matched[local] < 0]
        if not heard:
            return matched
        frames = fbank(audio)
        features, long = [], []
        for local in heard:
            clean = single[:, local].sum() >= min_frames
            picked = speaker_frames(frames.shape[0], single[:, local] if clean else activity[:, local].astype(bool))
            features.append(normalized(frames[picked]) if picked.size >= 3 else np.zeros((3, 80), np.float32))
            long.append(single[:, local].sum() * FRAME_DURATION >= settings.min_long)
        taken = frozenset(speaker for speaker in matched if speaker >= 0)
        speakers = self.speakers.assign(self.models.encoder.embed(features), np.array(long), taken)
        for local, speaker in zip(heard, speakers):
            matched[local] = speaker
        return matched

    def _stitch(self, activity: np.ndarray, start: int, min_frames: int) -> list[int]:
        """The speakers of the local speakers that continue the previous window's: on the frames both
        windows hold, active together on most of the frames where either is (IoU over ``stitch``)."""
        matched = [-1, -1, -1]
        shared = self._previous_start + self._previous.shape[0] - start
        if shared < min_frames or self._previous.shape[0] == 0:
            return matched
        now = activity[:shared].astype(bool)
        before = self._previous[start - self._previous_start :].astype(bool)[:shared]
        union = (now[:, :, None] | before[:, None, :]).sum(axis=0)
        agreement = (now[:, :, None] & before[:, None, :]).sum(axis=0) / np.maximum(union, 1)
        for local in np.argsort(-agreement.max(axis=1)).tolist():
            earlier = int(np.argmax(agreement[local]))
            speaker = self._previous_speakers[earlier]
            if agreement[local, earlier] >= self.settings.stitch and speaker >= 0 and speaker not in matched:
                matched[local] = speaker
        return matched

    def _join(self, blocks: list[np.ndarray]) -> SpeakerActivity:
        width = self.speakers.count
        probabilities = np.concatenate([np.pad(b, ((0, 0), (0, width - b.shape[1]))) for b in blocks]) \
            if blocks else np.zeros((0, width), dtype=np.float32)
        return self._block(probabilities, self.labels)

    def _forget_audio(self) -> None:
        """Keep the audio of the window that would end the stream now (later windows start later)."""
        keep_from = max(0, (self._received - WINDOW_SAMPLES) // FRAME_STEP_SAMPLES) * FRAME_STEP_SAMPLES
        if keep_from > self._audio_start:
            self._audio = self._audio[keep_from - self._audio_start :].copy()
            self._audio_start = keep_from

    def _snapshot_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {"settings": asdict(self.settings), "max_speakers": _finite(self.speakers.max_speakers),
                  "audio_start": self._audio_start, "steps": self._steps, "previous_start": self._previous_start,
                  "previous_speakers": list(self._previous_speakers)}
        return header, {"audio": self._audio, "sums": self.speakers.sums, "previous": self._previous}

    @classmethod
    def _reopen(cls, owner: LiveModels, header: dict[str, Any]) -> Self:
        maximum = header["max_speakers"]
        return cls(owner, LiveSettings(**header["settings"]), math.inf if maximum is None else maximum)

    def _restore_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._audio = np.asarray(arrays["audio"], dtype=np.float32)
        self._audio_start = int(header["audio_start"])
        self._steps = int(header["steps"])
        sums = np.asarray(arrays["sums"], dtype=np.float64)
        if sums.ndim != 2 or sums.shape[1] != self.models.encoder.dimension:
            raise ValueError(f"speaker sums of shape {sums.shape}")
        self.speakers.sums = sums
        self._previous = np.asarray(arrays["previous"], dtype=np.uint8).reshape(-1, 3)
        self._previous_start = int(header["previous_start"])
        self._previous_speakers = [int(speaker) for speaker in header["previous_speakers"]]


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value
