"""Turns: split exactly at speaker changes, with the documented flicker and sentence corrections."""

from __future__ import annotations

from audar_plugins.alignment import AttributedWord, TurnOptions, group_turns, smooth_speakers
from audar_plugins.alignment.turns import join_words


def words(spec: str, confidence: dict[int, float] | None = None, step: float = 0.3) -> list[AttributedWord]:
    """``"A:Hello A:there. B:Yes"`` -> attributed words 0.3 s apart (confidence 1 unless given)."""
    confidence = confidence or {}
    out = []
    for index, item in enumerate(spec.split()):
        speaker, text = item.split(":", 1)
        out.append(AttributedWord(" " + text, index * step, index * step + 0.25, None, speaker,
                                  confidence.get(index, 1.0)))
    return out


def speakers(turns) -> list[tuple[str, str]]:
    return [(turn.speaker, turn.text) for turn in turns]


def test_turns_split_exactly_where_the_speaker_changes():
    given = words("A:one A:two B:three B:four A:five")
    turns = group_turns(given, options=None)
    assert speakers(turns) == [("A", "one two"), ("B", "three four"), ("A", "five")]
    assert [word for turn in turns for word in turn.words] == given, "every word once, in order, never split"
    assert (turns[1].start, turns[1].end) == (0.6, 1.15)


def test_a_low_confidence_flicker_inside_a_long_turn_is_smoothed():
    flicker = words("A:a A:b A:c B:d A:e A:f A:g", confidence={3: 0.55})
    assert speakers(group_turns(flicker)) == [("A", "a b c d e f g")]
    confident = words("A:a A:b A:c B:yes A:e A:f A:g")
    assert len(group_turns(confident)) == 3, "a confident one-word answer stays"
    short_context = words("A:a B:d A:e A:f", confidence={1: 0.5})
    assert len(group_turns(short_context)) == 3, "not inside a long turn: left alone"
    two_words = words("A:a A:b B:c B:d A:e A:f", confidence={2: 0.5, 3: 0.5})
    assert len(group_turns(two_words)) == 3, "longer than max_flicker_words"
    assert len(group_turns(two_words, TurnOptions(max_flicker_words=2))) == 1


def test_a_change_near_a_sentence_end_moves_to_it():
    late = words("A:How A:are A:you? A:Fine B:thanks.", confidence={3: 0.6})
    assert speakers(group_turns(late)) == [("A", "How are you?"), ("B", "Fine thanks.")]
    early = words("A:How A:are B:you? B:Fine B:thanks.", confidence={2: 0.6})
    assert speakers(group_turns(early)) == [("A", "How are you?"), ("B", "Fine thanks.")]
    sure = words("A:How A:are A:you? A:Fine B:thanks.")
    assert speakers(group_turns(sure)) == [("A", "How are you? Fine"), ("B", "thanks.")], "confident words stay"
    far = words("A:How A:are A:you? A:Fine A:I A:say B:thanks.", confidence={3: 0.5, 4: 0.5, 5: 0.5})
    assert speakers(group_turns(far))[0][1] == "How are you? Fine I say", "beyond the 0.5 s tolerance"


def test_smoothing_keeps_unchanged_words_identical():
    given = words("A:a A:b A:c B:d A:e A:f A:g", confidence={3: 0.55})
    smoothed = smooth_speakers(given)
    assert all(new is old for new, old in zip(smoothed, given) if old.speaker == "A")
    assert smoothed[3].speaker == "A" and smoothed[3].second_speaker is None


def test_no_words_no_turns_and_speakerless_words_form_their_own_turn():
    assert group_turns([]) == []
    lone = [AttributedWord(" hm", 0.0, 0.2, None, None, 0.0)]
    assert speakers(group_turns(lone)) == [(None, "hm")]


def test_join_words_handles_whisper_spaces_and_plain_tokens():
    assert join_words([" Hello", " world."]) == "Hello world."
    assert join_words(["Hello", "world."]) == "Hello world."
    assert join_words([" 100", "%", " sure"]) == "100% sure"
    assert join_words(["100", "%", "sure"]) == "100 % sure"
