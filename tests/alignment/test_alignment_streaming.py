"""The streaming merge emits each word once, in order, as soon as it is final, and equals the offline result."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audar_plugins import InvalidOptionError, SpeakerActivity
from audar_plugins.alignment import Word, attribute_words
from audar_plugins.alignment.streaming import StreamingAligner

FRAME = 0.08


def random_activity(seed: int, frames: int, speakers: int) -> SpeakerActivity:
    rng = np.random.default_rng(seed)
    probabilities = np.zeros((frames, speakers), dtype=np.float32)
    position = int(rng.integers(0, 20))
    while position < frames:
        length = int(rng.integers(3, 40))
        probabilities[position : position + length, rng.integers(speakers)] = rng.uniform(0.3, 1.0)
        position += length + int(rng.integers(0, 30))
    return SpeakerActivity(probabilities, FRAME)


def random_words(seed: int, duration: float) -> list[Word]:
    rng = np.random.default_rng(seed + 1)
    words, now = [], 0.0
    for index in range(int(rng.integers(0, 60))):
        kind = rng.random()
        if kind < 0.1:
            words.append(Word(f"u{index}"))  # untimed
            continue
        now += float(rng.uniform(-0.3, 1.2))  # sometimes out of order
        length = 0.0 if kind < 0.2 else float(rng.uniform(-0.1, 0.8))  # zero and negative durations too
        words.append(Word(f"w{index}", round(now, 2), round(now + length, 2)))
    if words and rng.random() < 0.3:
        words.append(Word("beyond", duration + 5, duration + 6))
    return words


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.integers(1, 4), st.lists(st.integers(1, 60), min_size=1),
       st.lists(st.integers(0, 8), min_size=1))
def test_streamed_words_equal_the_offline_attribution(seed, frames, speakers, block_sizes, word_batches):
    activity = random_activity(seed, frames, speakers)
    words = random_words(seed, activity.end)
    expected = attribute_words(words, activity)

    aligner, emitted, frame, word = StreamingAligner(), [], 0, 0
    step = 0
    while frame < frames or word < len(words):
        if frame < frames:
            size = block_sizes[step % len(block_sizes)]
            block = SpeakerActivity(activity.probabilities[frame : frame + size], FRAME, frame * FRAME, activity.labels)
            emitted += aligner.push_activity(block)
            frame += size
        if word < len(words):
            count = word_batches[step % len(word_batches)] or int(frame >= frames)  # always progress
            emitted += aligner.push_words(words[word : word + count])
            word += count
        step += 1
    emitted += aligner.flush()
    assert emitted == expected


def frames(activity: SpeakerActivity, first: int, stop: int) -> SpeakerActivity:
    return SpeakerActivity(activity.probabilities[first:stop], activity.frame_duration,
                           activity.start + first * activity.frame_duration, activity.labels)


def test_a_word_is_emitted_as_soon_as_the_activity_covering_it_is_final():
    probabilities = np.zeros((50, 2), dtype=np.float32)
    probabilities[0:20, 0] = 1.0
    probabilities[30:50, 1] = 1.0
    activity = SpeakerActivity(probabilities, 0.1)
    aligner = StreamingAligner()
    assert aligner.push_words([Word("a", 0.2, 0.5), Word("b", 1.2, 1.6), Word("pause", 2.1, 2.2), Word("c", 3.3, 3.6)]) == []
    assert aligner.push_words([]) == []
    out = [[w.text for w in aligner.push_activity(frames(activity, start, start + 5))] for start in range(0, 50, 5)]
    # "pause" (2.1-2.2) is 0.1 s after speaker_0 stopped at 2.0: final once 2.3 s is known, the block ending at 2.5 s
    assert out[:6] == [["a"], [], [], ["b"], ["pause"], []]
    assert out[6:] == [[], ["c"], [], []]
    assert aligner.flush() == []


def test_untimed_words_follow_their_neighbour_and_errors():
    probabilities = np.ones((20, 1), dtype=np.float32)
    aligner = StreamingAligner()
    assert aligner.push_words([Word("2014"), Word("a", 0.1, 0.3)]) == []
    released = aligner.push_activity(SpeakerActivity(probabilities, 0.1))
    assert [(w.text, w.speaker) for w in released] == [("2014", "speaker_0"), ("a", "speaker_0")]
    assert [(w.text, w.speaker) for w in aligner.push_words([Word("%")])] == [("%", "speaker_0")]
    with pytest.raises(InvalidOptionError, match="does not follow"):
        aligner.push_activity(SpeakerActivity(probabilities, 0.1, start=5.0))
    aligner.flush()
    with pytest.raises(InvalidOptionError, match="flushed"):
        aligner.push_words([Word("late", 9, 10)])


def test_settle_uses_the_provisional_frames_once_and_the_final_ones_after():
    rng = np.random.default_rng(5)
    final = SpeakerActivity((rng.random((200, 2)) > 0.5).astype(np.float32), FRAME)
    guess = SpeakerActivity((rng.random((50, 2)) > 0.5).astype(np.float32), FRAME, frames(final, 0, 100).end)
    words = [Word(f"w{index}", 0.3 * index, 0.3 * index + 0.25) for index in range(35)]  # up to 10.45 s
    aligner = StreamingAligner()
    released = aligner.push_activity(frames(final, 0, 100))  # final up to 8 s
    released += aligner.push_words(words)
    released += aligner.settle(guess)
    assert released == attribute_words(words, SpeakerActivity.concatenate([frames(final, 0, 100), guess]))
    later = [Word(f"v{index}", 8.0 + 0.3 * index, 8.0 + 0.3 * index + 0.25) for index in range(20)]
    aligner.push_words(later)
    released = aligner.push_activity(frames(final, 100, 200)) + aligner.flush()
    assert released == attribute_words(later, final)  # the guess left nothing behind


def test_words_ahead_of_the_activity_are_attributed_about_once(monkeypatch):
    import audar_plugins.alignment.streaming as streaming

    attributed = []
    original = streaming.attribute_spans
    monkeypatch.setattr(streaming, "attribute_spans",
                        lambda starts, ends, coverage: attributed.append(len(starts)) or original(starts, ends, coverage))
    activity = random_activity(11, 30_000, 3)  # 40 minutes
    words = [Word(f"w{index}", 0.6 * index, 0.6 * index + 0.4) for index in range(4_000)]
    aligner = StreamingAligner()
    emitted = aligner.push_words(words)
    for first in range(0, 30_000, 10):  # 0.8 s blocks
        emitted += aligner.push_activity(frames(activity, first, first + 10))
    emitted += aligner.flush()
    assert emitted == attribute_words(words, activity)
    assert sum(attributed) < 3 * len(words)
