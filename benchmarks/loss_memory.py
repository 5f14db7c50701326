"""Peak memory and time of Sortformer's ATS + PIL loss: our assignment form against NeMo's enumeration.

    python benchmarks/loss_memory.py                 # 4, 6 and 8 speakers, four 90 s samples

Each measurement runs in a fresh process (the peak resident set only grows): forward and
backward of the loss on random predictions and labels, batch 4 x 1,125 frames (90 s at 80 ms).
NeMo's enumeration is run where its (batch, frames, n!, n) tensors fit in this machine's memory;
where they do not, the size of one such tensor is printed instead.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys

_MEASURE = """
import itertools, resource, sys, time, torch
from nemo.collections.asr.losses.bce_loss import BCELoss
from nemo.collections.asr.parts.utils.asr_multispeaker_utils import get_ats_targets, get_pil_targets
from audar_plugins.training.loss import SortformerLoss
which, speakers, batch, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
predictions = torch.rand(batch, frames, speakers, requires_grad=True)
labels = (torch.rand(batch, frames, speakers) < 0.3).float()
lengths = torch.full((batch,), frames)
bce = BCELoss(weight=None)
if which == "nemo":
    permutations = torch.tensor(list(itertools.permutations(range(speakers))))
def nemo_loss():
    ats = get_ats_targets(labels.clone(), predictions, speaker_permutations=permutations)
    pil = get_pil_targets(labels.clone(), predictions, speaker_permutations=permutations)
    return 0.5 * bce(probs=predictions, labels=ats, target_lens=lengths) + \\
        0.5 * bce(probs=predictions, labels=pil, target_lens=lengths)
ours = SortformerLoss(bce)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
loss = nemo_loss() if which == "nemo" else ours(predictions, labels, lengths)["loss"]
loss.backward()
seconds = time.perf_counter() - start
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, seconds, float(loss))
"""


def measure(which: str, speakers: int, batch: int, frames: int) -> tuple[float, float, float]:
    """(peak MB beyond the inputs, seconds, loss value) in a fresh process."""
    output = subprocess.run([sys.executable, "-c", _MEASURE, which, str(speakers), str(batch), str(frames)],
                            capture_output=True, text=True, check=True)
    peak, seconds, loss = output.stdout.split()[-3:]
    return float(peak), float(seconds), float(loss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--frames", type=int, default=1125)
    parser.add_argument("--nemo-limit-gb", type=float, default=8.0,
                        help="run NeMo's enumeration only where one (B, T, n!, n) tensor is below this")
    args = parser.parse_args()
    print(f"batch {args.batch} x {args.frames} frames; peak MB beyond the inputs, seconds for forward + backward")
    print(f"{'speakers':>8} | {'ours MB':>8} {'ours s':>7} | {'NeMo MB':>9} {'NeMo s':>7} | "
          f"{'one NeMo tensor':>15} | loss equal")
    for speakers in (4, 6, 8):
        ours = measure("ours", speakers, args.batch, args.frames)
        tensor_gb = args.batch * args.frames * math.factorial(speakers) * speakers * 4 / 1e9
        if tensor_gb < args.nemo_limit_gb:
            nemo = measure("nemo", speakers, args.batch, args.frames)
            nemo_cells = f"{nemo[0]:>9.0f} {nemo[1]:>7.2f}"
            equal = "yes" if abs(nemo[2] - ours[2]) <= 1e-6 * abs(ours[2]) else f"no ({nemo[2]} vs {ours[2]})"
        else:
            nemo_cells, equal = f"{'not run':>9} {'':>7}", "-"
        print(f"{speakers:>8} | {ours[0]:>8.0f} {ours[1]:>7.2f} | {nemo_cells} | {tensor_gb:>12.2f} GB | {equal}")


if __name__ == "__main__":
    main()
