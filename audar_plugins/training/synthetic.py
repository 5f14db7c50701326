"""Synthetic training conversations from single-speaker recordings, written as a NeMo manifest.

Each conversation draws 2-8 speakers and a few of each speaker's recordings and lays their
phrases out in turns with :func:`audar_plugins.simulation.simulate_conversation` (gaps and
overlaps as :class:`~audar_plugins.simulation.ConversationOptions` says, optionally in a
simulated room with noise). The reference is exact by construction; each conversation is
written as ``<uri>.wav`` and ``<uri>.rttm``, one manifest line each.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE
from ..batch.inputs import AUDIO_SUFFIXES
from ..errors import InvalidOptionError, TrainingDataError
from ..simulation import ConversationOptions, RoomOptions, overlap_ratio, simulate_conversation
from .manifests import ManifestEntry

__all__ = ["CorpusOptions", "CorpusSummary", "find_speakers", "simulate_corpus"]

MAX_SPEAKERS = 8


@dataclass(frozen=True)
class CorpusOptions:
    """How many conversations, how many speakers each (an inclusive range), and how many of
    each speaker's recordings go into one conversation."""

    conversations: int = 100
    speakers: tuple[int, int] = (2, 4)
    recordings_per_speaker: tuple[int, int] = (1, 2)
    conversation: ConversationOptions = field(default_factory=ConversationOptions)
    room: RoomOptions | None = None

    def __post_init__(self) -> None:
        if self.conversations < 1:
            raise InvalidOptionError(f"conversations must be >= 1, got {self.conversations}")
        low, high = self.speakers
        if not 2 <= low <= high <= MAX_SPEAKERS:
            raise InvalidOptionError(f"speakers must be a range within 2-{MAX_SPEAKERS}, got {low}-{high}")
        low, high = self.recordings_per_speaker
        if not 1 <= low <= high:
            raise InvalidOptionError(f"recordings_per_speaker must be a range with 1 <= low <= high, got {low}-{high}")


@dataclass(frozen=True)
class CorpusSummary:
    """What :func:`simulate_corpus` wrote."""

    entries: list[ManifestEntry]
    hours: float
    overlap_ratio: float
    """Share of the speech time with two or more speakers, over the whole corpus."""


def find_speakers(folders: Sequence[str | os.PathLike]) -> dict[str, list[Path]]:
    """Recordings by speaker: a folder whose audio files sit directly in it is one speaker (named
    after it); a folder of such folders (LibriSpeech's ``reader/`` layout) is one speaker per subfolder."""
    speakers: dict[str, list[Path]] = {}
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise TrainingDataError(f"no such folder of recordings: {str(folder)!r}")
        candidates = [folder] + sorted(path for path in folder.iterdir() if path.is_dir())
        for candidate in candidates:
            files = sorted(path for path in candidate.iterdir() if path.suffix.lower() in AUDIO_SUFFIXES)
            if files:
                if candidate.name in speakers:
                    raise TrainingDataError(f"two folders of recordings are named {candidate.name!r}")
                speakers[candidate.name] = files
    if len(speakers) < 2:
        raise TrainingDataError(f"conversations need recordings of at least two speakers; found {len(speakers)} "
                                f"in {', '.join(map(str, folders))}")
    return speakers


def simulate_corpus(
    speakers: Mapping[str, Sequence[str | os.PathLike]],
    directory: str | os.PathLike,
    options: CorpusOptions = CorpusOptions(),
    seed: int = 0,
    prefix: str = "sim",
) -> CorpusSummary:
    """Write ``options.conversations`` conversations (WAV + RTTM) into ``directory``."""
    import soundfile

    from ..audio import load_audio
    from ..formats.diarization import to_rttm

    if options.speakers[0] > len(speakers):
        raise InvalidOptionError(f"conversations of {options.speakers[0]}+ speakers need that many speakers' "
                                 f"recordings; there are {len(speakers)}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = sorted(speakers)
    recording = functools.lru_cache(maxsize=256)(load_audio)  # a corpus's recordings need not all fit in memory

    entries, seconds, speech, overlap = [], 0.0, 0.0, 0.0
    for index in range(options.conversations):
        count = int(rng.integers(options.speakers[0], min(options.speakers[1], len(names)) + 1))
        chosen = [names[i] for i in rng.choice(len(names), size=count, replace=False)]
        recordings = {}
        for name in chosen:
            files = list(map(Path, speakers[name]))
            take = int(rng.integers(options.recordings_per_speaker[0],
                                    min(options.recordings_per_speaker[1], len(files)) + 1))
            recordings[f"spk{chosen.index(name)}_{name}"] = [recording(files[i])
                                                             for i in rng.choice(len(files), take, replace=False)]
        uri = f"{prefix}{index:05d}"
        waveform, reference = simulate_conversation(recordings, seed=int(rng.integers(2**31)),
                                                    options=options.conversation, uri=uri, room=options.room)
        peak = float(np.max(np.abs(waveform)))
        if peak > 0.99:  # overlapping speech can add up past full scale; 16-bit WAV would clip
            waveform = waveform * np.float32(0.99 / peak)
        audio_path, rttm_path = directory / f"{uri}.wav", directory / f"{uri}.rttm"
        soundfile.write(audio_path, waveform, SAMPLE_RATE, subtype="PCM_16")
        rttm_path.write_text(to_rttm(reference))
        duration = waveform.shape[0] / SAMPLE_RATE
        entries.append(ManifestEntry(str(audio_path.resolve()), 0.0, round(duration, 3), str(rttm_path.resolve()),
                                     len(reference.labels())))
        seconds += duration
        speech_here = reference.get_timeline().support().duration()
        speech += speech_here
        overlap += overlap_ratio(reference) * speech_here
    return CorpusSummary(entries, seconds / 3600, overlap / speech if speech else 0.0)
