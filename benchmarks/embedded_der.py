"""DER and speed of the embedded (CPU default) backend on the real recordings in ../shared/data.

    python benchmarks/embedded_der.py            # accuracy, speed, and memory on a 30-minute input
    python benchmarks/embedded_der.py --quick    # accuracy only

DER: collar 0.25 s on each side of each reference boundary, overlapping speech
scored. AMI is scored against ``reference.rttm`` over ``all.uem``. Beside our
backend it runs, in the same process, a plain pipeline made of the same parts
(one embedding per VAD region, clustering, no change detection) so that the
ratio between the two is measured on the same machine at the same moment.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami, falcon, librispeech_conversations  # noqa: E402

from audar_plugins.activity import SpeakerActivity  # noqa: E402
from audar_plugins.audio import SAMPLE_RATE, load_audio  # noqa: E402
from audar_plugins.backends.embedded import EmbeddedBackend, EmbeddedOptions  # noqa: E402
from audar_plugins.backends.embedded.backend import FRAME_DURATION  # noqa: E402
from audar_plugins.backends.embedded.clustering import cluster_embeddings  # noqa: E402
from audar_plugins.evaluation import diarization_error_rate  # noqa: E402

COLLAR = 0.25
BOUNDS = {"ami": 0.25, "librispeech": 0.05, "falcon": 0.05}


def plain_pipeline(backend: EmbeddedBackend, waveform: np.ndarray):
    """VAD regions, one embedding each, clustering: the baseline the issue names."""
    speech = backend._speech_frames(backend._speech_probability(waveform))
    mel = backend._mel(waveform)[: speech.size]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], speech.astype(np.int8), [0]])))
    regions = list(zip(edges[::2], edges[1::2]))
    probabilities = np.zeros((speech.size, 1), dtype=np.float32)
    if not regions:
        return SpeakerActivity(probabilities, FRAME_DURATION).to_annotation()
    window = 160
    embeddings = []
    for start, end in regions:
        starts = np.arange(start, max(start + 1, end - window + 1), 80)
        frames = np.stack([mel[s : s + window] for s in starts]) if end - start >= window else mel[start:end][None]
        embeddings.append(backend._encoder(frames).mean(axis=0))
    labels = cluster_embeddings(np.stack(embeddings), backend.options.threshold)
    probabilities = np.zeros((speech.size, labels.max() + 1), dtype=np.float32)
    for (start, end), label in zip(regions, labels):
        probabilities[start:end, label] = 1.0
    return SpeakerActivity(probabilities, FRAME_DURATION).to_annotation()


def score(name, items, backend, plain):
    references = {item.uri: item.reference for item in items}
    uems = {item.uri: item.uem for item in items if item.uem is not None} or None
    ours, baseline, audio_seconds, seconds = {}, {}, 0.0, 0.0
    for item in items:
        waveform = load_audio(item.audio)
        audio_seconds += waveform.size / SAMPLE_RATE
        started = time.perf_counter()
        activity = backend.diarize(waveform)
        seconds += time.perf_counter() - started
        ours[item.uri] = activity.to_annotation(backend.binarization, uri=item.uri)
        if plain:
            baseline[item.uri] = plain_pipeline(backend, waveform)
    report = diarization_error_rate(references, ours, uems, collar=COLLAR)
    base = diarization_error_rate(references, baseline, uems, collar=COLLAR) if plain else None
    print(f"\n== {name} ({len(items)} files, {audio_seconds:.0f} s of audio)")
    print(f"{'file':<14}{'DER':>8}{'FA':>8}{'miss':>8}{'conf':>8}  speakers  {'plain DER' if plain else ''}")
    for uri, c in report.files.items():
        found = len(ours[uri].labels())
        expected = len(references[uri].labels())
        extra = f"{100 * base.files[uri].der:9.1f}" if plain else ""
        print(f"{uri:<14}{100 * c.der:8.1f}{100 * c.false_alarm / c.total:8.1f}{100 * c.missed / c.total:8.1f}"
              f"{100 * c.confusion / c.total:8.1f}  {found:>3}/{expected:<3}  {extra}")
    total = report.total
    line = (f"{'TOTAL':<14}{100 * total.der:8.1f}{100 * total.false_alarm / total.total:8.1f}"
            f"{100 * total.missed / total.total:8.1f}{100 * total.confusion / total.total:8.1f}")
    if plain:
        ratio = f"{total.der / base.total.der:.2f}" if base.total.der else "n/a"
        line += f"  plain {100 * base.total.der:.1f}  ratio ours/plain {ratio}"
    print(line)
    print(f"real-time factor {seconds / audio_seconds:.4f}")
    return total.der, {uri: len(a.labels()) for uri, a in ours.items()}


def memory_run(minutes: float) -> dict:
    """Diarize ``minutes`` of conversation in a fresh process; report its peak memory and time."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import numpy as np
