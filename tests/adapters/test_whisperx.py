"""Our WhisperX diarization step, against the real whisperx package (3.8.x on pyannote 4, 3.7.x on 3.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import whisperx.diarize
from pyannote.core import Segment

from audar_plugins.adapters import whisperx as ours
from audar_plugins.audio import load_audio
from audar_plugins.backends.embedded import EmbeddedOptions, OfflineSettings
from audar_plugins.formats import read_rttm

from ..conftest import EXAMPLE


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    """What ``whisperx.load_audio`` returns: 16 kHz mono float32."""
    return load_audio(EXAMPLE)


@pytest.fixture(scope="module")
def diarize_model():
    return ours.DiarizationPipeline()


def transcript_from_reference(reference) -> dict:
    """A WhisperX-shaped aligned result: one segment per reference turn, a word every 0.3 s in it."""
    segments = []
    for turn in reference.get_timeline():
        starts = np.arange(turn.start, turn.end - 0.2, 0.3)
        words = [{"word": f"w{index}", "start": round(s, 3), "end": round(s + 0.25, 3), "score": 0.9}
                 for index, s in enumerate(starts)]
        if words:
            segments.append({"start": turn.start, "end": turn.end, "text": " ".join(w["word"] for w in words),
                             "words": words})
    return {"segments": segments}


def test_whisperx_own_pipeline_on_our_pyannote_config_gives_our_dataframe(diarize_model, audio, embedded_config):
    """WhisperX's class loading our `audar pyannote-config` directory and our class agree exactly."""
    theirs = whisperx.diarize.DiarizationPipeline(model_name=str(embedded_config / "config.yaml"), device="cpu")
    expected = theirs(audio)
    frame = diarize_model(audio)
    assert list(frame.columns) == ["segment", "label", "speaker", "start", "end"]
    assert list(frame["speaker"].unique()) == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    assert all(isinstance(segment, Segment) for segment in frame["segment"])
    pd.testing.assert_frame_equal(frame, expected)


def test_a_path_and_whisperx_array_give_the_same_result(diarize_model, audio):
    pd.testing.assert_frame_equal(diarize_model(str(EXAMPLE)), diarize_model(audio))


def test_assign_word_speakers_works_unchanged_on_our_dataframe(diarize_model, data):
    reference = read_rttm(data / "falcon/test.rttm")["test"]
    audio = load_audio(data / "falcon/test.wav")
    result = whisperx.assign_word_speakers(diarize_model(audio), transcript_from_reference(reference))
    words = [word for segment in result["segments"] for word in segment["words"]]
    assert len(words) > 20 and all("speaker" in segment for segment in result["segments"])
    # our speakers map one to one onto the reference speakers for words inside reference turns
    pairs = {(reference.argmax(Segment(w["start"], w["end"])), w.get("speaker")) for w in words}
    found = {speaker for _, speaker in pairs}
    assert found == {"SPEAKER_00", "SPEAKER_01", "SPEAKER_02"}
    assert len(pairs) == len(found) == len({truth for truth, _ in pairs}), f"word speakers disagree: {pairs}"


def test_speaker_counts_embeddings_and_progress(diarize_model, audio):
    assert diarize_model(audio, num_speakers=2)["speaker"].nunique() == 2
    progress: list[float] = []
    frame, embeddings = diarize_model(audio, return_embeddings=True, progress_callback=progress.append)
    assert sorted(embeddings) == sorted(frame["speaker"].unique())
    assert all(len(vector) == 192 and isinstance(vector[0], float) for vector in embeddings.values())
    assert progress[-1] == 100.0 and progress == sorted(progress) and len(progress) > 2


def test_model_name_may_name_a_backend():
    assert ours.DiarizationPipeline("embedded").backend.name == "embedded"


def test_install_swaps_whisperx_pipeline(monkeypatch, audio):
    monkeypatch.setattr(whisperx.diarize, "DiarizationPipeline", whisperx.diarize.DiarizationPipeline)
    ours.install(backend="embedded", options=EmbeddedOptions(offline=OfflineSettings(step=2.0)))
    built = whisperx.diarize.DiarizationPipeline(model_name=None, device="cpu")
    assert isinstance(built, ours.DiarizationPipeline)
    assert built.backend.name == "embedded" and built.backend.options.offline.step == 2.0


def test_a_third_party_backend_serves_whisperx(audio):
    frame = ours.DiarizationPipeline("example-constant")(audio)
    assert list(frame["speaker"].unique()) == ["SPEAKER_00"] and frame["end"].max() > 15.0


def test_our_assign_word_speakers_agrees_with_whisperx_where_whisperx_decides(diarize_model, data):
    """Same DataFrame in: where WhisperX finds overlap it picks what we pick; elsewhere we still answer."""
    import copy

    reference = read_rttm(data / "falcon/test.rttm")["test"]
    frame = diarize_model(load_audio(data / "falcon/test.wav"))
    result = transcript_from_reference(reference)
    # shift words so that some fall in the gaps between turns
    for segment in result["segments"]:
        for word in segment["words"]:
            word["start"] += 0.5
            word["end"] += 0.5
    result["segments"][0]["words"].append({"word": "2014"})  # untimed
    theirs = whisperx.assign_word_speakers(frame, copy.deepcopy(result))
    ours_result = ours.assign_word_speakers(frame, copy.deepcopy(result), smoothing=None)
    their_words = [w for s in theirs["segments"] for w in s["words"]]
    our_words = [w for s in ours_result["segments"] for w in s["words"]]
    decided = [(t.get("speaker"), o["speaker"]) for t, o in zip(their_words, our_words) if "speaker" in t]
    assert len(decided) > 20 and all(t == o for t, o in decided)
    assert len(decided) < len(our_words) and all("speaker" in w for w in our_words)
    assert [s.get("speaker") for s in theirs["segments"]] == [s["speaker"] for s in ours_result["segments"]]
