"""Known speakers: how often the right name is on the right voice, per set and backend.

    python benchmarks/known_speakers.py                       # embedded and reference, every set
    python benchmarks/known_speakers.py --backends embedded --sets librispeech

For each single-speaker set of ../shared/data, each speaker's first utterance(s) are its
reference clips and the others make conversations (``simulate_conversation``); rtvc has one
clip per speaker, so its first 2.5 s enrol and the rest converses. Each trial is a
conversation of three speakers (both, in a two-speaker set), one of them unenrolled, and
enrols one more speaker who is absent (with two speakers in a set, a LibriSpeech reader). Printed per set:

- **right name**: of the enrolled speakers' reference speech, the share where the
  output has that name active;
- **unenrolled unnamed**: of the unenrolled speaker's speech alone, the share where no
  enrolled name is active;
- both on every frame, and beyond 0.25 s of each reference turn's edges (DER's collar:
  the turn edges of a simulated conversation are the energy detector's, not a listener's);
- **absent used**: seconds where an enrolled but absent speaker's name is active (0 wanted);
- the **naming RTF** (seconds naming took per second of audio) and the diarization's **DER**
  (collar 0.25 s, overlap scored; names do not change it), the ceiling naming works under.

Backends: ``embedded`` (the CPU default) and ``reference`` (a backend of this script that
returns the reference turns on an 80 ms grid with ``speaker_N`` labels, as a third-party or
Sortformer backend would: it shows the naming stage alone).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import DATA  # noqa: E402

from audar_plugins.activity import SpeakerActivity  # noqa: E402
from audar_plugins.audio import SAMPLE_RATE, load_audio  # noqa: E402
from audar_plugins.simulation import simulate_conversation  # noqa: E402

GRID = 0.01


@dataclass
class Speaker:
    name: str
    enrolment: list[np.ndarray]
    conversation: list[np.ndarray]


def speakers_of(set_name: str) -> list[Speaker]:
    """The set's speakers, each with its reference clips and its conversation utterances."""
    folder = DATA / set_name
    if set_name == "librispeech":
        speakers = []
        for reader in sorted(p.name for p in folder.iterdir() if p.is_dir()):
            files = sorted((folder / reader).glob("*.flac"))
            speakers.append(Speaker(f"reader-{reader}", [load_audio(files[0])], [load_audio(f) for f in files[1:]]))
        return speakers
    if set_name == "rtvc":
        speakers = []
        for file in sorted(folder.glob("*.mp3")):
            audio = load_audio(file)
            cut = int(2.5 * SAMPLE_RATE)
            speakers.append(Speaker(file.stem.split("_")[0], [audio[:cut]], [audio[cut:]]))
        return speakers
    if set_name == "speechbrain-asr":
        return [Speaker(who, [load_audio(folder / f"{who}_snt{k}.wav") for k in (1, 2)],
                        [load_audio(folder / f"{who}_snt{k}.wav") for k in (3, 4, 5, 6)]) for who in ("spk1", "spk2")]
    if set_name == "cmu-arctic":
        groups: dict[str, list[Path]] = {}
        for file in sorted(folder.glob("*.wav")):
            groups.setdefault(file.stem.split("_")[3], []).append(file)
        return [Speaker(who, [load_audio(files[0])], [load_audio(f) for f in files[1:]])
                for who, files in groups.items()]
    raise SystemExit(f"unknown set {set_name}")


def trials(speakers: list[Speaker], outsider: Speaker):
    """``(present, enrolled, unenrolled, absent)`` per trial: three speakers converse (all of a
    two-speaker set), one of them unenrolled; one more is enrolled and absent."""
    count = len(speakers)
    for k in range(count):
        if count >= 4:
            present = [speakers[(k + i) % count] for i in range(3)]
            absent, unenrolled = speakers[(k + 3) % count], present[1]
        else:
            absent, present, unenrolled = outsider, speakers, speakers[k]
        enrolled = [s for s in present if s is not unenrolled] + [absent]
        yield present, enrolled, unenrolled, absent


class ReferenceBackend:
    """The reference turns as a backend's output: 80 ms frames, ``speaker_N`` in order of arrival."""

    name = "reference"

    def __init__(self, reference) -> None:
        self.reference = reference

    def diarize(self, waveform, speakers=None, progress=None) -> SpeakerActivity:
        labels = sorted(self.reference.labels(), key=lambda label: self.reference.label_timeline(label)[0].start)
        frames = int(np.ceil(len(waveform) / SAMPLE_RATE / 0.08))
        probabilities = np.zeros((frames, len(labels)), dtype=np.float32)
        for column, label in enumerate(labels):
            for segment in self.reference.label_timeline(label):
                probabilities[int(round(segment.start / 0.08)) : int(round(segment.end / 0.08)), column] = 1.0
        return SpeakerActivity(probabilities, 0.08)


def grid(annotation, labels, frames: int) -> dict[str, np.ndarray]:
    """Per label, a boolean activity on the 10 ms grid."""
    out = {}
    for label in labels:
        active = np.zeros(frames, dtype=bool)
        for segment in annotation.label_timeline(label):
            active[int(round(segment.start / GRID)) : int(round(segment.end / GRID))] = True
        out[label] = active
    return out


