"""DER and speed of the segmentation-3.0 + CAM++ pipelines (the CPU default's successor, in progress).

    python benchmarks/segmentation_der.py                       # offline and live, every set
    python benchmarks/segmentation_der.py --pyannote ref.json   # and pyannote.audio beside them

Offline is ``backends/embedded/offline.py``; live is ``backends/embedded/live.py`` fed half a
second at a time. ``--pyannote`` reads the totals that ``nox -s pyannote_reference -- --json
ref.json`` wrote (pyannote.audio 4.0.7's own pipeline on the same two models, run in its own
environment) and prints them beside ours with the speed ratio; run both on a quiet machine, one
after the other, as absolute times drift on a shared CPU. Scoring as embedded_der.py: collar
0.25 s each side, overlap scored, AMI against ``reference.rttm`` over ``all.uem`` (and
``only_words.rttm``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami, falcon, librispeech_conversations  # noqa: E402

from audar_plugins.activity import Binarization, SpeakerActivity  # noqa: E402
from audar_plugins.audio import load_audio  # noqa: E402
from audar_plugins.backends.embedded.campplus import SpeakerEncoder  # noqa: E402
from audar_plugins.backends.embedded.live import LiveModels, SegmentationSession  # noqa: E402
from audar_plugins.backends.embedded.offline import diarize_offline  # noqa: E402
from audar_plugins.backends.embedded.segmentation import Segmentation  # noqa: E402
from audar_plugins.backends.embedded.weights import campplus_weights, segmentation_weights  # noqa: E402
from audar_plugins.evaluation import diarization_error_rate  # noqa: E402

SETS = {"ami": lambda: ami(), "ami_only_words": lambda: ami(reference="only_words.rttm"),
        "librispeech": librispeech_conversations, "falcon": falcon}
PUSH = 8_000


def live(models: LiveModels, waveform) -> SpeakerActivity:
    session = SegmentationSession(models)
    blocks = [session.push(waveform[start : start + PUSH]) for start in range(0, waveform.size, PUSH)]
    return SpeakerActivity.concatenate([*blocks, session.flush()])


def run(name: str, models: LiveModels, way: str) -> dict:
    items = SETS[name]()
    references = {item.uri: item.reference for item in items}
    uems = {item.uri: item.uem for item in items if item.uem is not None} or None
    hypotheses, seconds, audio_seconds = {}, 0.0, 0.0
    for item in items:
        waveform = load_audio(item.audio)
        audio_seconds += waveform.size / 16_000
        started = time.perf_counter()
        activity = (diarize_offline(waveform, models.segmentation, models.encoder) if way == "offline"
                    else live(models, waveform))
        seconds += time.perf_counter() - started
        hypotheses[item.uri] = activity.to_annotation(Binarization(onset=0.5, offset=0.5), uri=item.uri)
    total = diarization_error_rate(references, hypotheses, uems, collar=0.25).total
    counts = [f"{len(hypotheses[uri].labels())}/{len(references[uri].labels())}" for uri in references]
    return {"der": total.der, "false_alarm": total.false_alarm / total.total, "missed": total.missed / total.total,
            "confusion": total.confusion / total.total, "rtf": seconds / audio_seconds, "speakers": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {','.join(SETS)}")
    parser.add_argument("--pyannote", type=Path, default=None, metavar="JSON",
                        help="pyannote_reference.py's --json output, printed beside ours")
    args = parser.parse_args()
    reference = json.loads(args.pyannote.read_text()) if args.pyannote else {}
    models = LiveModels(Segmentation(segmentation_weights()), SpeakerEncoder(campplus_weights()))
    print(f"{'set':<16}{'way':<10}{'DER':>7}{'FA':>7}{'miss':>7}{'conf':>7}{'RTF':>8}  speakers")
    for name in args.sets.split(","):
        for way in ("offline", "live"):
            row = run(name, models, way)
            print(f"{name:<16}{way:<10}{100 * row['der']:>6.1f}%{100 * row['false_alarm']:>6.1f}%"
                  f"{100 * row['missed']:>6.1f}%{100 * row['confusion']:>6.1f}%{row['rtf']:>8.3f}  "
                  f"{' '.join(row['speakers'])}", flush=True)
            if way == "offline" and name in reference:
                theirs = reference[name]
                rtf = theirs["seconds"] / theirs["audio_seconds"]
                print(f"{name:<16}{'pyannote':<10}{100 * theirs['der']:>6.1f}%"
                      f"{100 * theirs['false_alarm'] / theirs['total']:>6.1f}%"
                      f"{100 * theirs['missed'] / theirs['total']:>6.1f}%"
                      f"{100 * theirs['confusion'] / theirs['total']:>6.1f}%{rtf:>8.3f}  "
                      f"(ours offline: {rtf / row['rtf']:.1f}x its speed)", flush=True)


if __name__ == "__main__":
    main()
