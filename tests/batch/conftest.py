"""Corpora of real recordings for the batch tests, and what single-process ``audar diarize`` makes of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

AUDAR = [sys.executable, "-m", "audar_plugins.cli"]
STALL_FOLDER = "AUDAR_EXAMPLE_STALL_DIR"  # read by the example-stall-once backend of tests/plugin_example


def audar(*args, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*AUDAR, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=None if env is None else {**os.environ, **env})


def link_corpus(root: Path, files: dict[str, Path]) -> Path:
    """``root`` holding a symbolic link per relative name."""
    for name, target in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).symlink_to(target)
    return root


@pytest.fixture(scope="session")
def corpus(data, tmp_path_factory) -> Path:
    """Thirteen real recordings in two groups: ``ami/`` (the ten AMI clips) and ``other/``."""
    files = {f"ami/{path.name}": path for path in sorted((data / "ami-train").glob("*.flac"))}
    files["other/falcon.wav"] = data / "falcon" / "test.wav"
    files["other/endgame_nagg_nell.wav"] = data / "moonshine" / "endgame_nagg_nell.wav"
    files["other/beckett.wav"] = data / "moonshine" / "beckett.wav"
    return link_corpus(tmp_path_factory.mktemp("corpus"), files)


@pytest.fixture(scope="session")
def small_corpus(data, tmp_path_factory) -> Path:
    """Three real recordings for the real default backend: two AMI clips and falcon."""
    return link_corpus(tmp_path_factory.mktemp("small"), {
        "ami/trn00.flac": data / "ami-train" / "trn00.flac",
        "ami/trn03.flac": data / "ami-train" / "trn03.flac",
        "falcon/test.wav": data / "falcon" / "test.wav",
    })


def audio_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix in {".flac", ".wav"})


def diarize_outputs(files: list[Path], folder: Path, formats: tuple[str, ...], *options: str) -> dict[str, bytes]:
    """``audar diarize`` (one process, every file) in each format: ``"<uri>.<format>"`` -> bytes."""
    outputs = {}
    for format in formats:
        target = folder / format
        result = audar("diarize", *files, "--format", format, "--output", f"{target}{os.sep}", *options)
        assert result.returncode == 0, result.stderr
        outputs.update({path.name: path.read_bytes() for path in target.iterdir()})
    return outputs


def batch_outputs(folder: Path) -> dict[str, bytes]:
    """Every output file of a batch folder by its file name (names are unique in the test corpora)."""
    files = [path for path in folder.rglob("*") if path.is_file() and ".audar-batch" not in path.parts
             and path.name not in {"failures.jsonl", "der.csv"}]
    assert len({path.name for path in files}) == len(files)
    return {path.name: path.read_bytes() for path in files}


@pytest.fixture(scope="session")
def embedded_reference(small_corpus, tmp_path_factory) -> dict[str, bytes]:
    """Single-process ``audar diarize`` on the small corpus, as rttm, json and npz."""
    return diarize_outputs(audio_files(small_corpus), tmp_path_factory.mktemp("reference"), ("rttm", "json", "npz"))


@pytest.fixture(scope="session")
def fake_reference(corpus, tmp_path_factory) -> dict[str, bytes]:
    """Single-process ``audar diarize --backend example-fake`` on the corpus, as rttm."""
    return diarize_outputs(audio_files(corpus), tmp_path_factory.mktemp("fake-reference"), ("rttm",),
                           "--backend", "example-fake")


def kill_the_stalled_worker(folder: Path, deadline: float = 180) -> int:
    """Wait (up to ``deadline`` seconds) for the example-stall-once backend to stall, SIGKILL its process."""
    marker = folder / "stalled"
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if marker.exists() and marker.read_text().endswith("\n"):
            pid = int(marker.read_text())
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.1)
    raise AssertionError(f"no worker stalled within {deadline} s")
