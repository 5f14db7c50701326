"""``audar finetune`` on tiny random models and synthetic LibriSpeech conversations.

The dev loss falls, the frozen encoder comes out bit-identical, a killed run resumes to the
state of an uninterrupted one, 4 -> expand-heads -> 8 speakers runs end to end through both
Sortformer backends, and bad inputs are refused before training starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from audar_plugins.errors import BackendLoadError, InvalidOptionError, TrainingDataError
from audar_plugins.training.finetune import LAST_CHECKPOINT, FinetuneOptions, finetune
from audar_plugins.training.manifests import ManifestEntry, write_manifest
from audar_plugins.training.synthetic import CorpusOptions, simulate_corpus

AUDAR = [sys.executable, "-m", "audar_plugins.cli"]
QUICK = dict(batch_size=2, segment=20.0, learning_rate=3e-3, warmup_steps=2)


def corpus(data: Path, directory: Path, conversations: int, speakers: tuple[int, int], recordings: slice,
           seed: int, extra: dict[str, list[Path]] | None = None) -> Path:
    """A manifest of synthetic conversations from the LibriSpeech readers' ``recordings``."""
    readers = {d.name: sorted(d.glob("*.flac"))[recordings] for d in sorted((data / "librispeech").iterdir())}
    summary = simulate_corpus(readers | (extra or {}), directory,
                              CorpusOptions(conversations=conversations, speakers=speakers,
                                            recordings_per_speaker=(1, 1)), seed=seed)
    write_manifest(summary.entries, directory / "manifest.json")
    return directory / "manifest.json"


@pytest.fixture(scope="module")
def manifests(data, tmp_path_factory):
    """(train, dev): utterances 1-4 of each reader for training, utterance 0 for dev."""
    root = tmp_path_factory.mktemp("finetune-data")
    return (corpus(data, root / "train", 6, (2, 3), slice(1, None), seed=1),
            corpus(data, root / "dev", 2, (2, 3), slice(0, 1), seed=2))


@pytest.fixture(scope="module")
def start(tmp_path_factory) -> Path:
    from audar_plugins.backends.sortformer.architecture import build_random_model

    path = tmp_path_factory.mktemp("finetune-model") / "start.nemo"
    build_random_model(4, "tiny", seed=5, save_to=path)
    return path


def weights(path: Path) -> dict[str, torch.Tensor]:
    from audar_plugins.backends.sortformer.checkpoint import load_sortformer

    return load_sortformer(path).state_dict()


def test_training_lowers_the_dev_loss_and_leaves_the_encoder_bit_identical(start, manifests, tmp_path):
    train, dev = manifests
    result = finetune(start, train, dev, tmp_path / "out.nemo", tmp_path / "work",
                      FinetuneOptions(max_steps=30, check_every=10, **QUICK))
    assert [row["step"] for row in result.history] == [0, 10, 20, 30]
    assert result.history[-1]["dev_loss"] < 0.8 * result.history[0]["dev_loss"]
    before, after = weights(start), weights(tmp_path / "out.nemo")
    assert before.keys() == after.keys()
    encoder = [name for name in before if name.startswith("encoder.")]
    assert encoder and all(torch.equal(before[name], after[name]) for name in encoder)  # buffers too
    trained = [name for name in before if name.startswith(("transformer_encoder.", "sortformer_modules."))
               and not torch.equal(before[name], after[name])]
    assert "sortformer_modules.single_hidden_to_spks.weight" in trained
    assert (tmp_path / "work" / LAST_CHECKPOINT).exists()
    best = min(result.history, key=lambda row: (row["dev_der"], row["step"]))["step"]
    assert result.kept_step == best and list((tmp_path / "work").glob("best-step*.ckpt"))
    last = finetune(start, train, dev, tmp_path / "last.nemo", tmp_path / "work-last",
                    FinetuneOptions(max_steps=30, check_every=10, keep="last", **QUICK))
    assert last.history == result.history and last.kept_step == 30
    final = weights(tmp_path / "last.nemo")
    assert all(torch.equal(after[name], final[name]) for name in after) == (best == 30)


def test_unfreeze_trains_the_encoder_too(start, manifests, tmp_path):
    train, dev = manifests
    finetune(start, train, dev, tmp_path / "out.nemo", tmp_path / "work",
             FinetuneOptions(max_steps=3, check_every=3, frozen=(), **QUICK))
    before, after = weights(start), weights(tmp_path / "out.nemo")
    assert not torch.equal(before["encoder.pre_encode.out.weight"], after["encoder.pre_encode.out.weight"])


def _command(start: Path, train: Path, dev: Path, output: Path, work: Path) -> list[str]:
    return [*AUDAR, "finetune", str(start), "--train", str(train), "--dev", str(dev), "-o", str(output),
            "--work-dir", str(work), "--max-steps", "40", "--check-every", "10", "--batch-size", "2",
            "--segment", "20", "--lr", "3e-3", "--warmup-steps", "2"]


