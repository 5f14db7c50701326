"""A live session on segmentation-3.0 and CAM++: diart's recipe on a fixed grid of windows.

Every ``step`` seconds of audio, counted from the start of the stream however it is pushed,
the last 10 s (less at the start, padded) go through the segmentation model, and the
window's newest ``step`` seconds become final. Each local speaker active there and heard for
``min_local`` seconds in the last ``context`` seconds is embedded with CAM++ over those
(the frames where it speaks alone, or all of them if it hardly ever does) and matched to
the speakers so far (:class:`~.incremental_speakers.IncrementalSpeakers`); a local speaker
heard alone for ``min_long`` seconds there may be a new speaker, and so may one heard alone
for ``min_separated`` seconds beside another local speaker that surely is the speaker it
resembles most (the short reply of a third person). A frame is active for the
speakers its active local speakers were matched to, two at once where the model hears
overlap. Only the recent audio counts because the segmentation model may give two people
who alternate one local speaker in a window.

For the same reason a local speaker's speech in the window splits into runs at the model's
silences and at Silero's pauses of ``min_pause`` seconds or more. When one local speaker has
two or more runs in the step, each run heard for ``min_run`` seconds (its last ``context``
seconds), except the one that fills most of the last ``context`` seconds and so made the
match, is embedded on its own and goes to the speaker it resembles most if that speaker is
nearer than the local speaker's match by ``min_gain``, within ``max_distance``, and not held
by another local speaker on the run's frames: the tail of one reader and the start of the
next get their own names. This only names runs: it makes no speaker and moves no centroid.

Silero VAD runs over the stream as it arrives and sets the edges of each final step as
offline (:mod:`.speech_edges`), from the values complete by the step's end; a clipped word is
filled only from frames of the same step.

Where speakers overlap in a final step, the voice that leads gets the higher activity, as offline
(:mod:`.dominant_voice`, against the centroids as they stand after the step's match).

Every window is computed alone, from the audio at fixed positions of the stream: the output
does not depend on how the stream is cut, and a restored session continues exactly. A frame
is final at most ``step`` seconds after its audio arrives, plus the compute of one window.
Memory: one window of audio, Silero's state and its values over that window, and the
speakers' centroids.

Frames are the model's, 16.875 ms apart; block frame ``i`` is the model frame centred at
``i`` x 16.875 ms + 30.9 ms (the blocks start at 0, as every session's do).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...activity import default_labels, runs
from ...errors import InvalidOptionError
from ..session import BaseSession
from .dominant_voice import mark_dominant_voice
from .fbank import HOP_SAMPLES, fbank, normalized
from .incremental_speakers import IncrementalSpeakers
from .local_speakers import (
    FRAME_CENTER_SAMPLES,
    FRAME_STEP_SAMPLES,
    alone,
    embedding_frames,
    frames_for,
    multilabel,
    speaker_frames,
)
from .models import Models
from .segmentation import FRAME_STEP, WINDOW_FRAMES, WINDOW_SAMPLES
from .speaker_clusters import normalize
from .speech_edges import EdgeSettings, snap_to_speech, speech_probability_at
from .vad import VAD_FRAME_DURATION, VAD_FRAME_SAMPLES

if TYPE_CHECKING:
    from typing_extensions import Self

    from ...activity import SpeakerActivity

__all__ = ["LiveSettings", "SegmentationSession"]

SPEECH = 0.5  # Silero's probability below which a frame is quiet
BRIDGED = 3  # frames: silences of the model this short do not split a run


@dataclass(frozen=True)
class LiveSettings:
    """Settings of a live session (durations in seconds)."""

    step: float = 2.0
    min_local: float = 0.5
    context: float = 2.0
    min_long: float = 0.75
    min_separated: float = 0.5
    min_same: float = 0.5
    max_distance: float = 0.6
    min_pause: float = 0.15
    min_run: float = 0.3
    min_gain: float = 0.1
    edges: EdgeSettings = EdgeSettings()

    def __post_init__(self) -> None:
        if not 0.5 <= self.step <= 5.0:
            raise InvalidOptionError(f"step must be within 0.5 and 5 seconds, got {self.step}")
        if not 0 < self.max_distance < 2:
            raise InvalidOptionError(f"max_distance must be within 0 and 2, got {self.max_distance}")
        if not -1 <= self.min_same <= 1:
            raise InvalidOptionError(f"min_same is a cosine similarity, within -1 and 1, got {self.min_same}")
        if not 0 <= self.min_gain <= 2:
            raise InvalidOptionError(f"min_gain must be within 0 and 2, got {self.min_gain}")
        for name in ("min_local", "context", "min_long", "min_separated", "min_pause", "min_run"):
            if not 0 <= getattr(self, name) <= 10:
                raise InvalidOptionError(f"{name} must be within 0 and 10 seconds, got {getattr(self, name)}")

    @property
    def step_frames(self) -> int:
        return max(1, frames_for(self.step))


class SegmentationSession(BaseSession):
    """One stream through segmentation-3.0 and CAM++; see the module docstring."""

    snapshot_kind = "audar-segmentation-session"
    snapshot_version = 3

    def __init__(self, models: Models, settings: LiveSettings = LiveSettings(),
                 max_speakers: float = math.inf) -> None:
        super().__init__(FRAME_STEP, {"kind": "segmentation-3.0+campplus", **asdict(settings)})
        self.models = models
        self.settings = settings
        self.speakers = IncrementalSpeakers(settings.max_distance, models.encoder.dimension, max_speakers,
                                            settings.min_same)
        self._audio = np.zeros(0, dtype=np.float32)
        self._audio_start = 0  # stream sample of self._audio[0]
        self._steps = 0  # steps made final
        self._vad = models.vad.stream()
        self._speech = np.zeros(0, dtype=np.float32)  # Silero's probabilities, from VAD frame _speech_start
        self._speech_start = 0

    @property
    def labels(self) -> tuple[str, ...]:
        return default_labels(self.speakers.count)

    @property
    def latency(self) -> float:
        """Seconds of audio a frame may wait for before it is final (compute aside)."""
        return self.settings.step_frames * FRAME_STEP

    def _push(self, samples: np.ndarray) -> SpeakerActivity:
        self._audio = np.concatenate([self._audio, samples])
        self._speech = np.concatenate([self._speech, self._vad.push(samples)])
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
        self._speech = np.concatenate([self._speech, self._vad.flush()])
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
        first = self._steps * step_frames if until is None else self.emitted_frames
        window_frame = begin // FRAME_STEP_SAMPLES
        rows = np.clip(np.arange(first, stop) - window_frame, 0, WINDOW_FRAMES - 1)
        speech = self._speech_at(np.arange(window_frame, window_frame + WINDOW_FRAMES), end, until is not None)
        owners = self._match(piece, activity, _pauses(speech, self.settings.min_pause), int(rows[0]),
                             int(rows[-1]) + 1)
        probabilities = np.zeros((stop - first, self.speakers.count), dtype=np.float32)
        for local in range(3):
            speakers = owners[rows, local]
            on = np.flatnonzero((activity[rows, local] > 0) & (speakers >= 0))
            probabilities[on, speakers[on]] = 1.0
        probabilities = snap_to_speech(probabilities, self._speech_at(np.arange(first, stop), end, until is not None),
                                       FRAME_STEP, self.settings.edges)
        return mark_dominant_voice(probabilities, self._audio[: end - self._audio_start], self.speakers.centroids(),
                                   self.models.encoder, first, self._audio_start)

    def _speech_at(self, frames: np.ndarray, end: int, flushed: bool) -> np.ndarray:
        """Silero's probability at these frames from the VAD frames complete by sample ``end`` (all at the
        flush): the same values however the stream was cut."""
        known = self._speech.size if flushed else end // VAD_FRAME_SAMPLES - self._speech_start
        times = (frames * FRAME_STEP_SAMPLES + FRAME_CENTER_SAMPLES) / 16_000 - self._speech_start * VAD_FRAME_DURATION
        return speech_probability_at(self._speech[: max(known, 0)], times)

    def _match(self, audio: np.ndarray, activity: np.ndarray, pauses: np.ndarray, first: int,
               stop: int) -> np.ndarray:
        """The speaker of each local speaker on each window frame (``(frames, 3)``, ``-1``: none) for
        the local speakers active on window frames ``first`` to ``stop``, from each one's embedding
        over the last ``context`` seconds up to ``stop`` (the model may give two people who alternate
        one local speaker in a window, so only who speaks now counts), then by runs (see the module
        docstring)."""
        settings = self.settings
        min_frames, longest = frames_for(settings.min_local), frames_for(settings.context)
        recent = np.zeros_like(activity)
        recent[max(0, stop - longest) : stop] = activity[max(0, stop - longest) : stop]
        single = alone(recent)
        matched = [-1, -1, -1]
        heard = [local for local in range(3)
                 if activity[first:stop, local].any() and recent[:, local].sum() >= min_frames]
        if not heard:
            return np.full((activity.shape[0], 3), -1, dtype=np.int64)
        # every frame embedded lies at most `context` seconds before the step: the filterbank starts there
        skipped = max(0, FRAME_STEP_SAMPLES * (first - longest) // HOP_SAMPLES - 3)
        frames = np.concatenate([np.zeros((skipped, 80), np.float32), fbank(audio[skipped * HOP_SAMPLES :])])
        features, long, separable = [], [], []
        for local in heard:
            picked = speaker_frames(frames.shape[0], embedding_frames(recent, local, min_frames))
            features.append(normalized(frames[picked]) if picked.size >= 3 else np.zeros((3, 80), np.float32))
            alone_seconds = single[:, local].sum() * FRAME_STEP
            long.append(alone_seconds >= settings.min_long)
            separable.append(alone_seconds >= settings.min_separated)
        candidates = self._runs_to_rematch(activity, pauses, first, stop, heard)
        features += [normalized(frames[speaker_frames(frames.shape[0], picked)]) for _, _, _, picked in candidates]
        embeddings = self.models.encoder.embed(features)  # one batch: the runs' too
        for local, speaker in zip(heard, self.speakers.assign(embeddings[: len(heard)], np.array(long),
                                                                 np.array(separable))):
            matched[local] = speaker
        owners = np.tile(np.array(matched, dtype=np.int64), (activity.shape[0], 1))
        if candidates:
            similarity = normalize(embeddings[len(heard) :]) @ self.speakers.centroids().T
            for (local, a, b, _), row in zip(candidates, similarity):
                nearest, current = int(np.argmax(row)), matched[local]
                held = any(matched[other] == nearest and activity[a:b, other].any()
                           for other in range(3) if other != local)
                gain = row[nearest] - row[current]
                if (current >= 0 and nearest != current and not held and gain >= settings.min_gain
                        and 1 - row[nearest] <= settings.max_distance):
                    owners[a:b, local] = nearest
        return owners

    def _runs_to_rematch(self, activity: np.ndarray, pauses: np.ndarray, first: int, stop: int,
                         heard: list[int]) -> list[tuple[int, int, int, np.ndarray]]:
        """``(local, start, stop, frames to embed)`` of each run to match on its own: the runs of a
        local speaker with two or more runs in the step, but the one it was matched from."""
        min_frames, longest = frames_for(self.settings.min_run), frames_for(self.settings.context)
        single = alone(activity[:stop])
        candidates = []
        for local in heard:
            spans = [(a, b) for a, b in runs(activity[:stop, local].astype(bool) & ~pauses[:stop], BRIDGED)
                     if b > first]
            if len(spans) < 2:
                continue
            # the run that fills most of the last `context` seconds is the voice the match was made from
            recent = int(np.argmax([b - max(a, stop - longest) for a, b in spans]))
            for a, b in spans[:recent] + spans[recent + 1 :]:
                span = np.zeros(stop, dtype=bool)
                span[max(a, b - longest) : b] = True
                picked = span & single[:, local]
                if picked.sum() < min_frames:
                    picked = span
                if picked.sum() >= min_frames:
                    candidates.append((local, a, b, picked))
        return candidates

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
        first_needed = min(keep_from, self._steps * self.settings.step_frames * FRAME_STEP_SAMPLES) // VAD_FRAME_SAMPLES
        if first_needed > self._speech_start:
            self._speech = self._speech[first_needed - self._speech_start :].copy()
            self._speech_start = first_needed

    def _snapshot_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = {"settings": asdict(self.settings), "max_speakers": _finite(self.speakers.max_speakers),
                  "audio_start": self._audio_start, "steps": self._steps, "speech_start": self._speech_start}
        vad = {f"vad_{name}": value for name, value in self._vad.state().items()}
        return header, {"audio": self._audio, "sums": self.speakers.sums, "speech": self._speech, **vad}

    @classmethod
    def _reopen(cls, owner: Models, header: dict[str, Any]) -> Self:
        maximum = header["max_speakers"]
        settings = dict(header["settings"])
        settings["edges"] = EdgeSettings(**settings.get("edges", {}))
        return cls(owner, LiveSettings(**settings), math.inf if maximum is None else maximum)

    def _restore_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._audio = np.asarray(arrays["audio"], dtype=np.float32)
        self._audio_start = int(header["audio_start"])
        self._steps = int(header["steps"])
        self._speech = np.asarray(arrays["speech"], dtype=np.float32).reshape(-1)
        self._speech_start = int(header["speech_start"])
        self._vad.restore({name: arrays[f"vad_{name}"] for name in ("hidden", "cell", "context", "pending")})
        sums = np.asarray(arrays["sums"], dtype=np.float64)
        if sums.ndim != 2 or sums.shape[1] != self.models.encoder.dimension:
            raise ValueError(f"speaker sums of shape {sums.shape}")
        self.speakers.sums = sums


def _pauses(speech: np.ndarray, min_pause: float) -> np.ndarray:
    """Frames inside runs of ``min_pause`` seconds or more where Silero's ``speech`` probability is low."""
    quiet = speech < SPEECH
    pauses = np.zeros(quiet.shape, dtype=bool)
    for start, stop in runs(quiet):
        if (stop - start) * FRAME_STEP >= min_pause:
            pauses[start:stop] = True
    return pauses


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value
