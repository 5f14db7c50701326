"""`audar pyannote-config`: the pipeline directory pyannote.audio loads (loading it: tests/adapters)."""

from __future__ import annotations

import yaml
import pytest

from audar_plugins import BackendNotFoundError, InvalidOptionError
from audar_plugins.adapters.pyannote_config import write_pyannote_config
from audar_plugins.cli import main as audar


def test_the_config_names_our_class_the_backend_and_the_hyper_parameters(tmp_path, tiny_sortformer, capsys):
    directory = tmp_path / "pipeline"
    assert audar(["pyannote-config", str(directory), "--backend", "sortformer", "--model", str(tiny_sortformer),
                  "--preset", "nv-1.04s", "--device", "cpu", "--onset", "0.6", "--pad-offset", "0.05"]) == 0
    assert capsys.readouterr().out.strip() == str(directory / "config.yaml")
    config = yaml.safe_load((directory / "config.yaml").read_text())
    assert config == {
        "dependencies": {"audar-plugins": audar_version()},
        "pipeline": {
            "name": "audar_plugins.adapters.pyannote.AudarSpeakerDiarization",
            "params": {"backend": "sortformer", "model": str(tiny_sortformer.resolve()), "device": "cpu",
                       "preset": "nv-1.04s"},
        },
        "params": {"onset": 0.6, "pad_offset": 0.05},
    }


def audar_version() -> str:
    from audar_plugins import __version__

    return __version__


def test_a_relative_checkpoint_is_written_absolute(tmp_path, tiny_sortformer, monkeypatch):
    monkeypatch.chdir(tiny_sortformer.parent)
    path = write_pyannote_config(tmp_path, "sortformer", model=tiny_sortformer.name)
    assert yaml.safe_load(path.read_text())["pipeline"]["params"]["model"] == str(tiny_sortformer.resolve())


def test_copy_model_makes_a_self_contained_directory(tmp_path, tiny_sortformer):
    path = write_pyannote_config(tmp_path / "out", "sortformer", model=tiny_sortformer, copy_model=True)
    assert yaml.safe_load(path.read_text())["pipeline"]["params"]["model"] == f"$model/{tiny_sortformer.name}"
    assert (tmp_path / "out" / tiny_sortformer.name).read_bytes() == tiny_sortformer.read_bytes()


def test_bad_requests_fail_before_writing(tmp_path, capsys):
    with pytest.raises(BackendNotFoundError, match="no backend named 'nope'.*embedded"):
        write_pyannote_config(tmp_path / "a", "nope")
    with pytest.raises(InvalidOptionError, match="checkpoint .*missing.nemo does not exist"):
        write_pyannote_config(tmp_path / "b", "sortformer", model=tmp_path / "missing.nemo")
    with pytest.raises(InvalidOptionError, match="unknown post-processing parameters \\['threshold'\\]"):
        write_pyannote_config(tmp_path / "c", "embedded", postprocessing={"threshold": 0.5})
    assert not any((tmp_path / name).exists() for name in "abc")
    assert audar(["pyannote-config", str(tmp_path / "d"), "--backend", "nope"]) == 1
    assert "no backend named 'nope'" in capsys.readouterr().err