from recordings import librispeech_conversations
from audar_plugins.backends.embedded import EmbeddedBackend
items = librispeech_conversations()
one = np.concatenate([item.audio for item in items])
reps = int(np.ceil({minutes} * 60 * 16000 / one.size))
waveform = np.tile(one, reps)[: int({minutes} * 60 * 16000)]
del items, one
backend = EmbeddedBackend()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
activity = backend.diarize(waveform)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"audio_mb": waveform.nbytes / 2**20, "before_mb": before / 1024, "peak_mb": peak / 1024,
                  "seconds": seconds, "rtf": seconds / (waveform.size / 16000), "speakers": activity.num_speakers}}))
"""
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="accuracy only: skip the memory runs")
    parser.add_argument("--no-plain", action="store_true", help="skip the plain baseline")
    parser.add_argument("--memory-only", action="store_true", help="only the speed and memory runs")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override an EmbeddedOptions field (for tuning)")
    parser.add_argument("--binarize", action="append", default=[], metavar="NAME=VALUE",
                        help="override a Binarization field (for tuning)")
    args = parser.parse_args()
    overrides = {k: float(v) for k, v in (item.split("=", 1) for item in args.set)}
    backend = EmbeddedBackend(EmbeddedOptions(**overrides) if overrides else None)
    if args.binarize:
        changes = {k: float(v) for k, v in (item.split("=", 1) for item in args.binarize)}
        backend.binarization = dataclasses.replace(backend.binarization, **changes)
    print(f"options: {backend.options}\nbinarization: {backend.binarization}")
    plain = not args.no_plain
    if args.memory_only:
        return memory_report()
    results = {}
    results["ami"], _ = score("AMI (reference.rttm, all.uem)", ami(), backend, plain)
    results["librispeech"], _ = score("LibriSpeech conversations", librispeech_conversations(), backend, plain)
    results["falcon"], found = score("falcon", falcon(), backend, plain)
    print("\n== bounds")
    for name, value in results.items():
        verdict = "ok" if value <= BOUNDS[name] else "ABOVE BOUND"
        print(f"{name:<12} DER {100 * value:5.1f} %  (bound {100 * BOUNDS[name]:.0f} %)  {verdict}")
    print(f"falcon speakers found: {found['falcon']} (expected 3)")

    if not args.quick:
        memory_report()


def memory_report() -> None:
    print("\n== speed and memory (fresh process per length)")
    print(f"{'minutes':>8}{'audio MB':>10}{'peak MB':>10}{'peak - audio':>14}{'RTF':>8}")
    for minutes in (5, 15, 30):
        run = memory_run(minutes)
        print(f"{minutes:>8}{run['audio_mb']:>10.0f}{run['peak_mb']:>10.0f}"
              f"{run['peak_mb'] - run['audio_mb']:>14.0f}{run['rtf']:>8.4f}")


if __name__ == "__main__":
    main()
