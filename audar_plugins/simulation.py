"""Multi-speaker conversations built from single-speaker recordings, with exact references.

Each recording is cut into phrases at its pauses, and phrases of different
speakers are laid out in turns separated by short gaps or overlaps. Who speaks
where is known by construction; where speech starts and stops inside a clean
single-speaker phrase comes from its energy against the speaker's noise floor,
anchored to voiced (pitched) frames so that breaths are not counted as speech. Used to score
diarization where no human reference exists, and to make training mixtures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .activity import runs
from .audio import SAMPLE_RATE
from .errors import InvalidOptionError

if TYPE_CHECKING:
    from pyannote.core import Annotation

__all__ = [
    "ConversationOptions",
    "RoomOptions",
    "frame_energy_db",
    "overlap_ratio",
    "speech_regions",
    "simulate_conversation",
    "voiced_frames",
]

_ENERGY_FRAME = 0.02


def frame_energy_db(waveform: np.ndarray) -> np.ndarray:
    """Energy of each 20 ms frame, in dB."""
    hop = int(_ENERGY_FRAME * SAMPLE_RATE)
    count = waveform.shape[0] // hop
    frames = waveform[: count * hop].reshape(count, hop).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def voiced_frames(waveform: np.ndarray, threshold: float = 0.85) -> np.ndarray:
    """Which 20 ms frames are pitched (voiced speech), from band-passed autocorrelation.

    A frame is voiced when the normalised autocorrelation of its 40 ms
    neighbourhood, filtered to 80-1000 Hz, peaks above ``threshold`` at a lag
    of a 70-400 Hz pitch. Breaths, clicks and noise are not voiced.
    """
    from scipy.signal import butter, sosfilt

    hop = int(_ENERGY_FRAME * SAMPLE_RATE)
    width = 2 * hop
    count = waveform.shape[0] // hop
    if count == 0:
        return np.zeros(0, dtype=bool)
    filtered = sosfilt(butter(4, [80, 1000], btype="band", fs=SAMPLE_RATE, output="sos"), waveform)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(filtered, (0, width)), width)[::hop][:count]
    frames = frames - frames.mean(axis=1, keepdims=True)
    taper = np.hanning(width)
    spectrum = np.fft.rfft(frames * taper, n=2 * width, axis=1)
    correlation = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :width]
    lags = slice(SAMPLE_RATE // 400, SAMPLE_RATE // 70)
    taper_correlation = np.correlate(taper, taper, "full")[width - 1 :]
    correlation = correlation[:, : lags.stop] / (taper_correlation[: lags.stop] / taper_correlation[0])
    peak = correlation[:, lags].max(axis=1) / (correlation[:, 0] + 1e-12)
    return peak > threshold


def speech_regions(
    waveform: np.ndarray,
    floor_db: float | None = None,
    above_floor_db: float = 10.0,
    voiced_margin: float = 0.2,
    min_pause: float = 0.3,
    min_voiced: float = 0.1,
) -> list[tuple[int, int]]:
    """``(start, end)`` sample indices of the speech in a clean single-speaker recording.

    Speech is anchored on voicing: frames within ``voiced_margin`` seconds of a
    voiced frame (covering unvoiced consonants), as long as they are loud,
    that is ``above_floor_db`` above the noise floor (by default the
    recording's 5th percentile of frame energy). Pauses shorter than
    ``min_pause`` seconds are bridged, as annotators do; regions with less than
    ``min_voiced`` seconds of voicing (a click) are dropped. Breaths and noise,
    loud but unvoiced, are not speech.
    """
    from scipy.ndimage import binary_dilation

    energy = frame_energy_db(waveform)
    if energy.size == 0:
        return []
    floor = np.percentile(energy, 5) if floor_db is None else floor_db
    loud = energy > floor + above_floor_db
    voiced = voiced_frames(waveform) & loud
    margin = int(round(voiced_margin / _ENERGY_FRAME))
    speech = binary_dilation(voiced, np.ones(2 * margin + 1, dtype=bool)) & loud if voiced.any() else voiced
    merged: list[list[int]] = []
    for start, end in runs(speech):
        if merged and (start - merged[-1][1]) * _ENERGY_FRAME < min_pause:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    hop = int(_ENERGY_FRAME * SAMPLE_RATE)
    return [
        (start * hop, end * hop)
        for start, end in merged
        if voiced[start:end].sum() * _ENERGY_FRAME >= min_voiced
    ]


@dataclass(frozen=True)
class ConversationOptions:
    """How turns are laid out (seconds).

    Each turn holds 1 to ``max_phrases_per_turn`` consecutive phrases of one
    speaker; consecutive turns have different speakers. A change overlaps the
    previous turn with probability ``overlap_probability`` by a duration drawn
    from ``overlap``, and otherwise follows it after a gap drawn from ``gap``.
    With ``overlap_ratio``, a change overlaps instead whenever the overlapped share of
    the speech laid out so far is below it, so the conversation ends near that share.
    """

    max_phrases_per_turn: int = 2
    gap: tuple[float, float] = (0.15, 0.8)
    overlap_probability: float = 0.2
    overlap: tuple[float, float] = (0.2, 0.8)
    overlap_ratio: float | None = None

    def __post_init__(self) -> None:
        if self.max_phrases_per_turn < 1:
            raise InvalidOptionError("max_phrases_per_turn must be >= 1")
        if not 0 <= self.overlap_probability <= 1:
            raise InvalidOptionError("overlap_probability must be in [0, 1]")
        if self.overlap_ratio is not None and not 0 <= self.overlap_ratio < 1:
            raise InvalidOptionError("overlap_ratio must be in [0, 1)")
        for name in ("gap", "overlap"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise InvalidOptionError(f"{name} must be an interval (low, high) with 0 <= low <= high")


@dataclass(frozen=True)
class RoomOptions:
    """A room around the conversation: reverberation and background noise.

    Each speaker stands at a random place in a shoebox room (sides drawn from ``size``
    metres, reverberation time from ``rt60`` seconds) and is heard by one microphone through
    the room's impulse response (pyroomacoustics' image-source model); then pink noise is added
    at a signal-to-noise ratio drawn from ``snr_db``. The reference keeps the dry speech's
    boundaries, as the recordings' annotators would.
    """

    size: tuple[float, float] = (3.0, 8.0)
    rt60: tuple[float, float] = (0.15, 0.5)
    snr_db: tuple[float, float] = (10.0, 30.0)

    def __post_init__(self) -> None:
        for name, low_bound in (("size", 2.0), ("rt60", 0.05), ("snr_db", -20.0)):
            low, high = getattr(self, name)
            if not low_bound <= low <= high:
                raise InvalidOptionError(f"{name} must be an interval (low, high) with {low_bound} <= low <= high")


def simulate_conversation(
    recordings: Mapping[str, Sequence[np.ndarray]],
    seed: int = 0,
    options: ConversationOptions = ConversationOptions(),
    uri: str = "conversation",
    room: RoomOptions | None = None,
) -> tuple[np.ndarray, Annotation]:
    """Mix the speakers' recordings (16 kHz mono) into one conversation.

    Every phrase of every recording is used once. Returns the mixture and its
    reference annotation, labelled with the keys of ``recordings``. With ``room``, the
    speakers are heard through a simulated room with background noise.
    """
    from pyannote.core import Annotation, Segment

    if len(recordings) < 2:
        raise InvalidOptionError("a conversation needs at least two speakers")
    rng = np.random.default_rng(seed)
    queues: dict[str, list[tuple[np.ndarray, int, int]]] = {}
    for speaker, waveforms in recordings.items():
        floor = float(np.percentile(np.concatenate([frame_energy_db(w) for w in waveforms]), 5))
        phrases = [phrase for waveform in waveforms for phrase in _phrases(waveform, floor)]
        if not phrases:
            raise InvalidOptionError(f"no speech found in the recordings of {speaker!r}")
        queues[speaker] = phrases

    placed: list[tuple[int, str, tuple[np.ndarray, int, int]]] = []
    cursor = 0
    previous: str | None = None
    speech = overlapped = 0  # samples so far, for overlap_ratio
    while any(queues.values()):
        candidates = [s for s, q in queues.items() if q and s != previous] or [s for s, q in queues.items() if q]
        weights = np.array([len(queues[s]) for s in candidates], dtype=float)
        speaker = candidates[rng.choice(len(candidates), p=weights / weights.sum())]
        count = int(rng.integers(1, options.max_phrases_per_turn + 1))
        turn, queues[speaker] = queues[speaker][:count], queues[speaker][count:]
        if previous is not None:
            if options.overlap_ratio is None:
                overlaps = rng.random() < options.overlap_probability
            else:
                overlaps = overlapped < options.overlap_ratio * (speech - overlapped)  # of the union
            if overlaps:
                shift = int(rng.uniform(*options.overlap) * SAMPLE_RATE)
                cursor -= shift
                audio, first, last = placed[-1][2]
                silence = audio.shape[0] - last + turn[0][1]  # after the previous speech, before the next
                overlapped += min(max(shift - silence, 0), last - first)
            else:
                cursor += int(rng.uniform(*options.gap) * SAMPLE_RATE)
        for index, phrase in enumerate(turn):
            if index:
                cursor += int(rng.uniform(*options.gap) * SAMPLE_RATE)
            cursor = max(cursor, 0)
            placed.append((cursor, speaker, phrase))
            cursor += phrase[0].shape[0]
            speech += phrase[2] - phrase[1]
        previous = speaker

    length = max(start + audio.shape[0] for start, _, (audio, _, _) in placed)
    tracks = {speaker: np.zeros(length, dtype=np.float32) for speaker in (recordings if room else ["all"])}
    reference = Annotation(uri=uri)
    for start, speaker, (audio, first, last) in placed:
        tracks[speaker if room else "all"][start : start + audio.shape[0]] += audio
        reference[Segment((start + first) / SAMPLE_RATE, (start + last) / SAMPLE_RATE)] = speaker
    mixture = tracks["all"] if room is None else _in_room(list(tracks.values()), room, rng)
    return mixture, reference.support()


def overlap_ratio(reference: Annotation) -> float:
    """The share of speech time where two or more speakers talk at once."""
    speech = reference.get_timeline().support().duration()
    overlap = reference.get_overlap().duration()
    return float(overlap / speech) if speech else 0.0


def _in_room(tracks: list[np.ndarray], room: RoomOptions, rng: np.random.Generator) -> np.ndarray:
    """The tracks as one microphone in a random room hears them, plus pink noise."""
    import pyroomacoustics as pra
    from scipy.signal import fftconvolve

    dimensions = rng.uniform(*room.size, size=3)
    dimensions[2] = min(dimensions[2], 3.5)  # ceilings are lower than walls are long
    absorption, max_order = pra.inverse_sabine(float(rng.uniform(*room.rt60)), dimensions)
    shoebox = pra.ShoeBox(dimensions, fs=SAMPLE_RATE, materials=pra.Material(absorption), max_order=max_order)
    inside = lambda: rng.uniform(0.5, dimensions - 0.5)  # noqa: E731
    for _ in tracks:
        shoebox.add_source(inside())
    shoebox.add_microphone(inside())
    shoebox.compute_rir()
    length = tracks[0].shape[0]
    mixture = np.zeros(length, dtype=np.float64)
    for track, response in zip(tracks, shoebox.rir[0]):
        response = response / np.max(np.abs(response))  # the direct path keeps the dry level
        mixture += fftconvolve(track, response)[:length]
    noise = _pink_noise(length, rng)
    speech_power = np.mean(mixture[np.abs(mixture) > 0] ** 2) if np.any(mixture) else 0.0
    noise *= np.sqrt(speech_power / 10 ** (rng.uniform(*room.snr_db) / 10) / np.mean(noise**2))
    mixture += noise
    peak = np.max(np.abs(mixture))
    return (mixture / peak * 0.9 if peak > 0.9 else mixture).astype(np.float32)


def _pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Noise whose power falls as 1/f, like a room's hum and air."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.fft.rfftfreq(length)
    spectrum[1:] /= np.sqrt(frequencies[1:])
    spectrum[0] = 0
    return np.fft.irfft(spectrum, n=length)


def _phrases(waveform: np.ndarray, floor_db: float) -> list[tuple[np.ndarray, int, int]]:
    """``(audio, speech start, speech end)`` per phrase: cut at pauses of 0.3 s or more,
    keeping up to 0.1 s of the surrounding silence."""
    margin = int(0.1 * SAMPLE_RATE)
    phrases = []
    for start, end in speech_regions(waveform, floor_db):
        first, last = max(0, start - margin), min(waveform.shape[0], end + margin)
        phrases.append((waveform[first:last], start - first, end - first))
    return phrases
