"""The model card's training recipe end to end on this CPU: phase 1 at 4 speakers, expand-heads, phase 2 at 8.

    python benchmarks/finetune_recipe.py                 # about five minutes on 2 cores
    python benchmarks/finetune_recipe.py --steps 600     # longer phase 1

A randomly initialised tiny Streaming Sortformer v2 (the tests' configuration) is fine-tuned with
``audar_plugins.training.finetune`` (frozen encoder, ATS + PIL, AdamW + cosine) on synthetic
conversations of LibriSpeech utterances 1-4 of each reader, and scored on conversations of
utterance 0 (a separate dev set). Printed: the dev loss and DER of the untrained model and at
each check, whether the frozen encoder is bit-identical, then phase 2 at 8 speakers on 5-8
speaker conversations (LibriSpeech and rtvc voices) after ``expand-heads``, its peak memory,
and the 8-speaker result diarized through ``sortformer`` and, exported, ``sortformer-onnx``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("AUDAR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def corpus(directory: Path, conversations: int, speakers: tuple[int, int], utterances: slice, seed: int,
           voices: bool = False) -> Path:
    from audar_plugins.training.manifests import write_manifest
    from audar_plugins.training.synthetic import CorpusOptions, simulate_corpus

    pool = {d.name: sorted(d.glob("*.flac"))[utterances] for d in sorted((DATA / "librispeech").iterdir())}
    if voices:
        pool |= {path.stem: [path] for path in sorted((DATA / "rtvc").glob("*.mp3"))}
    summary = simulate_corpus(pool, directory, CorpusOptions(conversations=conversations, speakers=speakers,
                                                             recordings_per_speaker=(1, 1)), seed=seed)
    write_manifest(summary.entries, directory / "manifest.json")
    print(f"  {directory.name}: {conversations} conversations of {speakers[0]}-{speakers[1]} speakers, "
          f"{summary.hours * 60:.1f} min, {100 * summary.overlap_ratio:.1f} % overlapped speech")
    return directory / "manifest.json"


def show(history: list[dict[str, float]], kept: int) -> None:
    print("  step  dev loss  dev DER %")
    for row in history:
        mark = "  <- kept" if row["step"] == kept else ""
        print(f"  {row['step']:>4}  {row['dev_loss']:8.4f}  {100 * row['dev_der']:9.2f}{mark}")


def tune_on_dev(model: Path, dev: Path) -> None:
    """The recipe's last step, as ``audar tune`` does it: the binarization of lowest DER on the dev set."""
    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.batch import load_references
    from audar_plugins.training.manifests import read_manifest
    from audar_plugins.training.tuning import tune_binarization

    backend = SortformerBackend(model, preset="nv-1.04s")
    entries = read_manifest(dev)
    references = {entry.uri: load_references(entry.rttm_filepath)[entry.uri] for entry in entries}
    activities = {entry.uri: backend.diarize(entry.audio_filepath) for entry in entries}
    result = tune_binarization(activities, references, backend.binarization, trials=60)
    print(f"  audar tune on the dev set (live preset nv-1.04s, collar 0): DER {100 * result.default.der:.1f} % "
          f"with onset {backend.binarization.onset:g}, {100 * result.best.der:.1f} % with onset "
          f"{result.binarization.onset:.2f} / offset {result.binarization.offset:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="phase 1 steps (default 300)")
    parser.add_argument("--steps-8", type=int, default=40, help="phase 2 steps (default 40)")
    parser.add_argument("--lr", type=float, default=3e-3)
    args = parser.parse_args()

    import numpy as np
    import torch

    from audar_plugins.audio import load_audio
    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer.architecture import build_random_model
    from audar_plugins.backends.sortformer.checkpoint import load_sortformer
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend
    from audar_plugins.backends.sortformer_onnx.export import export_onnx
    from audar_plugins.training.finetune import FinetuneOptions, finetune
    from audar_plugins.training.heads import expand_checkpoint

    root = Path(tempfile.mkdtemp(prefix="audar-recipe-"))
    print(f"work folder {root}")
    print("data:")
    train = corpus(root / "train", 40, (2, 3), slice(1, None), seed=1)
    dev = corpus(root / "dev", 8, (2, 3), slice(0, 1), seed=2)
    build_random_model(4, "tiny", seed=0, save_to=root / "start.nemo")
    options = FinetuneOptions(max_steps=args.steps, batch_size=4, learning_rate=args.lr, warmup_steps=10,
                              check_every=max(args.steps // 12, 1), segment=30.0)

    print(f"phase 1, 4 speakers, {args.steps} steps, encoder frozen:")
    started = time.perf_counter()
    phase1 = finetune(root / "start.nemo", train, dev, root / "phase1.nemo", root / "work1", options)
    minutes = (time.perf_counter() - started) / 60
    show(phase1.history, phase1.kept_step)
    first = phase1.history[0]
    kept = next(row for row in phase1.history if row["step"] == phase1.kept_step)
    last = phase1.history[-1]
    print(f"  {minutes:.1f} min; dev loss {first['dev_loss']:.4f} -> {last['dev_loss']:.4f} "
          f"({100 * (1 - last['dev_loss'] / first['dev_loss']):.0f} % lower); dev DER {100 * first['dev_der']:.1f} % "
          f"-> {100 * kept['dev_der']:.1f} % kept ({100 * (1 - kept['dev_der'] / first['dev_der']):.0f} % lower), "
          f"{100 * last['dev_der']:.1f} % at the last step")
    before = load_sortformer(root / "start.nemo").state_dict()
    after = load_sortformer(root / "phase1.nemo").state_dict()
    frozen = [name for name in before if name.startswith("encoder.")]
    same = all(torch.equal(before[name], after[name]) for name in frozen)
    print(f"  frozen encoder ({len(frozen)} tensors) bit-identical: {'yes' if same else 'NO'}")
    tune_on_dev(root / "phase1.nemo", dev)

    print("expand-heads 4 -> 8, then phase 2 on 5-8 speaker conversations:")
    expand_checkpoint(root / "phase1.nemo", root / "wide.nemo", speakers=8)
    train8 = corpus(root / "train8", 12, (5, 8), slice(1, None), seed=3, voices=True)
    dev8 = corpus(root / "dev8", 3, (6, 8), slice(0, 1), seed=4, voices=True)
    options8 = FinetuneOptions(max_steps=args.steps_8, batch_size=4, learning_rate=args.lr, warmup_steps=5,
                               check_every=max(args.steps_8 // 4, 1), segment=90.0)
    phase2 = finetune(root / "wide.nemo", train8, dev8, root / "phase2.nemo", root / "work2", options8)
    show(phase2.history, phase2.kept_step)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"  peak memory of this whole process: {peak:.2f} GB (batch 4 x 90 s at 8 speakers)")

    audio = load_audio(DATA / "falcon" / "test.wav")
    nemo = SortformerBackend(root / "phase2.nemo", preset="nv-1.04s").diarize(audio)
    onnx = SortformerOnnxBackend(export_onnx(root / "phase2.nemo", root / "onnx"), preset="nv-1.04s").diarize(audio)
    difference = float(np.abs(nemo.probabilities - onnx.probabilities).max())
    print(f"8-speaker result on falcon/test.wav: sortformer {nemo.probabilities.shape[1]} outputs, "
          f"sortformer-onnx max |difference| {difference:.2e}")
    met = {
        "dev loss falls": last["dev_loss"] < first["dev_loss"],
        "dev DER falls by a third": kept["dev_der"] <= 2 / 3 * first["dev_der"],
        "frozen encoder bit-identical": same,
        "8 speakers through both backends": nemo.probabilities.shape[1] == 8 and difference < 1e-4,
    }
    for claim, holds in met.items():
        print(f"{'met' if holds else 'NOT MET'}: {claim}")
    sys.exit(0 if all(met.values()) else 1)


if __name__ == "__main__":
    main()
