"""Known speakers through the pyannote pipeline and the WhisperX faces: names on real voices."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from audar_plugins.cli import main as audar

from ..conftest import librispeech_clip, librispeech_conversation


@pytest.fixture(scope="module")
def voices(data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("voices")
    for name, reader in (("alice", "1688"), ("bob", "1998")):
        assert audar(["enroll", name, str(librispeech_clip(data, reader)), "--output", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def conversation(data) -> np.ndarray:
    waveform, _ = librispeech_conversation(data, ("1688", "1998", "2033"), seed=4, uri="known", first=1)
    return waveform[: 16_000 * 45]


def test_pyannote_pipeline_from_a_config_naming_a_voices_folder(embedded_config, voices, conversation, tmp_path):
    """``known_speakers: DIR`` among the config's params, loaded the way pyannote users load a pipeline."""
    import torch
    from pyannote.audio import Pipeline

    config = yaml.safe_load((embedded_config / "config.yaml").read_text())
    config["pipeline"]["params"]["known_speakers"] = str(voices)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    pipeline = Pipeline.from_pretrained(str(tmp_path / "config.yaml"))
    output = pipeline({"waveform": torch.from_numpy(conversation)[None], "sample_rate": 16_000, "uri": "call"})
    annotation = getattr(output, "speaker_diarization", output)
    assert set(annotation.labels()) == {"alice", "bob", "SPEAKER_00"}


def test_whisperx_dataframe_and_words_carry_the_names(voices, conversation):
    from audar_plugins.adapters.whisperx import DiarizationPipeline, assign_word_speakers

    frame = DiarizationPipeline("embedded", known_speakers=str(voices))(conversation)
    assert set(frame["speaker"]) == {"alice", "bob", "SPEAKER_00"}
    # a word in the middle of each of alice's turns gets her name
    turns = frame[frame["speaker"] == "alice"]
    words = [{"word": "x", "start": (s + e) / 2 - 0.1, "end": (s + e) / 2 + 0.1}
             for s, e in zip(turns["start"], turns["end"])]
    result = assign_word_speakers(frame, {"segments": [{"start": 0, "end": 45, "text": "", "words": words}]})
    assert {word["speaker"] for word in result["segments"][0]["words"]} == {"alice"}