def test_a_killed_run_resumes_and_ends_where_an_uninterrupted_run_ends(start, manifests, tmp_path):
    train, dev = manifests
    environment = {**os.environ, "TQDM_DISABLE": "1"}
    whole = subprocess.run(_command(start, train, dev, tmp_path / "whole.nemo", tmp_path / "whole"),
                           capture_output=True, text=True, timeout=600, env=environment)
    assert whole.returncode == 0, whole.stderr[-3000:]

    work = tmp_path / "killed"
    command = _command(start, train, dev, tmp_path / "resumed.nemo", work)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + 300
    history = work / "history.jsonl"
    while '"step": 20,' not in (history.read_text() if history.exists() else ""):  # kill after 2 checks
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert not (tmp_path / "resumed.nemo").exists()

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from step " in resumed.stdout  # 10 or 20: the kill may come before last.ckpt is updated
    assert resumed.stdout.split("step  dev loss")[1] == whole.stdout.split("step  dev loss")[1].replace(
        "whole.nemo", "resumed.nemo")
    expected, got = weights(tmp_path / "whole.nemo"), weights(tmp_path / "resumed.nemo")
    assert all(torch.equal(expected[name], got[name]) for name in expected)


def test_four_speakers_expand_heads_eight_speakers_then_both_backends(start, manifests, data, tmp_path):
    from audar_plugins.audio import load_audio
    from audar_plugins.backends.sortformer import SortformerBackend
    from audar_plugins.backends.sortformer_onnx import SortformerOnnxBackend
    from audar_plugins.backends.sortformer_onnx.export import export_onnx
    from audar_plugins.training.heads import expand_checkpoint

    train, dev = manifests
    finetune(start, train, dev, tmp_path / "phase1.nemo", tmp_path / "work1",
             FinetuneOptions(max_steps=4, check_every=4, **QUICK))
    expand_checkpoint(tmp_path / "phase1.nemo", tmp_path / "wide.nemo", speakers=8)
    voices = {path.stem: [path] for path in sorted((data / "rtvc").glob("*.mp3"))[:3]}  # 5 + 3 = 8 speakers
    train8 = corpus(data, tmp_path / "train8", 3, (5, 8), slice(1, 2), seed=3, extra=voices)
    dev8 = corpus(data, tmp_path / "dev8", 1, (8, 8), slice(0, 1), seed=4, extra=voices)
    with pytest.raises(TrainingDataError, match="but the model has 4 outputs"):
        finetune(tmp_path / "phase1.nemo", train8, dev8, tmp_path / "no.nemo", tmp_path / "no", FinetuneOptions())
    result = finetune(tmp_path / "wide.nemo", train8, dev8, tmp_path / "phase2.nemo", tmp_path / "work2",
                      FinetuneOptions(max_steps=4, check_every=4, **QUICK))
    assert [row["step"] for row in result.history] == [0, 4]

    audio = load_audio(data / "falcon" / "test.wav")
    nemo = SortformerBackend(tmp_path / "phase2.nemo", preset="nv-1.04s")
    onnx = SortformerOnnxBackend(export_onnx(tmp_path / "phase2.nemo", tmp_path / "onnx"), preset="nv-1.04s")
    from_nemo, from_onnx = nemo.diarize(audio), onnx.diarize(audio)
    assert from_nemo.probabilities.shape == (233, 8) and from_nemo.labels == from_onnx.labels
    assert np.abs(from_nemo.probabilities - from_onnx.probabilities).max() < 1e-4
    assert not np.allclose(from_nemo.probabilities, SortformerBackend(tmp_path / "wide.nemo",
                                                                      preset="nv-1.04s").diarize(audio).probabilities)


def test_bad_inputs_are_refused_before_training(start, manifests, tmp_path):
    train, dev = manifests
    other = tmp_path / "asr.nemo"
    with tarfile.open(other, "w") as archive:  # a NeMo archive of another kind of model
        config = tmp_path / "model_config.yaml"
        config.write_text("target: nemo.collections.asr.models.EncDecCTCModel\n")
        archive.add(config, arcname="./model_config.yaml")
    with pytest.raises(BackendLoadError, match="EncDecCTCModel model, not a Sortformer"):
        finetune(other, train, dev, tmp_path / "out.nemo", tmp_path / "work")

    missing = tmp_path / "missing.json"
    write_manifest([ManifestEntry(str(tmp_path / "gone.wav"), 0, 10, str(tmp_path / "gone.rttm"), 2)], missing)
    with pytest.raises(TrainingDataError, match="entry 1: no such audio file"):
        finetune(start, train, missing, tmp_path / "out.nemo", tmp_path / "work")
    assert not (tmp_path / "work").exists()

    finetune(start, train, dev, tmp_path / "out.nemo", tmp_path / "work", FinetuneOptions(max_steps=3, **QUICK))
    with pytest.raises(InvalidOptionError, match="holds a run with other options"):
        finetune(start, train, dev, tmp_path / "out.nemo", tmp_path / "work", FinetuneOptions(max_steps=4, **QUICK))
    with pytest.raises(InvalidOptionError):
        FinetuneOptions(warmup_steps=5, max_steps=5)

    result = subprocess.run([*AUDAR, "finetune", str(other), "--train", str(train), "--dev", str(dev), "-o",
                             str(tmp_path / "x.nemo"), "--work-dir", str(tmp_path / "x")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "not a Sortformer" in result.stderr and "Traceback" not in result.stderr
