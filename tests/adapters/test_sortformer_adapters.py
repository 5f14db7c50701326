"""The Sortformer backend through the adapters (runs where NeMo is installed: the pyannote 4 environment)."""

from __future__ import annotations

import pytest
import torch
from pyannote.audio import Pipeline

from audar_plugins import BackendLoadError
from audar_plugins.adapters import whisperx as ours
from audar_plugins.adapters.pyannote import PYANNOTE_MAJOR, AudarSpeakerDiarization
from audar_plugins.cli import main as audar

from .compare import backend_annotation, diarization, same_up_to_labels


def test_a_config_naming_a_missing_checkpoint_fails_at_load_and_names_it(tmp_path, tiny_sortformer):
    directory = tmp_path / "pipeline"
    assert audar(["pyannote-config", str(directory), "--backend", "sortformer", "--model", str(tiny_sortformer)]) == 0
    missing = tmp_path / "moved-away.nemo"
    config = directory / "config.yaml"
    config.write_text(config.read_text().replace(str(tiny_sortformer), str(missing)))
    with pytest.raises(BackendLoadError, match=f"checkpoint {missing} does not exist"):
        Pipeline.from_pretrained(str(config))


@pytest.fixture(scope="module")
def sortformer_pipeline(tmp_path_factory, tiny_sortformer):
    """The Sortformer backend on a tiny random model, from a self-contained pipeline directory."""
    directory = tmp_path_factory.mktemp("sortformer-pipeline")
    copy = ["--copy-model"] if PYANNOTE_MAJOR >= 4 else []
    assert audar(["pyannote-config", str(directory), "--backend", "sortformer", "--model", str(tiny_sortformer),
                  "--preset", "nv-10s", *copy]) == 0
    return Pipeline.from_pretrained(str(directory / "config.yaml")), directory


def test_sortformer_pipeline_equals_the_backend(sortformer_pipeline, speech):
    pipeline, directory = sortformer_pipeline
    if PYANNOTE_MAJOR >= 4:
        assert "model: $model/tiny-4spk.nemo" in (directory / "config.yaml").read_text()
    assert pipeline.backend.preset == pipeline.backend.streaming_config("nv-10s")
    waveform = {"waveform": torch.from_numpy(speech[None]), "sample_rate": 16000}
    assert same_up_to_labels(diarization(pipeline(waveform)), backend_annotation(pipeline, waveform))


def test_to_moves_the_backend_model(tmp_path, tiny_sortformer):
    pipeline = AudarSpeakerDiarization(backend="sortformer", model=str(tiny_sortformer))
    assert {parameter.device.type for parameter in pipeline.backend.model.parameters()} == {"cpu"}
    assert pipeline.to(torch.device("meta")) is pipeline
    assert {parameter.device.type for parameter in pipeline.backend.model.parameters()} == {"meta"}
    with pytest.raises(TypeError):
        pipeline.to("cpu")  # pyannote's own rule: a torch.device, not a string


def test_whisperx_model_name_may_be_a_checkpoint(tiny_sortformer, speech):
    pipeline = ours.DiarizationPipeline(str(tiny_sortformer), device="cpu", preset="nv-10s")
    assert pipeline.backend.name == "sortformer" and pipeline.backend.preset == pipeline.backend.streaming_config("nv-10s")
    frame = pipeline(speech)
    expected = pipeline.backend.diarize(speech).to_annotation(pipeline.backend.binarization)
    assert list(frame.columns) == ["segment", "label", "speaker", "start", "end"]
    assert len(frame) == len(list(expected.itertracks()))
