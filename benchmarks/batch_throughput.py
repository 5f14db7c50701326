"""Throughput of ``audar batch`` on real recordings: a shell loop of ``audar diarize``, one process, the local pool, Ray.

    python benchmarks/batch_throughput.py              # 22 recordings x 2 copies, the CPU default
    python benchmarks/batch_throughput.py --copies 1 --backend example-fake

The corpus is every recording of ``ami-train/``, ``falcon/``, ``moonshine/``, ``faster-whisper/``
and ``cmu-arctic/`` (22 files, 7.7 minutes, 1.7 s to 44 s each), linked ``--copies`` times under
different names. Each way runs in a fresh process, from the command line a user would type, and
is timed from start to exit (model loads and Ray's start included):

- ``loop``: ``for f in corpus/*; do audar diarize "$f"; done``, what a user does without batch
  (one model load per file), on the first corpus copy only;
- ``1 process``: ``audar batch`` with one worker using the cores;
- ``pool``: ``audar batch --workers N --threads 1``, N = the cores;
- ``ray``: ``audar batch --ray auto --workers N --threads 1`` on a new local Ray instance.

Printed per way: files per minute, audio hours per hour, the speed-up over ``1 process``
measured in the same run, each worker's compute real-time factor (its seconds per audio
second), and the peak resident memory of a worker.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("AUDAR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FOLDERS = ("ami-train", "falcon", "moonshine", "faster-whisper", "cmu-arctic")
AUDAR = [sys.executable, "-m", "audar_plugins.cli"]


def build_corpus(root: Path, copies: int) -> list[Path]:
    """``root/copyK/<folder>/<file>`` links to every recording; the files of the first copy."""
    first = []
    for copy in range(copies):
        for folder in FOLDERS:
            for path in sorted((DATA / folder).iterdir()):
                if path.suffix in {".wav", ".flac"}:
                    link = root / f"copy{copy}" / folder / path.name
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(path)
                    if copy == 0:
                        first.append(link)
    return first


def timed(command: list[str], env: dict | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return elapsed, result.stdout


def audio_seconds(files: list[Path]) -> float:
    import soundfile

    return sum(soundfile.info(str(path)).duration for path in files)


def summary_figures(stdout: str) -> tuple[float, float]:
    """(per-worker real-time factor, peak worker memory in GiB) from ``audar batch``'s summary."""
    match = re.search(r"([\d.]+) per worker; peak worker memory ([\d.]+) GiB", stdout)
    if match is None:
        raise SystemExit(f"no summary in:\n{stdout}")
    return float(match.group(1)), float(match.group(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=2, help="times the 22 recordings are linked (default 2)")
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--skip-loop", action="store_true", help="leave out the shell loop of audar diarize")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        first = build_corpus(root / "corpus", args.copies)
        files = sorted(path for path in (root / "corpus").rglob("*") if path.is_file() or path.is_symlink())
        seconds = audio_seconds(files)
        print(f"{len(files)} recordings ({len(first)} distinct), {seconds / 60:.1f} min of audio; backend "
              f"{args.backend}; {cores} cores")
        rows = []
        if not args.skip_loop:
            started = time.perf_counter()
            for path in first:
                timed([*AUDAR, "diarize", str(path), "--backend", args.backend, "--output", str(root / "loop.rttm")])
            rows.append(("loop of audar diarize", len(first), audio_seconds(first), time.perf_counter() - started,
                         None, None))
        ways = [("1 process", []), (f"pool, {cores} x 1 thread", ["--workers", str(cores), "--threads", "1"]),
                (f"ray, {cores} x 1 thread", ["--ray", "auto", "--workers", str(cores), "--threads", "1"])]
        environment = {**os.environ, "RAY_ADDRESS": ""}  # a new local instance, not one left running elsewhere
        for name, options in ways:
            output = root / f"out-{len(rows)}"
            elapsed, stdout = timed([*AUDAR, "batch", str(root / "corpus"), "--output", str(output), "--backend",
                                     args.backend, "--quiet", *options], env=environment)
            rtf, memory = summary_figures(stdout)
            rows.append((name, len(files), seconds, elapsed, rtf, memory))
        base = next(row for row in rows if row[0] == "1 process")
        base_rate = base[2] / base[3]
        print(f"{'way':<24}{'files':>6}{'wall s':>8}{'files/min':>11}{'audio h/h':>11}{'x 1 process':>13}"
              f"{'worker RTF':>12}{'peak GiB/worker':>17}")
        for name, count, audio, elapsed, rtf, memory in rows:
            rate = audio / elapsed
            print(f"{name:<24}{count:>6}{elapsed:>8.1f}{60 * count / elapsed:>11.1f}{rate:>11.1f}"
                  f"{rate / base_rate:>13.2f}{'' if rtf is None else f'{rtf:.4f}':>12}"
                  f"{'' if memory is None else f'{memory:.2f}':>17}")


if __name__ == "__main__":
    main()
