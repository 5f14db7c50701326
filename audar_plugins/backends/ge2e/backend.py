"""GE2EBackend: who spoke when, offline, on CPU, with weights from PyPI wheels.

1. Silero VAD marks speech (32 ms frames).
2. Each speech region (speech between silences of at least ``min_silence``) is cut
   into overlapping windows, none crossing a silence, so that a short reply after a
   pause is embedded on its own; the GE2E encoder embeds each window.
3. Average-linkage clustering of the windows decides the speakers.
4. Every 10 ms speech frame is scored against each speaker's centroid by the
   windows that cover it, which places speaker changes inside a speech region
   to within a fraction of a window.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...activity import Binarization, SpeakerActivity, default_labels
from ...audio import SAMPLE_RATE, AudioInput, load_audio
from ...errors import InvalidOptionError
from ..base import ProgressCallback, SpeakerCount
from ..embedded.vad import SileroVAD
from .clustering import cluster_embeddings, normalize
from .encoder import MEL_HOP, GE2EEncoder, MelSpectrogram
from .frames import FRAME_DURATION, vad_reads, window_starts
from .session import GE2ESession

__all__ = ["GE2EBackend", "GE2EOptions"]



@dataclass(frozen=True)
class GE2EOptions:
    """Settings of the GE2E backend (durations in seconds).

    Attributes
    ----------
    vad_onset, vad_offset
        Hysteresis thresholds on Silero's speech probability.
    min_speech, min_silence
        Speech shorter than this is dropped; silence shorter than this is bridged.
    window, step
        Length and hop of the embedding windows, in seconds of speech.
    threshold
        Cosine distance at which speaker clusters stop merging.
    min_speaker_speech
        Seconds of speech a cluster needs to count as a speaker of its own.
    temperature
        Softness of the per-frame speaker posterior (cosine similarity units).
    join_threshold, join_margin
        Live sessions only: a window joins a speaker when its cosine distance to the
        speaker's centroid is below ``join_threshold`` and its similarity beats the
        runner-up's by ``join_margin``.
    """

    vad_onset: float = 0.2
    vad_offset: float = 0.1
    min_speech: float = 0.1
    min_silence: float = 0.6
    window: float = 0.9
    step: float = 0.2
    threshold: float = 0.42
    min_speaker_speech: float = 1.0
    temperature: float = 0.02
    join_threshold: float = 0.22
    join_margin: float = 0.06

    def __post_init__(self) -> None:
        for name in ("vad_onset", "vad_offset"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InvalidOptionError(f"{name}={value} must be in [0, 1]")
        if not 0.2 <= self.window <= 10:
            raise InvalidOptionError(f"window={self.window} must be in [0.2, 10] seconds")
        if not 0.01 <= self.step <= self.window:
            raise InvalidOptionError(f"step={self.step} must be in [0.01, window]")
        if not 0 < self.threshold < 2:
            raise InvalidOptionError(f"threshold={self.threshold} must be in (0, 2)")
        if not 0 < self.join_threshold < 2:
            raise InvalidOptionError(f"join_threshold={self.join_threshold} must be in (0, 2)")
        if not 0 <= self.join_margin < 2:
            raise InvalidOptionError(f"join_margin={self.join_margin} must be in [0, 2)")
        if not self.temperature > 0:
            raise InvalidOptionError(f"temperature={self.temperature} must be positive")
        for name in ("min_speech", "min_silence"):
            if not 0 <= getattr(self, name) <= 10:
                raise InvalidOptionError(f"{name} must be in [0, 10] seconds")


class GE2EBackend:
    """The previous CPU default (one speaker at a time), registered as ``ge2e``.

    Parameters
    ----------
    options
        An :class:`GE2EOptions`; keyword arguments override its fields.
    device
        Where the speaker encoder runs (``"cpu"``, ``"cuda"``, a ``torch.device``);
        voice activity detection always runs on the CPU with ONNX Runtime.

    One instance may serve several threads: every call keeps its own state.
    """

    name = "ge2e"

    def __init__(self, options: GE2EOptions | None = None, device: Any = "cpu", **overrides: float) -> None:
        options = options or GE2EOptions()
        if overrides:
            unknown = set(overrides) - set(GE2EOptions.__dataclass_fields__)
            if unknown:
                raise InvalidOptionError(f"unknown option(s) {sorted(unknown)} for the ge2e backend")
            options = dataclasses.replace(options, **overrides)
        self.options = options
        # speech shorter than 200 ms (shorter than a word) is a flicker at a speaker change
        self.binarization = Binarization(onset=0.5, offset=0.5, min_duration_on=0.2)
        self._vad = SileroVAD()
        self._mel = MelSpectrogram()
        self._encoder = GE2EEncoder(device)

    def to(self, device) -> GE2EBackend:
        """Move the speaker encoder to ``device`` (a ``torch.device``)."""
        self._encoder.to(device)
        return self

    def open_session(self, preset: None = None, speakers: SpeakerCount = SpeakerCount()) -> GE2ESession:
        """A live session on this backend's models; ``speakers`` caps the number of speakers it creates.

        The GE2E backend has one latency (about ``window`` seconds of speech), so
        ``preset`` must be ``None``; it is there to share Sortformer's signature.
        """
        if preset is not None:
            raise InvalidOptionError(f"the ge2e backend has no latency presets (got {preset!r}); "
                                     "set its options (window, step) instead")
        return GE2ESession(self, speakers.bounds[1])

    def restore_session(self, snapshot: bytes) -> GE2ESession:
        """Resume a session from :meth:`GE2ESession.snapshot` bytes, in this or another process."""
        return GE2ESession.restore(self, snapshot)

    def diarize(
        self,
        audio: AudioInput,
        speakers: SpeakerCount = SpeakerCount(),
        progress: ProgressCallback | None = None,
    ) -> SpeakerActivity:
        waveform = load_audio(audio)
        duration = waveform.shape[0] / SAMPLE_RATE
        report = progress or (lambda done, total: None)
        report(0.0, duration)
        options = self.options

        speech_probability = self._speech_probability(waveform)
        speech = self._speech_frames(speech_probability)
        report(0.1 * duration, duration)
        speech_index = np.flatnonzero(speech)
        num_frames = speech.shape[0]
        if speech_index.size == 0:
            report(duration, duration)
            return SpeakerActivity(np.zeros((num_frames, 0), dtype=np.float32), FRAME_DURATION)

        window = int(round(options.window / FRAME_DURATION))
        step = int(round(options.step / FRAME_DURATION))
        starts, lengths = _region_windows(speech_index, window, step)
        embeddings = np.empty((starts.size, GE2EEncoder.dimension), dtype=np.float32)
        batch = 256
        for first in range(0, starts.size, batch):
            chosen = slice(first, first + batch)
            # the spectrogram of just the span these windows cover: memory stays flat
            span_start = int(speech_index[starts[first]])
            span_end = int(speech_index[starts[chosen][-1] + lengths[chosen][-1] - 1]) + 1
            mel = self._mel(waveform, span_start, span_end)
            for length in np.unique(lengths[chosen]):  # a region shorter than a window has a shorter one
                same = first + np.flatnonzero(lengths[chosen] == length)
                frames = speech_index[starts[same, np.newaxis] + np.arange(length)]
                embeddings[same] = self._encoder(mel[frames - span_start])
            report(duration * (0.1 + 0.8 * min(1.0, (first + batch) / starts.size)), duration)

        low, high = speakers.bounds
        min_size = max(1, int(round(options.min_speaker_speech / options.step)))
        labels = cluster_embeddings(embeddings, options.threshold, low, high, min_size=min_size)
        count = int(labels.max()) + 1
        centroids = normalize(np.stack([embeddings[labels == k].mean(axis=0) for k in range(count)]))
        similarity = embeddings @ centroids.T

        # Score each speech frame by the mean similarity of the windows that cover it.
        totals = np.zeros((speech_index.size + 1, count))
        np.add.at(totals, starts, similarity)
        np.add.at(totals, starts + lengths, -similarity)
        covering = np.zeros(speech_index.size + 1)
        np.add.at(covering, starts, 1)
        np.add.at(covering, starts + lengths, -1)
        scores = np.cumsum(totals, axis=0)[:-1] / np.maximum(np.cumsum(covering)[:-1, np.newaxis], 1)
        # In speech, the best-scoring speaker has probability 1; another joins it
        # (overlap) in proportion to how close its score comes.
        relative = np.exp((scores - scores.max(axis=1, keepdims=True)) / options.temperature)

        probabilities = np.zeros((num_frames, count), dtype=np.float32)
        probabilities[speech_index] = relative
        report(duration, duration)
        return SpeakerActivity(probabilities, FRAME_DURATION, labels=default_labels(count), embeddings=centroids)

    def _speech_probability(self, waveform: np.ndarray) -> np.ndarray:
        """Silero's probability on the 10 ms grid, one value per mel frame."""
        vad = self._vad(waveform)
        num_frames = 1 + waveform.shape[0] // MEL_HOP
        frame_of = vad_reads(np.arange(num_frames), vad.size)
        return vad[frame_of]

    def _speech_frames(self, speech_probability: np.ndarray) -> np.ndarray:
        options = self.options
        regions = SpeakerActivity(speech_probability[:, np.newaxis], FRAME_DURATION).segments(
            Binarization(
                onset=options.vad_onset,
                offset=options.vad_offset,
                min_duration_on=options.min_speech,
                min_duration_off=options.min_silence,
            )
        )[0]
        speech = np.zeros(speech_probability.shape[0], dtype=bool)
        for start, end in np.rint(regions / FRAME_DURATION).astype(int):
            speech[start:end] = True
        return speech


def _region_windows(speech_index: np.ndarray, window: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and lengths, in positions of ``speech_index``, that never cross a silence."""
    breaks = np.flatnonzero(np.diff(speech_index) > 1) + 1
    bounds = np.concatenate([[0], breaks, [speech_index.size]])
    starts, lengths = [], []
    for first, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        local = window_starts(stop - first, window, step)
        starts.append(first + local)
        lengths.append(np.full(local.size, min(window, stop - first)))
    return np.concatenate(starts), np.concatenate(lengths)
