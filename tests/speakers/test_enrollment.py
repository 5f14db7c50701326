"""Enrolment from real clips, the voiceprint file, and the clips that cannot be enrolled."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import soundfile as sf

from audar_plugins.audio import load_audio
from audar_plugins.errors import VoiceprintError
from audar_plugins.speakers import VoiceEncoder, enroll, file_name, read_voiceprint, write_voiceprint

from ..conftest import librispeech_clip


@pytest.fixture(scope="module")
def encoder(embedded):
    return VoiceEncoder(embedded.models)


def _wav(samples: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16_000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_a_voiceprint_file_holds_json_and_an_array_and_reads_back(data, encoder, tmp_path):
    clips = sorted((data / "librispeech/2033").glob("*.flac"))[:2]
    voiceprint = enroll("Zoë-O'Neil", clips, encoder)
    assert voiceprint.clips == 2 and 5 < voiceprint.speech <= 16.3
    assert voiceprint.encoder.startswith("campplus_sv_zh_en_16k-common_advanced@")
    path = tmp_path / file_name(voiceprint.name)
    write_voiceprint(voiceprint, path)
    assert path.name == "Zoë-O_Neil.npz"
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["embedding.npy", "header.npy"]
    with np.load(path, allow_pickle=False) as raw:  # nothing pickled
        header = json.loads(str(raw["header"]))
    assert header == {"format": 1, "name": "Zoë-O'Neil", "encoder": voiceprint.encoder, "clips": 2,
                      "speech": round(voiceprint.speech, 3)}
    again = read_voiceprint(path)
    assert again.name == voiceprint.name and again.encoder == voiceprint.encoder
    np.testing.assert_array_equal(again.embedding, voiceprint.embedding)
    assert abs(np.linalg.norm(again.embedding) - 1) < 1e-5


def test_two_clips_of_a_reader_sound_alike_and_unlike_another_reader(data, encoder):
    files = sorted((data / "librispeech/1998").glob("*.flac"))
    first, second = enroll("a", files[0], encoder), enroll("b", files[1], encoder)
    other = enroll("c", librispeech_clip(data, "2609"), encoder)
    assert first.embedding @ second.embedding > 0.6
    assert first.embedding @ other.embedding < 0.3


def test_files_that_are_not_voiceprints_are_refused(tmp_path):
    np.savez(tmp_path / "other.npz", probabilities=np.zeros(3))
    with pytest.raises(VoiceprintError, match="not a voiceprint file"):
        read_voiceprint(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(VoiceprintError, match="not a voiceprint file"):
        read_voiceprint(tmp_path / "text.npz")
    np.savez(tmp_path / "future.npz", header=np.array(json.dumps({"format": 9})), embedding=np.ones(3))
    with pytest.raises(VoiceprintError, match="unknown voiceprint format 9"):
        read_voiceprint(tmp_path / "future.npz")
    with pytest.raises(VoiceprintError, match="no voiceprint file"):
        read_voiceprint(tmp_path / "missing.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(VoiceprintError, match="not a voiceprint file"):
        read_voiceprint(tmp_path / "empty.npz")
    np.save(tmp_path / "array.npy", np.ones(3))
    with pytest.raises(VoiceprintError, match="not a voiceprint file"):
        read_voiceprint(tmp_path / "array.npy")
    np.savez(tmp_path / "huge.npz", embedding=np.ones(3), header=np.array(
        '{"format": 1, "name": "a", "encoder": "e", "clips": Infinity, "speech": 1}'))
    with pytest.raises(VoiceprintError, match="not a voiceprint file"):
        read_voiceprint(tmp_path / "huge.npz")


@pytest.fixture(scope="module")
def readers(data):
    return {reader: load_audio(librispeech_clip(data, reader)) for reader in ("1688", "1998")}


def test_a_clip_with_two_voices_is_refused_by_name(readers, encoder):
    two = np.concatenate([readers["1688"][: 16_000 * 5], readers["1998"][: 16_000 * 5]])
    with pytest.raises(VoiceprintError, match="meeting.wav holds more than one voice"):
        enroll("alice", [_wav(readers["1688"][: 16_000 * 6]), two], encoder, labels=["alone.wav", "meeting.wav"])


@pytest.mark.parametrize(("make", "says"), [
    (lambda voice: np.zeros(16_000 * 5, dtype=np.float32), "is silent"),
    (lambda voice: np.concatenate([np.zeros(16_000 * 3, np.float32), voice[16_000 : 16_000 + 8_000]]),
     "needs at least 1 s"),
    (lambda voice: np.tile(voice, 4)[: 16_000 * 35], "longer than 30 s"),
])
def test_clips_that_cannot_be_enrolled_name_the_clip(readers, encoder, make, says):
    clip = _wav(make(readers["1688"]))
    with pytest.raises(VoiceprintError, match=f"clip.wav.*{says}|{says}") as raised:
        enroll("alice", [clip], encoder, labels=["clip.wav"])
    assert "clip.wav" in str(raised.value)


def test_undecodable_clips_name_the_clip(encoder, tmp_path):
    (tmp_path / "notes.wav").write_bytes(b"these are not audio bytes")
    with pytest.raises(VoiceprintError, match="notes.wav cannot be read as audio"):
        enroll("alice", [tmp_path / "notes.wav"], encoder)
    with pytest.raises(VoiceprintError, match="reference clip 1 cannot be read as audio"):
        enroll("alice", [b""], encoder)
    with pytest.raises(VoiceprintError, match="no reference clip"):
        enroll("alice", [], encoder)
