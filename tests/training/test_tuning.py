"""``audar tune``: a post-processing search that re-binarizes, a parameter file the faces accept."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pyannote.core import Annotation, Segment

from audar_plugins.activity import Binarization, SpeakerActivity
from audar_plugins.errors import FormatError
from audar_plugins.evaluation import DERComponents
from audar_plugins.training.tuning import TuningResult, read_params, score, tune_binarization, write_params

AUDAR = [sys.executable, "-m", "audar_plugins.cli"]


def noisy_activity(seed: int) -> tuple[SpeakerActivity, Annotation]:
    """One speaker at 0.8 where they speak and 0.6 (noise) over a third of the rest: onset 0.5 takes the noise."""
    rng = np.random.default_rng(seed)
    frames = 1000
    speech = np.zeros(frames, dtype=bool)
    reference = Annotation(uri=f"f{seed}")
    for start in range(50, frames - 100, 200):
        length = int(rng.integers(40, 100))
        speech[start:start + length] = True
        reference[Segment(start * 0.02, (start + length) * 0.02)] = "a"
    noise = ~speech & (rng.random(frames) < 0.33)
    probabilities = np.where(speech, 0.8, np.where(noise, 0.6, 0.05)).astype(np.float32)
    return SpeakerActivity(probabilities[:, None], frame_duration=0.02), reference


def test_the_search_beats_the_starting_point_and_never_does_worse():
    pairs = [noisy_activity(seed) for seed in range(3)]
    activities = {f"f{seed}": activity for seed, (activity, _) in enumerate(pairs)}
    references = {f"f{seed}": reference for seed, (_, reference) in enumerate(pairs)}
    start = Binarization()
    result = tune_binarization(activities, references, start, trials=40, seed=1)
    assert result.default == score(activities, references, start)
    assert result.best == score(activities, references, result.binarization)
    assert result.default.der > 0.2  # the noise is taken for speech
    assert result.best.der < result.default.der / 4
    # the backend's own setting is tried first: a start that is already perfect stays perfect
    perfect = Binarization(onset=0.7, offset=0.7)
    assert tune_binarization(activities, references, perfect, trials=3).best.der == 0.0
    outside = Binarization(onset=0.7, offset=0.7, pad_onset=2.0)  # beyond the space searched
    result = tune_binarization(activities, references, outside, trials=3)
    assert result.best.der <= result.default.der


def test_parameter_files_round_trip_and_bad_ones_are_clear_errors(tmp_path):
    tuned = Binarization(onset=0.6, offset=0.4, pad_onset=0.1, min_duration_off=0.3)
    zero = DERComponents(10.0, 1.0, 0.0, 0.0)
    path = tmp_path / "params.json"
    write_params(path, TuningResult(tuned, zero, zero, 5), "embedded")
    assert Binarization(**read_params(path)) == tuned
    for content, message in [("{", "not a parameter file"), ('{"format": 1, "binarization": {"colour": 1}}',
                                                              "not a parameter file"),
                             ('{"format": 1, "binarization": {"onset": 2.0}}', "invalid post-processing")]:
        path.write_text(content)
        with pytest.raises(FormatError, match=message):
            read_params(path)
    with pytest.raises(FormatError, match="cannot read"):
        read_params(tmp_path / "absent.json")


@pytest.fixture(scope="module")
def tuned(data, tmp_path_factory):
    """``audar tune`` on four AMI clips with the CPU default, scored on two others."""
    ami = data / "ami-train"
    path = tmp_path_factory.mktemp("tune") / "params.json"
    result = subprocess.run([*AUDAR, "tune", *(ami / f"trn0{i}.flac" for i in (0, 3, 5, 6)), "--reference",
                             ami / "only_words.rttm", "--uem", ami / "all.uem", "--test", ami / "trn07.flac",
                             ami / "trn09.flac", "--collar", "0.25", "--trials", "12", "--output", path],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return path, result.stdout


def test_tune_on_ami_is_no_worse_than_the_defaults_and_prints_the_test_figure(tuned):
    path, stdout = tuned
    document = json.loads(path.read_text())
    assert document["backend"] == "embedded"
    assert document["dev"]["tuned_der"] <= document["dev"]["default_der"]
    assert f"dev, 4 files: DER {100 * document['dev']['default_der']:.2f} % with embedded's post-processing, " \
           f"{100 * document['dev']['tuned_der']:.2f} % tuned (12 trials)" in stdout
    assert f"test, 2 files: DER {100 * document['test']['default_der']:.2f} %" in stdout


def test_diarize_pyannote_config_and_serve_accept_the_parameters(tuned, data, tmp_path):
    path, _ = tuned
    values = read_params(path)
    audio = data / "ami-train" / "trn00.flac"
    flags = [f"--{name.replace('_', '-')}={value!r}" for name, value in values.items()]
    with_file = subprocess.run([*AUDAR, "diarize", audio, "--params", path], capture_output=True, text=True)
    with_flags = subprocess.run([*AUDAR, "diarize", audio, *flags], capture_output=True, text=True)
    assert with_file.returncode == 0, with_file.stderr
    assert with_file.stdout == with_flags.stdout
    # a flag given beside the file wins
    longer = subprocess.run([*AUDAR, "diarize", audio, "--params", path, "--min-duration-on", "5"],
                            capture_output=True, text=True)
    assert longer.returncode == 0 and longer.stdout != with_file.stdout

    config = subprocess.run([*AUDAR, "pyannote-config", tmp_path / "pipeline", "--params", path],
                            capture_output=True, text=True)
    assert config.returncode == 0, config.stderr
    assert (tmp_path / "pipeline" / "config.yaml").read_text().count(f"onset: {values['onset']}") == 1

    from audar_plugins.backends.fake import FakeBackend
    from audar_plugins.server.engine import Engine
    from audar_plugins.server.settings import Settings

    engine = Engine(Settings.from_sources({}, {"AUDAR_PARAMS": str(path)}), FakeBackend())
    assert engine.binarization == Binarization(**values)
    engine.close()
    bad = subprocess.run([*AUDAR, "diarize", audio, "--params", tmp_path / "absent.json"], capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "cannot read the parameter file" in bad.stderr and "Traceback" not in bad.stderr
