"""Speed and memory of the sortformer backend on a full-size randomly initialised v2 model.

    python benchmarks/sortformer_speed.py                 # 120 s of AMI audio, 4 and 8 speakers, 3 presets
    python benchmarks/sortformer_speed.py --seconds 30 --presets card

Compute does not depend on the weights' values, so a random 117.7 M-parameter
model costs what the real checkpoint costs. For each speaker count and preset
it times, in the same process and one after the other:

- NeMo's own offline streaming forward pass (``model.forward`` in streaming
  mode, features of the whole file first), the reference;
- our live session fed 100 ms pushes (features computed as the pushes arrive);

and prints their real-time factors, the ratio live / NeMo, the resident memory
once the model is built, the peak during each run, and the largest difference
between the two outputs. Each run has a fresh process, so no run inherits
another's memory. The 8-speaker model is the 4-speaker one widened by
``expand_speaker_heads`` (speaker cache 264).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami

from audar_plugins.audio import SAMPLE_RATE, load_audio

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


def one_run(args: argparse.Namespace) -> None:
    """In a fresh process: build the model, run one way once, report time and memory as JSON."""
    import resource

    import torch

    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer.architecture import build_random_model
    from audar_plugins.training.heads import expand_speaker_heads

    audio = test_audio(args.seconds)
    model = build_random_model(4, "full")
    if args.speakers != 4:
        model = expand_speaker_heads(model, args.speakers, noise_std=0.01)
    backend = SortformerBackend(model)
    preset = backend.streaming_config(args.preset)
    before = PeakMemory.resident()
    with PeakMemory() as memory:
        start = time.perf_counter()
        if args.way == "nemo":
            output = run_reference(backend, audio, preset)
        else:
            output = run_live(backend, audio, preset, round(args.push_ms * SAMPLE_RATE / 1000))
        elapsed = time.perf_counter() - start
    np.save(args.output, output)
    print(json.dumps({
        "rtf": elapsed / (len(audio) / SAMPLE_RATE),
        "peak_mb": max(memory.peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "model_mb": before,
        "latency_s": preset.latency,
        "spkcache_len": preset.spkcache_len,
        "threads": torch.get_num_threads(),
    }))


def measure(args: argparse.Namespace, speakers: int, preset: str, folder: Path) -> dict:
    """Run NeMo and live ``args.repeats`` times each, alternating, each in a fresh process.

    The time of a way is its fastest run (the machine is shared: slower runs are
    interference); its memory is the highest peak seen.
    """
    row: dict = {"speakers": speakers, "preset": preset}
    times: dict[str, list[float]] = {"nemo": [], "live": []}
    peaks: dict[str, list[float]] = {"nemo": [], "live": []}
    outputs = {}
    for _ in range(args.repeats):
        for way in ("nemo", "live"):
            output = folder / f"{speakers}-{preset}-{way}.npy"
            command = [sys.executable, __file__, "--one", way, "--speakers", str(speakers), "--presets", preset,
                       "--seconds", str(args.seconds), "--push-ms", str(args.push_ms), "--output", str(output)]
            env = {**os.environ, "TQDM_DISABLE": "1", "NEMO_REDIRECT_LOGS_TO_STDERR": "1"}
            done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{way} run failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            row.update(latency_s=result["latency_s"], spkcache_len=result["spkcache_len"],
                       model_mb=result["model_mb"])
            times[way].append(result["rtf"])
            peaks[way].append(result["peak_mb"])
            outputs[way] = np.load(output)
    for way in ("nemo", "live"):
        row[f"{way}_rtf"], row[f"{way}_peak_mb"] = min(times[way]), max(peaks[way])
        row[f"{way}_rtf_runs"] = times[way]
    row["live_over_nemo"] = row["live_rtf"] / row["nemo_rtf"]
    row["max_abs_diff"] = float(np.abs(outputs["live"] - outputs["nemo"]).max())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--push-ms", type=float, default=100.0)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--speakers", nargs="+", type=int, default=[4, 8])
    parser.add_argument("--repeats", type=int, default=2, help="runs per way, alternating; the fastest counts")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    parser.add_argument("--one", choices=("nemo", "live"), help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        args.way, args.speakers, args.preset = args.one, args.speakers[0], args.presets[0]
        one_run(args)
        return

    import torch

    print(f"full-size random v2 model (117.69 M parameters, 4 speakers; 8 = widened heads); torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads; {args.seconds:.0f} s of AMI audio; "
          f"live pushes of {args.push_ms:.0f} ms; {args.repeats} alternating runs per way, each in a fresh "
          "process; RTF = fastest run, memory = highest peak", flush=True)
    print(f"{'spk':>3} {'preset':<9} {'latency':>7} {'cache':>5} {'NeMo RTF':>8} {'live RTF':>8} "
          f"{'live/NeMo':>9} {'model MB':>8} {'NeMo peak':>9} {'live peak':>9} {'max diff':>9}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for speakers in args.speakers:
            for preset in args.presets:
                row = measure(args, speakers, preset, Path(folder))
                rows.append(row)
                print(f"{speakers:>3} {preset:<9} {row['latency_s']:>6.2f}s {row['spkcache_len']:>5} "
                      f"{row['nemo_rtf']:>8.3f} {row['live_rtf']:>8.3f} {row['live_over_nemo']:>9.3f} "
                      f"{row['model_mb']:>8.0f} {row['nemo_peak_mb']:>9.0f} {row['live_peak_mb']:>9.0f} "
                      f"{row['max_abs_diff']:>9.1e}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
