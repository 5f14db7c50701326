"""The streamed transcription does work linear in the words: counted, not timed."""

from __future__ import annotations

import io

import numpy as np
import pytest

import audar_plugins.alignment.settled as settled_module
import audar_plugins.alignment.streaming as streaming_module
import audar_plugins.alignment.words as words_module
from audar_plugins import FakeBackend, FakeRecognizer
from audar_plugins.server.events import transcription_events
from audar_plugins.server.forms import TranscriptionRequest
from audar_plugins.server.transcription import Transcription
from audar_plugins.server.uploads import Upload


class Counts:
    """Words passed to each counted function, summed over its calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.attributed = 0
        self.grouped = 0

        def counting_attribution(function):
            def counted(starts, ends, coverage):
                self.attributed += len(starts)
                return function(starts, ends, coverage)
            return counted

        def counting_grouping(words, options=None):
            self.grouped += len(words)
            return original_grouping(words, options)

        original_grouping = settled_module.group_turns
        monkeypatch.setattr(streaming_module, "attribute_spans", counting_attribution(streaming_module.attribute_spans))
        monkeypatch.setattr(words_module, "attribute_spans", counting_attribution(words_module.attribute_spans))
        monkeypatch.setattr(settled_module, "group_turns", counting_grouping)


def _stream(words: int, monkeypatch: pytest.MonkeyPatch) -> tuple[Counts, list[dict]]:
    seconds = words * FakeRecognizer.slot_seconds  # the fake recognizer hears a word in every half second
    counts = Counts(monkeypatch)
    request = TranscriptionRequest(Upload(io.BytesIO(), "a.wav"), "whisper-1", "diarized_json", diarize=True,
                                   stream=True)
    run = Transcription(FakeRecognizer(), FakeBackend(num_speakers=3, turn_duration=3.0),
                        np.full(int(seconds * 16_000), 0.1, np.float32), request)
    events = list(transcription_events(run, "diarized_json"))
    return counts, events


def test_ten_thousand_streamed_words_cost_a_few_attributions_each(monkeypatch):
    counts, events = _stream(10_000, monkeypatch)
    words = sum(len(event["text"].split()) for event in events if event["type"] == "transcript.text.segment")
    assert words == 10_000
    # each word is attributed by the aligner once and once more for the whole answer's transcript
    assert counts.attributed <= 2 * 10_000
    # turns are formed on a short window of words per decoded segment (1,250 segments)
    assert counts.grouped <= 10 * 10_000


def test_the_work_grows_in_proportion_to_the_words(monkeypatch):
    small, _ = _stream(2_000, monkeypatch)
    large, _ = _stream(10_000, monkeypatch)
    assert large.attributed / small.attributed < 5.5
    assert large.grouped / small.grouped < 5.5
