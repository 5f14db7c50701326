"""sortformer-onnx against NeMo on full-size random models: every preset, 4 and 8 speakers, offline and live.

    python benchmarks/sortformer_onnx_parity.py                  # 30 s of AMI audio
    python benchmarks/sortformer_onnx_parity.py --seconds 60 --presets card nv-1.04s

The tests check the same on tiny models; this runs the 117.7 M-parameter architecture
(random weights, 4 and 8 speakers), exported with ``audar export-onnx``. For each
preset it prints the largest and mean difference from NeMo's own streaming forward of:
fp32 offline (``diarize``), fp32 live (pushes of random sizes, 1 sample to 1.5 s), and
int8 offline, whose difference is the price of reduced precision.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TQDM_DISABLE", "1")  # NeMo's progress bars

from audar_plugins.activity import SpeakerActivity  # noqa: E402
from audar_plugins.backends.sortformer_core.presets import PRESETS  # noqa: E402


def live(backend, audio: np.ndarray, seed: int) -> np.ndarray:
    session, blocks, position = backend.open_session(), [], 0
    rng = np.random.default_rng(seed)
    while position < len(audio):
        size = int(rng.integers(1, 24_000))
        blocks.append(session.push(audio[position : position + size]))
        position += size
    blocks.append(session.flush())
    return SpeakerActivity.concatenate(blocks).probabilities


def export(folder: Path, speakers: int) -> tuple[Path, Path]:
    """A full-size random model with ``speakers`` and its export, built in a child process."""
    checkpoint, directory = folder / f"full-{speakers}spk.nemo", folder / f"onnx-{speakers}spk"
    code = (
        "from audar_plugins.backends.sortformer.architecture import build_random_model\n"
        "from audar_plugins.backends.sortformer_onnx.export import export_onnx\n"
        f"build_random_model({speakers}, 'full', seed={speakers}, save_to={str(checkpoint)!r})\n"
        f"export_onnx({str(checkpoint)!r}, {str(directory)!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return checkpoint, directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--speakers", nargs="+", type=int, default=[4, 8])
    args = parser.parse_args()

    import torch

    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend
    from sortformer_speed import test_audio

    audio = test_audio(args.seconds)
    print(f"full-size random v2 models; {args.seconds:.0f} s of AMI audio; difference from NeMo's streaming "
          "forward, max / mean")
    print(f"{'speakers':>8} {'preset':<9} {'fp32 offline':>19} {'fp32 live':>19} {'int8 offline':>19}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for speakers in args.speakers:
            checkpoint, directory = export(Path(folder), speakers)
            nemo = SortformerBackend(checkpoint)
            fp32, int8 = SortformerOnnxBackend(directory), SortformerOnnxBackend(directory, precision="int8")
            for preset in args.presets:
                expected = nemo._shared.reference_forward(torch.from_numpy(audio), nemo.streaming_config(preset))
                expected = expected.numpy()
                fp32.preset, int8.preset = fp32.streaming_config(preset), int8.streaming_config(preset)
                runs = {"fp32 offline": lambda: fp32.diarize(audio).probabilities,
                        "fp32 live": lambda: live(fp32, audio, seed=speakers),
                        "int8 offline": lambda: int8.diarize(audio).probabilities}
                cells = []
                for name, run in runs.items():
                    difference = np.abs(run() - expected)
                    if name.startswith("fp32"):
                        worst = max(worst, float(difference.max()))
                    cells.append(f"{difference.max():.1e} / {difference.mean():.1e}")
                print(f"{speakers:>8} {preset:<9} " + " ".join(f"{cell:>19}" for cell in cells), flush=True)
    print(f"largest fp32 difference: {worst:.1e} ({'within' if worst < 1e-4 else 'ABOVE'} 1e-4)")


if __name__ == "__main__":
    main()
