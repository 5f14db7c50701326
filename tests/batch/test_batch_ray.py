"""``audar batch`` on Ray actors: a Ray instance started here, and a ``ray start --head`` cluster reached by address."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import ray

from audar_plugins.batch import BatchJob, run_batch

from .conftest import STALL_FOLDER, audar, audio_files, batch_outputs, kill_the_stalled_worker

RAY_CLI = Path(sys.executable).parent / "ray"


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A Ray instance of 2 CPUs in this process; its workers see the stall folder of example-stall-once."""
    stall = tmp_path_factory.mktemp("stall")
    os.environ[STALL_FOLDER] = str(stall)  # before ray.init: the raylet and the actors it starts inherit it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 * 2**20)
    try:
        yield stall
    finally:
        ray.shutdown()
        del os.environ[STALL_FOLDER]


def test_ray_actors_write_what_audar_diarize_writes_byte_for_byte(local_ray, small_corpus, embedded_reference,
                                                                   tmp_path):
    job = BatchJob(formats=("rttm", "json", "npz"), threads=1)
    summary = run_batch([small_corpus], tmp_path / "out", job, ray="auto", workers=2)
    assert (summary.done, summary.failed) == (3, 0)
    assert batch_outputs(tmp_path / "out") == embedded_reference
    assert 0.2 * 2**30 < summary.peak_memory < 4 * 2**30  # reported by the actors: models loaded, nothing runaway


def test_an_actor_killed_mid_file_is_restarted_and_every_output_is_written_once(local_ray, corpus, fake_reference,
                                                                                tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "corpus").symlink_to(corpus)
    (folder / "corrupt.wav").write_bytes(b"not audio at all" * 100)
    out = tmp_path / "out"
    job = BatchJob(backend="example-stall-once", threads=1)
    result = {}
    batch = threading.Thread(target=lambda: result.update(summary=run_batch([folder], out, job, ray="auto",
                                                                             memory=2**29)))
    batch.start()
    try:
        kill_the_stalled_worker(local_ray)
    finally:
        batch.join(timeout=300)
    summary = result["summary"]
    assert (summary.done, summary.failed, summary.retries) == (len(fake_reference), 1, 1)
    assert batch_outputs(out) == fake_reference
    assert not list(out.rglob("*.tmp"))
    (failure,) = map(json.loads, (out / "failures.jsonl").read_text().splitlines())
    assert failure["name"] == "corrupt" and failure["attempts"] == 1

    again = run_batch([folder], out, job, ray="auto")
    assert (again.done, again.skipped, again.failed) == (0, len(fake_reference), 1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def ray_cluster():
    """``ray start --head`` in a process group of its own (2 CPUs, its own temporary folder); its address."""
    port = free_port()
    temporary = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray's sockets live there
    environment = {**os.environ, "RAY_AUTH_MODE": "token"}
    head = subprocess.Popen([RAY_CLI, "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                             "--disable-usage-stats", f"--temp-dir={temporary}", "--block"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while subprocess.run([RAY_CLI, "status", f"--address=127.0.0.1:{port}"], capture_output=True,
                             env=environment).returncode != 0:
            assert head.poll() is None, "ray start --head ended"
            assert time.monotonic() < deadline, "the Ray cluster did not come up within 120 s"
            time.sleep(1)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGKILL)  # the head, its raylet and the actors: nothing else is in the group
        head.wait(timeout=60)


def test_a_cluster_reached_by_address(ray_cluster, corpus, fake_reference, tmp_path):
    out = tmp_path / "out"
    environment = {"RAY_AUTH_MODE": "token"}  # what a client of a token-protected cluster sets
    result = audar("batch", corpus, "--output", out, "--backend", "example-fake", "--ray", ray_cluster,
                   "--workers", "2", env=environment)
    assert result.returncode == 0, result.stderr
    files = len(audio_files(corpus))
    assert f"{files} files: {files} done" in result.stdout
    assert batch_outputs(out) == fake_reference
    again = audar("batch", corpus, "--output", out, "--backend", "example-fake", "--ray", ray_cluster, env=environment)
    assert f"{files} files: 0 done, {files} skipped" in again.stdout
    too_many = audar("batch", corpus, "--output", out, "--ray", ray_cluster, "--workers", "3", env=environment)
    assert too_many.returncode == 1
    assert "3 Ray workers of 1 CPU(s) each do not fit the cluster's nodes, which hold 2" in too_many.stderr
    too_big = audar("batch", corpus, "--output", out, "--ray", ray_cluster, "--worker-memory", "100000",
                    env=environment)
    assert too_big.returncode == 1
    assert "1 Ray workers of 1 CPU(s) and 100000.00 GiB each do not fit the cluster's nodes, which hold 0" \
        in too_big.stderr
