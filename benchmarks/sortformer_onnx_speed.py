"""sortformer-onnx against NeMo on a full-size random v2 model: speed, cold start, memory, agreement.

    python benchmarks/sortformer_onnx_speed.py                       # 120 s of AMI audio, card and nv-1.04s
    python benchmarks/sortformer_onnx_speed.py --seconds 30 --presets card

Builds a randomly initialised 117.7 M-parameter model (compute does not depend on the
weights' values), saves it as ``.nemo`` and exports it with ``audar export-onnx``. Then,
for each preset, alternating, each run in a fresh process:

- ``nemo``: the sortformer backend (NeMo's stock streaming step), fed 100 ms pushes;
- ``nemo-int8``: the same with ``precision="int8"`` (torch's dynamically quantized linear layers);
- ``onnx``: the sortformer-onnx backend (onnxruntime + NumPy, torch never imported), same pushes;
- ``int8``: the same with ``precision="int8"`` (dynamically quantized matrix products).

It prints real-time factor (compute / audio; fastest run), import time (the backend's
modules and runtime), load time, time to first output (imports, load and the pushes until
the first frames), peak resident memory, each way's speed-up over NeMo, its largest and mean
difference from NeMo's probabilities, and for the int8 ways their difference from their fp32 way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

PRESETS = ("card", "nv-1.04s")
WAYS = ("nemo", "nemo-int8", "onnx", "int8")
FP32_OF = {"nemo-int8": "nemo", "int8": "onnx"}


def one_run(args: argparse.Namespace) -> None:
    import resource

    from sortformer_speed import test_audio

    audio = test_audio(args.seconds)
    precision = "int8" if args.way in ("int8", "nemo-int8") else "fp32"
    started = time.perf_counter()
    if args.way in ("onnx", "int8"):
        sys.modules["torch"] = None  # proof that this run never needs it
        import onnxruntime  # noqa: F401

        from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend as Backend
    else:
        import nemo.collections.asr  # noqa: F401

        from audar_plugins.backends.sortformer import SortformerBackend as Backend
    imported = time.perf_counter()
    backend = Backend(args.model, precision=precision)
    loaded = time.perf_counter()
    import_s, load_s, startup = imported - started, loaded - imported, loaded - started
    session = backend.open_session(args.preset)
    push = 1600
    blocks, first_output = [], None
    started = time.perf_counter()
    for position in range(0, len(audio), push):
        block = session.push(audio[position : position + push])
        if first_output is None and block.num_frames:
            first_output = time.perf_counter() - started + startup
        blocks.append(block.probabilities)
    blocks.append(session.flush().probabilities)
    elapsed = time.perf_counter() - started
    np.save(args.output, np.concatenate(blocks))
    print(json.dumps({"rtf": elapsed / (len(audio) / 16_000), "import_s": import_s, "load_s": load_s, "first_output_s": first_output,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def prepare(folder: Path) -> tuple[Path, Path]:
    code = (
        "import sys\n"
        "from audar_plugins.backends.sortformer.architecture import build_random_model\n"
        "from audar_plugins.backends.sortformer_onnx.export import export_onnx\n"
        f"build_random_model(4, 'full', seed=0, save_to={str(folder / 'full.nemo')!r})\n"
        f"export_onnx({str(folder / 'full.nemo')!r}, {str(folder / 'onnx')!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return folder / "full.nemo", folder / "onnx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--one", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        args.way, args.preset = args.one, args.presets[0]
        one_run(args)
        return
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        checkpoint, export = prepare(folder)
        size = sum(p.stat().st_size for p in export.iterdir()) / 2**20
        print(f"full-size random v2 model, 4 speakers; export {size:.0f} MB; {args.seconds:.0f} s of AMI audio in "
              f"100 ms pushes; {args.repeats} alternating runs per way in fresh processes; {os.cpu_count()} cores")
        print(f"{'preset':<9} {'way':<9} {'RTF':>6} {'import':>7} {'load':>6} {'first out':>9} {'peak MB':>8}")
        for preset in args.presets:
            results: dict[str, list[dict]] = {way: [] for way in WAYS}
            outputs = {}
            for _ in range(args.repeats):
                for way in WAYS:
                    model = checkpoint if way.startswith("nemo") else export
                    output = folder / f"{preset}-{way}.npy"
                    command = [sys.executable, __file__, "--one", way, "--model", str(model), "--presets", preset,
                               "--seconds", str(args.seconds), "--output", str(output)]
                    env = {**os.environ, "TQDM_DISABLE": "1", "NEMO_REDIRECT_LOGS_TO_STDERR": "1"}
                    done = subprocess.run(command, capture_output=True, text=True, env=env)
                    if done.returncode:
                        raise SystemExit(f"{way} run failed:\n{done.stderr[-3000:]}")
                    results[way].append(json.loads(done.stdout.strip().splitlines()[-1]))
                    outputs[way] = np.load(output)
            best = {}
            for way in WAYS:
                runs = results[way]
                best[way] = {key: min(r[key] for r in runs) for key in ("rtf", "import_s", "load_s", "first_output_s")}
                best[way]["peak_mb"] = max(r["peak_mb"] for r in runs)
                b = best[way]
                print(f"{preset:<9} {way:<9} {b['rtf']:>6.3f} {b['import_s']:>6.1f}s {b['load_s']:>5.1f}s "
                      f"{b['first_output_s']:>8.1f}s {b['peak_mb']:>8.0f}")
            for way in WAYS[1:]:
                difference = np.abs(outputs["nemo"] - outputs[way])
                line = (f"{preset:<9} {way:<9} {best['nemo']['rtf'] / best[way]['rtf']:.2f}x NeMo's speed, first output "
                        f"{best['nemo']['first_output_s'] / best[way]['first_output_s']:.1f}x sooner; from NeMo: max "
                        f"{difference.max():.1e}, mean {difference.mean():.1e}")
                if way in FP32_OF:
                    reduced = np.abs(outputs[FP32_OF[way]] - outputs[way])
                    line += f"; from {FP32_OF[way]}: max {reduced.max():.1e}, mean {reduced.mean():.1e}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
