"""Speed and memory of the sortformer backend on a full-size randomly initialised v2 model.

    python benchmarks/sortformer_speed.py                 # 120 s of AMI audio, 4 and 8 speakers, 3 presets
    python benchmarks/sortformer_speed.py --seconds 30 --presets card

Compute does not depend on the weights' values, so a random 117.7 M-parameter
model costs what the real checkpoint costs. For each speaker count and preset
it times, in the same process and one after the other:

- NeMo's own offline streaming forward pass (``model.forward`` in streaming
  mode, features of the whole file first), the reference;
- our live session fed 100 ms pushes (features computed push by push);

and prints their real-time factors, the ratio live / NeMo, and the peak
resident memory during each run (sampled every 10 ms). The 8-speaker model is
the 4-speaker one widened by ``expand_speaker_heads`` (speaker cache 264).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami  # noqa: E402

from audar_plugins.audio import SAMPLE_RATE, load_audio  # noqa: E402

PRESETS = ("card", "nv-1.04s", "nv-10s")


class PeakMemory:
    """Samples this process's resident memory in a thread; ``peak`` in MB after the block."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.peak = 0.0

    @staticmethod
    def resident() -> float:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * 4096 / 2**20

    def __enter__(self) -> PeakMemory:
        self._stop = threading.Event()
        self.peak = self.resident()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.period):
            self.peak = max(self.peak, self.resident())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.resident())


def test_audio(seconds: float) -> np.ndarray:
    """``seconds`` of real meeting audio: AMI clips end to end."""
    clips = [load_audio(item.audio) for item in ami()]
    audio = np.concatenate(clips)
    while len(audio) < seconds * SAMPLE_RATE:
        audio = np.concatenate([audio, audio])
    return np.ascontiguousarray(audio[: int(seconds * SAMPLE_RATE)])


def run_reference(backend, audio: np.ndarray, preset) -> np.ndarray:
    import torch

    return backend._shared.reference_forward(torch.from_numpy(audio), preset).numpy()


def run_live(backend, audio: np.ndarray, preset, push: int) -> np.ndarray:
    session = backend.open_session(preset)
    blocks = [session.push(audio[start : start + push]) for start in range(0, len(audio), push)]
    blocks.append(session.flush())
    return np.concatenate([block.probabilities for block in blocks])


def measure(backend, audio: np.ndarray, preset_name: str, push: int) -> dict:
    preset = backend._checked(preset_name)
    seconds = len(audio) / SAMPLE_RATE
    row = {"speakers": backend.num_speakers, "preset": preset_name, "latency_s": preset.latency,
           "spkcache_len": preset.spkcache_len}
    outputs = {}
    for name, run in (("nemo", lambda: run_reference(backend, audio, preset)),
                      ("live", lambda: run_live(backend, audio, preset, push))):
        with PeakMemory() as memory:
            start = time.perf_counter()
            outputs[name] = run()
            elapsed = time.perf_counter() - start
        row[f"{name}_rtf"] = elapsed / seconds
        row[f"{name}_peak_mb"] = memory.peak
    row["live_over_nemo"] = row["live_rtf"] / row["nemo_rtf"]
    row["max_abs_diff"] = float(np.abs(outputs["live"] - outputs["nemo"]).max())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--push-ms", type=float, default=100.0)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--speakers", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()

    import os

    os.environ["TQDM_DISABLE"] = "1"  # NeMo's streaming forward draws a progress bar; keep the table readable
    import torch

    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer.architecture import build_random_model
    from audar_plugins.backends.sortformer.heads import count_parameters, expand_speaker_heads

    audio = test_audio(args.seconds)
    push = round(args.push_ms * SAMPLE_RATE / 1000)
    base = build_random_model(4, "full")
    print(f"full-size v2 model: {count_parameters(base) / 1e6:.2f} M parameters; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; {args.seconds:.0f} s of audio, {args.push_ms:.0f} ms pushes", flush=True)
    rows = []
    header = (f"{'spk':>3} {'preset':<9} {'latency':>7} {'cache':>5} {'NeMo RTF':>8} {'live RTF':>8} "
              f"{'live/NeMo':>9} {'NeMo MB':>8} {'live MB':>8} {'max diff':>9}")
    print(header)
    for speakers in args.speakers:
        model = base if speakers == 4 else expand_speaker_heads(base, speakers, noise_std=0.01)
        backend = SortformerBackend(model)
        for preset in args.presets:
            row = measure(backend, audio, preset, push)
            rows.append(row)
            print(f"{speakers:>3} {preset:<9} {row['latency_s']:>6.2f}s {row['spkcache_len']:>5} "
                  f"{row['nemo_rtf']:>8.3f} {row['live_rtf']:>8.3f} {row['live_over_nemo']:>9.3f} "
                  f"{row['nemo_peak_mb']:>8.0f} {row['live_peak_mb']:>8.0f} {row['max_abs_diff']:>9.1e}", flush=True)
        del backend, model
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
