"""Where the offline time of the CPU default goes, stage by stage, for both presets.

    python benchmarks/embedded_stages.py                  # AMI and LibriSpeech conversations
    python benchmarks/embedded_stages.py --sets ami --threads 1

Each recording is diarized twice per preset; the second run is reported (the first one builds
oneDNN's kernels for new shapes). Times are seconds per second of audio: segmentation, CAM++ on
the clean pieces (with the finer pieces where a change of voice may hide), the local speakers'
embeddings (CAM++, or the pieces' means under ``fast``), local speakers without a solo frame,
Silero VAD, and the whole call.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami, librispeech_conversations  # noqa: E402

from audar_plugins.audio import SAMPLE_RATE, load_audio  # noqa: E402
from audar_plugins.backends.embedded import clean_pieces, offline  # noqa: E402
from audar_plugins.backends.embedded.models import Models  # noqa: E402

SETS = {"ami": ami, "librispeech": librispeech_conversations}
STAGES = {"segmentation": (offline, "_segment"), "pieces": (clean_pieces.CleanPieces, "__init__"),
          "local speakers": (offline, "_local_embeddings"), "unanchored": (offline, "vote_unanchored")}


def timed(spent: Counter, name: str, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {','.join(SETS)}")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    spent: Counter = Counter()
    for name, (owner, attribute) in STAGES.items():
        setattr(owner, attribute, timed(spent, name, getattr(owner, attribute)))
    models = Models.load()
    object.__setattr__(models, "vad", timed(spent, "silero", models.vad))
    presets = {"accurate": offline.OfflineSettings(), "fast": replace(offline.OfflineSettings(), reuse_pieces=True)}
    columns = [*STAGES, "silero", "total"]
    print(f"{'set':<13}{'preset':<10}" + "".join(f"{column:>16}" for column in columns))
    for set_name in args.sets.split(","):
        waveforms = [load_audio(item.audio) for item in SETS[set_name]()]
        audio = sum(waveform.size for waveform in waveforms) / SAMPLE_RATE
        for preset, settings in presets.items():
            totals: Counter = Counter()
            for waveform in waveforms:
                offline.diarize_offline(waveform, models, settings)
                spent.clear()
                started = time.perf_counter()
                offline.diarize_offline(waveform, models, settings)
                spent["total"] += time.perf_counter() - started
                totals.update(spent)
            print(f"{set_name:<13}{preset:<10}" + "".join(f"{totals[column] / audio:>16.4f}" for column in columns),
                  flush=True)


if __name__ == "__main__":
    main()
