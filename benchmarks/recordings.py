"""The real recordings the benchmarks score on, from ../shared/data (or $AUDAR_DATA)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audar_plugins.audio import load_audio
from audar_plugins.formats import read_rttm, read_uem
from audar_plugins.simulation import simulate_conversation

DATA = Path(os.environ.get("AUDAR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

LIBRISPEECH_CONVERSATIONS = {
    "libri-2spk": ["1688", "1998"],
    "libri-3spk": ["2033", "2414", "2609"],
    "libri-4spk": ["1688", "2033", "2414", "2609"],
    "libri-5spk": ["1688", "1998", "2033", "2414", "2609"],
}


@dataclass
class Item:
    """One recording with its reference (and scored region, if any)."""

    uri: str
    audio: np.ndarray | str
    reference: object
    uem: object = None


def ami(reference: str = "reference.rttm") -> list[Item]:
    """The AMI excerpts; ``reference`` names the RTTM in the folder (``only_words.rttm`` for word-level turns)."""
    folder = DATA / "ami-train"
    references = read_rttm(folder / reference)
    uems = read_uem(folder / "all.uem")
    return [
        Item(uri, str(folder / f"{uri}.flac"), references[uri], uems[uri])
        for uri in sorted(references)
    ]


def falcon() -> list[Item]:
    folder = DATA / "falcon"
    reference = read_rttm(folder / "test.rttm")["test"]
    return [Item("falcon", str(folder / "test.wav"), reference)]


def librispeech_conversations(seed: int = 0) -> list[Item]:
    folder = DATA / "librispeech"
    items = []
    for index, (uri, speakers) in enumerate(LIBRISPEECH_CONVERSATIONS.items()):
        recordings = {s: [load_audio(f) for f in sorted((folder / s).glob("*.flac"))] for s in speakers}
        waveform, reference = simulate_conversation(recordings, seed=seed + index, uri=uri)
        items.append(Item(uri, waveform, reference))
    return items
