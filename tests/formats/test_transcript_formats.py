"""Transcript writers: the model card's JSON, OpenAI's diarized_json, SRT, WebVTT, text, RTTM."""

from __future__ import annotations

import json

import pytest

from audar_plugins import FormatError
from audar_plugins.alignment import AttributedWord, Transcript, group_turns
from audar_plugins.formats import read_rttm, render


def word(text, start, end, speaker):
    return AttributedWord(text, start, end, None, speaker, 1.0)


@pytest.fixture
def transcript() -> Transcript:
    words = [word(" Do", 0.1, 0.3, "speaker_1"), word(" you?", 0.3, 0.93, "speaker_1"),
             word(" Yes", 1.5, 1.8, "speaker_0"), word(" <really>", 1.8, 2.2, "speaker_0"),
             word(" & no.", 3661.5, 3662.25, "speaker_1")]
    return Transcript(tuple(words), tuple(group_turns(words, None)), 3700.0, "en")


def test_json_has_the_model_cards_segments(transcript):
    body = json.loads(render(transcript, "json"))
    assert body["segments"] == [
        {"speaker": "speaker_1", "start": 0.1, "end": 0.93, "text": "Do you?"},
        {"speaker": "speaker_0", "start": 1.5, "end": 2.2, "text": "Yes <really>"},
        {"speaker": "speaker_1", "start": 3661.5, "end": 3662.25, "text": "& no."},
    ]
    assert body["language"] == "en" and body["duration"] == 3700.0


def test_diarized_json_follows_openai(transcript):
    body = json.loads(render(transcript, "diarized_json"))
    assert body["task"] == "transcribe" and body["duration"] == 3700.0
    assert body["text"] == "Do you? Yes <really> & no."
    assert [s["speaker"] for s in body["segments"]] == ["A", "B", "A"], "letters by first appearance"
    assert body["segments"][0] == {"type": "transcript.text.segment", "id": "seg_0", "start": 0.1, "end": 0.93,
                                   "speaker": "A", "text": "Do you?"}
    assert body["usage"] == {"type": "duration", "seconds": 3700.0}


def test_srt_and_vtt_clocks_speakers_and_escaping(transcript):
    srt = render(transcript, "srt")
    assert srt.splitlines()[:3] == ["1", "00:00:00,100 --> 00:00:00,930", "speaker_1: Do you?"]
    assert "3\n01:01:01,500 --> 01:01:02,250\nspeaker_1: & no.\n" in srt
    vtt = render(transcript, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.100 --> 00:00:00.930\n<v speaker_1>Do you?</v>\n")
    assert "<v speaker_0>Yes &lt;really&gt;</v>" in vtt and "<v speaker_1>&amp; no.</v>" in vtt


def test_long_turns_become_several_cues_cut_between_words():
    words = [word(f" w{i}", i * 1.0, i * 1.0 + 0.8, "speaker_0") for i in range(20)]
    transcript = Transcript(tuple(words), tuple(group_turns(words, None)), 20.0)
    blocks = render(transcript, "srt").strip().split("\n\n")
    assert len(blocks) == 3
    assert blocks[0].splitlines()[1] == "00:00:00,000 --> 00:00:06,800"
    assert " ".join(block.splitlines()[2].split(": ", 1)[1] for block in blocks) == " ".join(f"w{i}" for i in range(20))


def test_text_and_rttm(transcript, tmp_path):
    assert render(transcript, "text") == "speaker_1: Do you?\nspeaker_0: Yes <really>\nspeaker_1: & no.\n"
    (tmp_path / "out.rttm").write_text(render(transcript, "rttm", uri="my talk"))
    annotation = read_rttm(tmp_path / "out.rttm")["my_talk"]
    assert [(round(s.start, 2), round(s.end, 2), label) for s, _, label in annotation.itertracks(yield_label=True)] == [
        (0.1, 0.93, "speaker_1"), (1.5, 2.2, "speaker_0"), (3661.5, 3662.25, "speaker_1")]


def test_unknown_format(transcript):
    with pytest.raises(FormatError, match="unknown transcript format 'docx'"):
        render(transcript, "docx")