def score(reference, hypothesis, enrolled: list[str], unenrolled: str, absent: str, duration: float,
          collar: float = 0.0) -> np.ndarray:
    """``[right, total, unnamed, alone, absent seconds]`` on a 10 ms grid; with ``collar``, the frames
    within ``collar`` seconds of a reference turn's edge are not scored (as DER's collar)."""
    frames = int(np.ceil(duration / GRID)) + 1
    ref = grid(reference, reference.labels(), frames)
    hyp = grid(hypothesis, hypothesis.labels(), frames)
    scored = np.ones(frames, dtype=bool)
    width = int(round(collar / GRID))
    if width:
        for segment in reference.itersegments():
            for edge in (segment.start, segment.end):
                middle = int(round(edge / GRID))
                scored[max(0, middle - width) : middle + width] = False
    none = np.zeros(frames, dtype=bool)
    named = np.zeros(frames, dtype=bool)
    for name in enrolled:
        named |= hyp.get(name, none)
    right = total = 0
    for name in enrolled:
        if name in ref:
            right += int((ref[name] & hyp.get(name, none) & scored).sum())
            total += int((ref[name] & scored).sum())
    others = np.zeros(frames, dtype=bool)
    for label, active in ref.items():
        if label != unenrolled:
            others |= active
    alone = ref[unenrolled] & ~others & scored
    return np.array([right, total, int((alone & ~named).sum()), int(alone.sum()),
                     float(hyp.get(absent, none).sum() * GRID)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="embedded,reference")
    parser.add_argument("--sets", default="librispeech,rtvc,speechbrain-asr,cmu-arctic")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--margin", type=float, default=None)
    args = parser.parse_args()

    from audar_plugins.backends.embedded import EmbeddedBackend
    from audar_plugins.evaluation import diarization_error_rate
    from audar_plugins.speakers import NamingSettings, VoiceEncoder, enroll, name_speakers

    embedded = EmbeddedBackend()
    encoder = VoiceEncoder(embedded.models)
    settings = NamingSettings()
    if args.threshold is not None or args.margin is not None:
        settings = NamingSettings(threshold=settings.threshold if args.threshold is None else args.threshold,
                                  margin=settings.margin if args.margin is None else args.margin)
    outsider = speakers_of("librispeech")[0]
    print(f"naming: threshold {settings.threshold}, margin {settings.margin}, min_speech {settings.min_speech} s")
    print("right name and unenrolled unnamed: every frame / beyond 0.25 s of a reference turn's edges")
    print(f"{'set':16s} {'backend':10s} {'trials':>6s} {'right name':>17s} {'unenrolled unnamed':>19s} "
          f"{'absent used':>12s} {'naming RTF':>10s} {'DER':>8s}")
    for set_name in args.sets.split(","):
        speakers = speakers_of(set_name)
        voiceprints = {s.name: enroll(s.name, s.enrolment, encoder) for s in [*speakers, outsider]}
        for backend_name in args.backends.split(","):
            sums, collared = np.zeros(5), np.zeros(5)
            references, hypotheses = {}, {}
            spent = audio_seconds = 0.0
            count = 0
            for k, (present, enrolled, unenrolled, absent) in enumerate(trials(speakers, outsider)):
                waveform, reference = simulate_conversation({s.name: s.conversation for s in present}, seed=k,
                                                            uri=f"{set_name}-{k}")
                backend = embedded if backend_name == "embedded" else ReferenceBackend(reference)
                activity = backend.diarize(waveform)
                started = time.perf_counter()
                naming = name_speakers(waveform, activity, [voiceprints[s.name] for s in enrolled], encoder, settings)
                spent += time.perf_counter() - started
                audio_seconds += len(waveform) / SAMPLE_RATE
                binarization = embedded.binarization if backend_name == "embedded" else None
                hypothesis = naming.activity.to_annotation(binarization, uri=reference.uri)
                references[reference.uri], hypotheses[reference.uri] = reference, hypothesis
                scoring = ([s.name for s in enrolled if s in present], unenrolled.name, absent.name,
                           len(waveform) / SAMPLE_RATE)
                sums += score(reference, hypothesis, *scoring)
                collared += score(reference, hypothesis, *scoring, collar=0.25)
                count += 1
            right, total, unnamed, alone, absent_seconds = sums
            right_c, total_c, unnamed_c, alone_c, _ = collared
            der = diarization_error_rate(references, hypotheses, collar=0.25).total.der
            print(f"{set_name:16s} {backend_name:10s} {count:6d} "
                  f"{100 * right / total:6.2f}% / {100 * right_c / total_c:6.2f}% "
                  f"{100 * unnamed / max(alone, 1):8.2f}% / {100 * unnamed_c / max(alone_c, 1):6.2f}% "
                  f"{absent_seconds:11.2f}s {spent / audio_seconds:10.3f} {100 * der:7.1f}%", flush=True)


if __name__ == "__main__":
    main()
