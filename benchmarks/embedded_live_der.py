"""The embedded backend live against itself offline: DER, speaker counts and speed on the same recordings.

    python benchmarks/embedded_live_der.py            # falcon, LibriSpeech conversations, AMI
    python benchmarks/embedded_live_der.py --quick    # without AMI

The live session gets the audio in pushes of ``--push`` seconds (its output does not depend on
the cut; the test suite checks that) and finds speakers online, in order of arrival; the
offline backend clusters the whole recording. Both are scored in the same run with the same
rules as benchmarks/embedded_der.py (collar 0.25 s, overlap scored, AMI over its UEM), and
their compute time is printed as a real-time factor.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami, falcon, librispeech_conversations  # noqa: E402

from audar_plugins.activity import SpeakerActivity  # noqa: E402
from audar_plugins.audio import SAMPLE_RATE, load_audio  # noqa: E402
from audar_plugins.backends.embedded import EmbeddedBackend  # noqa: E402
from audar_plugins.evaluation import diarization_error_rate  # noqa: E402

COLLAR = 0.25


def live(backend: EmbeddedBackend, waveform, push: int) -> SpeakerActivity:
    session = backend.open_session()
    blocks = [session.push(waveform[start : start + push]) for start in range(0, waveform.size, push)]
    return SpeakerActivity.concatenate([*blocks, session.flush()])


def score(name: str, items, backend: EmbeddedBackend, push: int) -> None:
    references = {item.uri: item.reference for item in items}
    uems = {item.uri: item.uem for item in items if item.uem is not None} or None
    hypotheses = {"offline": {}, "live": {}}
    seconds = {"offline": 0.0, "live": 0.0}
    audio_seconds = 0.0
    for item in items:
        waveform = load_audio(item.audio)
        audio_seconds += waveform.size / SAMPLE_RATE
        for mode, run in (("offline", lambda w: backend.diarize(w)), ("live", lambda w: live(backend, w, push))):
            started = time.perf_counter()
            activity = run(waveform)
            seconds[mode] += time.perf_counter() - started
            hypotheses[mode][item.uri] = activity.to_annotation(backend.binarization, uri=item.uri)
    reports = {mode: diarization_error_rate(references, hypotheses[mode], uems, collar=COLLAR) for mode in hypotheses}
    print(f"\n== {name} ({len(items)} files, {audio_seconds:.0f} s of audio)")
    print(f"{'file':<14}{'reference':>10}{'offline DER':>13}{'speakers':>9}{'live DER':>10}{'speakers':>9}")
    for uri in references:
        counts = [len(hypotheses[mode][uri].labels()) for mode in ("offline", "live")]
        print(f"{uri:<14}{len(references[uri].labels()):>10}"
              f"{100 * reports['offline'].files[uri].der:>12.1f}%{counts[0]:>9}"
              f"{100 * reports['live'].files[uri].der:>9.1f}%{counts[1]:>9}")
    print(f"{'all':<14}{'':>10}{100 * reports['offline'].total.der:>12.1f}%{'':>9}"
          f"{100 * reports['live'].total.der:>9.1f}%")
    print(f"real-time factor: offline {seconds['offline'] / audio_seconds:.3f}, live {seconds['live'] / audio_seconds:.3f}"
          f" ({seconds['live'] / seconds['offline']:.1f}x the offline compute)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip AMI")
    parser.add_argument("--push", type=float, default=0.5, help="seconds of audio per live push (default 0.5)")
    args = parser.parse_args()
    backend = EmbeddedBackend()
    push = int(args.push * SAMPLE_RATE)
    score("falcon", falcon(), backend, push)
    score("LibriSpeech conversations", librispeech_conversations(), backend, push)
    if not args.quick:
        score("AMI (train excerpts)", ami(), backend, push)


if __name__ == "__main__":
    main()
