"""Our backends as a pyannote.audio pipeline, against the real pyannote.audio (3.3.x or 4.0.x)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile
import torch
from pyannote.audio import Pipeline
from pyannote.core import Annotation

from audar_plugins import BackendNotFoundError, Binarization
from audar_plugins.adapters.pyannote import PYANNOTE_MAJOR, AudarSpeakerDiarization
from audar_plugins.cli import main as audar
from audar_plugins.evaluation import diarization_error_rate
from audar_plugins.formats import read_rttm, read_uem

from ..conftest import EXAMPLE
from .compare import backend_annotation, diarization, same_up_to_labels

HYPER_PARAMETERS = {"onset", "offset", "pad_onset", "pad_offset", "min_duration_on", "min_duration_off"}


# --- loading -------------------------------------------------------------------------------------


def test_from_pretrained_builds_our_pipeline_with_the_backend_defaults(pipeline):
    assert isinstance(pipeline, Pipeline) and isinstance(pipeline, AudarSpeakerDiarization)
    assert pipeline.backend_name == "embedded"
    assert set(pipeline.parameters(instantiated=True)) == HYPER_PARAMETERS
    assert pipeline.binarization == pipeline.backend.binarization


def test_the_directory_form_loads_on_pyannote_4_only(embedded_config):
    """pyannote 3.x reads a directory as a hub id (the README says: give 3.x the config.yaml)."""
    if PYANNOTE_MAJOR >= 4:
        loaded = Pipeline.from_pretrained(embedded_config)
        assert isinstance(loaded, AudarSpeakerDiarization) and loaded.backend_name == "embedded"
    else:
        with pytest.raises(Exception, match="[Rr]epo"):
            Pipeline.from_pretrained(str(embedded_config))


def test_config_hyper_parameters_are_instantiated(tmp_path):
    assert audar(["pyannote-config", str(tmp_path), "--onset", "0.7", "--min-duration-off", "0.25"]) == 0
    loaded = Pipeline.from_pretrained(str(tmp_path / "config.yaml"))
    assert loaded.binarization.onset == 0.7 and loaded.binarization.min_duration_off == 0.25
    assert loaded.binarization.offset == loaded.backend.binarization.offset


def test_a_config_naming_an_unknown_backend_fails_at_load_and_names_it(embedded_config, tmp_path):
    config = (embedded_config / "config.yaml").read_text().replace("backend: embedded", "backend: no-such-backend")
    (tmp_path / "config.yaml").write_text(config)
    with pytest.raises(BackendNotFoundError, match="no-such-backend.*installed backends: .*embedded"):
        Pipeline.from_pretrained(str(tmp_path / "config.yaml"))


# --- calling -------------------------------------------------------------------------------------


def test_every_audio_file_form_gives_the_same_diarization(pipeline):
    waveform, sample_rate = soundfile.read(EXAMPLE, dtype="float32", always_2d=True)
    expected = diarization(pipeline(str(EXAMPLE)))
    assert expected.uri == EXAMPLE.stem and len(expected.labels()) == 3
    stereo = torch.from_numpy(np.repeat(waveform.T, 2, axis=0))
    with open(EXAMPLE, "rb") as file_object:
        forms = {
            "Path": EXAMPLE,
            "audio dict": {"audio": str(EXAMPLE), "uri": EXAMPLE.stem},
            "file object": {"audio": file_object, "uri": EXAMPLE.stem},
            "waveform dict": {"waveform": torch.from_numpy(waveform.T), "sample_rate": sample_rate, "uri": EXAMPLE.stem},
            "stereo waveform": {"waveform": stereo, "sample_rate": sample_rate, "uri": EXAMPLE.stem},
        }
        for form, file in forms.items():
            assert diarization(pipeline(file)) == expected, form
        file_object.seek(0)
        streamed = diarization(pipeline(file_object))  # pyannote names a bare file object "stream"
        assert streamed.uri == "stream" and same_up_to_labels(streamed, expected)


def test_output_has_this_pyannote_versions_shape(pipeline):
    output = pipeline(str(EXAMPLE))
    speakers = diarization(output)
    assert speakers.labels() == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    assert speakers.uri == EXAMPLE.stem
    if PYANNOTE_MAJOR < 4:
        assert isinstance(output, Annotation)
        annotation, embeddings = pipeline(str(EXAMPLE), return_embeddings=True)
        assert annotation == speakers and embeddings.shape == (3, 192)
        return
    from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput

    assert isinstance(output, DiarizeOutput)
    exclusive = output.exclusive_speaker_diarization
    assert exclusive.uri == EXAMPLE.stem and set(exclusive.labels()) <= set(speakers.labels())
    assert len(exclusive.get_overlap()) == 0, "exclusive diarization has one speaker at a time"
    assert exclusive.get_timeline().support() == speakers.get_timeline().support()
    assert output.speaker_embeddings.shape == (3, 192)
    assert output.serialize()["diarization"][0]["speaker"] == "SPEAKER_00"


def test_embeddings_rows_follow_the_label_order(pipeline):
    """Row i is the backend's embedding of the speaker named ``labels()[i]`` (pyannote's contract)."""
    activity = pipeline.backend.diarize(str(EXAMPLE))
    output = pipeline(str(EXAMPLE), num_speakers=3)
    speakers, embeddings = (
        (output.speaker_diarization, output.speaker_embeddings) if PYANNOTE_MAJOR >= 4
        else pipeline(str(EXAMPLE), num_speakers=3, return_embeddings=True)
    )
    ours = activity.to_annotation(pipeline.binarization)
    for label, row in zip(activity.labels, activity.embeddings):
        # the pyannote label whose turns are this backend speaker's turns
        named = {speakers.argmax(segment) for segment in ours.label_timeline(label)}
        assert len(named) == 1
        np.testing.assert_array_equal(embeddings[speakers.labels().index(named.pop())], row)


def test_speaker_count_arguments_reach_the_backend(pipeline):
    assert len(diarization(pipeline(str(EXAMPLE), num_speakers=2)).labels()) == 2
    assert len(diarization(pipeline(str(EXAMPLE), max_speakers=2)).labels()) <= 2
    assert diarization(pipeline(str(EXAMPLE), min_speakers=3)) == diarization(pipeline(str(EXAMPLE)))
    with pytest.raises(ValueError, match="min_speakers=3 is greater than max_speakers=2"):
        pipeline(str(EXAMPLE), min_speakers=3, max_speakers=2)


def test_unknown_keyword_arguments_are_ignored_with_a_warning_as_in_pyannote_4(pipeline):
    with pytest.warns(UserWarning, match=r"Ignoring unexpected keyword arguments \['beam_size'\]"):
        output = pipeline(str(EXAMPLE), beam_size=5)
    assert diarization(output) == diarization(pipeline(str(EXAMPLE)))


def test_unsupported_audio_file_forms_raise_pyannotes_own_error(pipeline):
    for bad in (12345, {"neither": "audio nor waveform"}, {"waveform": torch.zeros(1, 1, 16000), "sample_rate": 16000}):
        with pytest.raises(ValueError) as raised:
            pipeline(bad)
        assert "audar_plugins" not in raised.traceback[-1].path.as_posix(), "pyannote's validation, not ours"


def test_undecodable_audio_raises_our_error(pipeline, tmp_path):
    from audar_plugins import AudioDecodeError

    fake = tmp_path / "notes.wav"
    fake.write_text("not audio at all")
    with pytest.raises(AudioDecodeError, match="notes.wav"):
        pipeline(str(fake))


# --- accuracy: no loss in the adapter ------------------------------------------------------------


def test_der_on_ami_equals_the_backends_own(pipeline, data):
    reference, scored = read_rttm(data / "ami-train/reference.rttm"), read_uem(data / "ami-train/all.uem")
    ours, theirs = {}, {}
    for path in sorted((data / "ami-train").glob("*.flac")):
        uri = path.stem
        ours[uri] = backend_annotation(pipeline, str(path))
        theirs[uri] = diarization(pipeline(str(path)))
        assert same_up_to_labels(ours[uri], theirs[uri]), uri
    backend_der = diarization_error_rate(reference, ours, uems=scored).total.der
    pipeline_der = diarization_error_rate(reference, theirs, uems=scored).total.der
    print(f"AMI train ({len(ours)} clips): backend DER {backend_der:.4f}, pyannote pipeline DER {pipeline_der:.4f}")
    assert pipeline_der == pytest.approx(backend_der, abs=1e-12)
    assert 0.0 < pipeline_der < 0.5


# --- hooks ---------------------------------------------------------------------------------------


class RecordingHook:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, step_name, step_artifact, file=None, total=None, completed=None):
        self.calls.append((step_name, step_artifact, file, total, completed))


def test_a_hook_sees_the_step_start_progress_and_finish(pipeline):
    hook = RecordingHook()
    output = pipeline(str(EXAMPLE), hook=hook)
    steps = {name for name, *_ in hook.calls}
    assert steps == {"diarization"}
    first, last = hook.calls[0], hook.calls[-1]
    assert first[4] == 0 and last[4] == last[3], "starts at 0, ends complete"
    assert last[1] == diarization(output), "the final call carries the result"
    assert all(call[2]["uri"] == EXAMPLE.stem for call in hook.calls)
    progress = [completed / total for _, _, _, total, completed in hook.calls]
    assert len(progress) > 2 and progress == sorted(progress)


def test_pyannotes_timing_and_progress_hooks_work(pipeline):
    from pyannote.audio.pipelines.utils.hook import Hooks, ProgressHook, TimingHook

    file = {"audio": str(EXAMPLE)}
    with Hooks(TimingHook(), ProgressHook(transient=True)) as hooks:
        pipeline(file, hook=hooks)
    timing = file["timing"]
    assert 0 < timing["diarization"] <= timing["total"]
    progress_hook = hooks.hooks[1]
    (task,) = progress_hook.progress.tasks
    assert task.description == "diarization" and task.completed == task.total


# --- tuning --------------------------------------------------------------------------------------


def test_instantiate_changes_the_post_processing(pipeline):
    before = diarization(pipeline(str(EXAMPLE)))
    tuned = {"onset": 0.9, "offset": 0.8, "pad_onset": 0.0, "pad_offset": 0.3, "min_duration_on": 0.5,
             "min_duration_off": 0.0}
    defaults = pipeline.parameters(instantiated=True)
    try:
        pipeline.instantiate(tuned)
        after = diarization(pipeline(str(EXAMPLE)))
        assert pipeline.binarization == Binarization(**tuned)
        assert same_up_to_labels(after, backend_annotation(pipeline, str(EXAMPLE)))
        assert after != before
    finally:
        pipeline.instantiate(defaults)


def test_pyannotes_optimizer_tunes_the_post_processing_on_a_dev_set(pipeline, data):
    from pyannote.pipeline import Optimizer

    reference, scored = read_rttm(data / "ami-train/reference.rttm"), read_uem(data / "ami-train/all.uem")
    dev = [
        {"audio": str(data / f"ami-train/{uri}.flac"), "uri": uri, "annotation": reference[uri], "annotated": scored[uri]}
        for uri in ("trn00", "trn01", "trn02")
    ]
    calls = []
    original = pipeline.backend.diarize

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    defaults = pipeline.parameters(instantiated=True)
    pipeline.backend.diarize = counting
    try:
        optimizer = Optimizer(pipeline, sampler="RandomSampler", seed=0)
        results = optimizer.tune_iter(dev, warm_start=defaults, show_progress=False)
        best = next(itertools.islice(results, 7, None))
        trials = optimizer.study_.trials
    finally:
        del pipeline.backend.diarize
        pipeline.instantiate(defaults)
        pipeline.training = False
    assert len(trials) == 8 and trials[0].params == defaults
    assert len({tuple(sorted(trial.params.items())) for trial in trials}) == 8, "each trial tries new values"
    assert best["loss"] <= trials[0].value
    assert set(best["params"]) == HYPER_PARAMETERS
    assert len(calls) == len(dev), "the backend runs once per file; trials only re-binarize"


def test_to_moves_the_models(embedded_config):
    pipeline = Pipeline.from_pretrained(str(embedded_config / "config.yaml"))
    assert pipeline.to(torch.device("meta")) is pipeline
    models = pipeline.backend.models
    for model in (models.segmentation.model, models.encoder.model):
        assert {parameter.device.type for parameter in model.parameters()} == {"meta"}
    with pytest.raises(TypeError):
        pipeline.to("cpu")  # pyannote's own rule: a torch.device, not a string


def test_a_third_party_backend_is_a_pyannote_pipeline_too(tmp_path):
    """Registered through entry points by another distribution (tests/plugin_example)."""
    assert audar(["pyannote-config", str(tmp_path), "--backend", "example-constant"]) == 0
    third_party = Pipeline.from_pretrained(str(tmp_path / "config.yaml"))
    assert type(third_party.backend).__module__ == "audar_plugin_example"
    output = diarization(third_party(str(EXAMPLE)))
    assert output.labels() == ["SPEAKER_00"]
    assert same_up_to_labels(output, backend_annotation(third_party, str(EXAMPLE)))
