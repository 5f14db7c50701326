"""Speed of word -> speaker assignment: ours against whisperx.assign_word_speakers, same input, same run.

    nox -s word_speed                              # builds an environment with whisperx, then runs this
    python benchmarks/word_speakers_speed.py       # in any environment that imports whisperx.diarize

A synthetic 3-hour conversation: 30,000 words in 2,500 speaker turns among 4 speakers,
WhisperX-shaped (``{"segments": [{"start", "end", "text", "words": [...]}]}``) with the
diarization as WhisperX's DataFrame. Both functions get a fresh copy of the same input
and produce the same shape of output (``speaker`` on words and segments). Each runs
``--repeats`` times, alternating; the fastest run counts. Ours runs with its default
sentence and flicker corrections.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import pandas as pd


def conversation(words: int = 30_000, turns: int = 2_500, speakers: int = 4, seed: int = 0):
    """Turns of random length with small gaps and overlaps; Whisper-like words and segments over them."""
    rng = np.random.default_rng(seed)
    per_turn = rng.multinomial(words - turns, np.full(turns, 1 / turns)) + 1
    rows, segments, now = [], [], 0.0
    who = 0
    for count in per_turn:
        who = (who + rng.integers(1, speakers)) % speakers
        durations = rng.uniform(0.15, 0.6, count)
        gaps = rng.choice([0.0, 0.0, 0.05, 0.2], count)
        starts = now + np.concatenate([[0.0], np.cumsum(durations + gaps)[:-1]])
        ends = starts + durations
        rows.append((starts[0] - rng.uniform(0, 0.2), ends[-1] + rng.uniform(-0.2, 0.2), f"SPEAKER_{who:02d}"))
        words_here = [{"word": f" w{i}.", "start": round(s, 2), "end": round(e, 2), "score": 0.9}
                      for i, (s, e) in enumerate(zip(starts, ends))]
        segments.append({"start": words_here[0]["start"], "end": words_here[-1]["end"],
                         "text": "".join(w["word"] for w in words_here), "words": words_here})
        now = ends[-1] + rng.uniform(-0.3, 0.8)
    frame = pd.DataFrame(rows, columns=["start", "end", "speaker"])
    return frame, {"segments": segments, "language": "en"}


def best_time(function, frame, result, repeats: int) -> tuple[float, dict]:
    times, output = [], None
    for _ in range(repeats):
        fresh = copy.deepcopy(result)
        started = time.perf_counter()
        output = function(frame, fresh)
        times.append(time.perf_counter() - started)
    return min(times), output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import whisperx
    from importlib.metadata import version

    from audar_plugins.adapters.whisperx import assign_word_speakers

    frame, result = conversation()
    words = sum(len(segment["words"]) for segment in result["segments"])
    hours = result["segments"][-1]["end"] / 3600
    print(f"{words} words, {len(frame)} turns, {hours:.2f} h; whisperx {version('whisperx')}; best of {args.repeats}")
    theirs = ours = None
    their_time = our_time = float("inf")
    for _ in range(args.repeats):  # alternate, so that machine noise hits both alike
        seconds, theirs = best_time(whisperx.assign_word_speakers, frame, result, 1)
        their_time = min(their_time, seconds)
        seconds, ours = best_time(assign_word_speakers, frame, result, 1)
        our_time = min(our_time, seconds)

    their_words = [w for s in theirs["segments"] for w in s["words"]]
    our_words = [w for s in ours["segments"] for w in s["words"]]
    labelled = sum("speaker" in w for w in their_words), sum("speaker" in w for w in our_words)
    print(f"{'':<28}{'seconds':>10}{'us/word':>10}{'words labelled':>16}")
    print(f"{'whisperx.assign_word_speakers':<28}{their_time:>10.4f}{1e6 * their_time / words:>10.2f}{labelled[0]:>16}")
    print(f"{'audar assign_word_speakers':<28}{our_time:>10.4f}{1e6 * our_time / words:>10.2f}{labelled[1]:>16}")
    print(f"speed-up: {their_time / our_time:.1f}x (bound: at least 20x)")


if __name__ == "__main__":
    main()
