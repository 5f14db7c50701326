"""The ``audar`` command, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audar_plugins.evaluation import diarization_error_rate
from audar_plugins.formats import read_rttm

from ..conftest import EXAMPLE

AUDAR = [sys.executable, "-m", "audar_plugins.cli"]


def audar(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*AUDAR, *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    paths = []
    for name, seconds in (("first clip", 9.0), ("second", 5.0)):
        path = folder / f"{name}.wav"
        sf.write(path, rng.normal(0, 0.05, int(seconds * 16000)).astype(np.float32), 16000)
        paths.append(path)
    return paths


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "audar"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("audar-plugins ")


@pytest.mark.parametrize("preset", [[], ["--preset", "fast"]], ids=["accurate", "fast"])
def test_diarize_the_shipped_example_with_the_default_backend(data, tmp_path, preset):
    output = tmp_path / "example.rttm"
    result = audar("diarize", EXAMPLE, "--output", output, *preset)
    assert result.returncode == 0, result.stderr
    hypothesis = read_rttm(output)["falcon-3-speakers"]
    reference = read_rttm(data / "falcon/test.rttm")["test"]
    reference.uri = "falcon-3-speakers"
    report = diarization_error_rate({"falcon-3-speakers": reference}, {"falcon-3-speakers": hypothesis}, collar=0.25)
    assert len(hypothesis.labels()) == 3
    assert report.total.der <= 0.05


def test_an_unknown_preset_of_the_default_backend_is_refused_by_name():
    result = audar("diarize", EXAMPLE, "--preset", "slow")
    assert result.returncode == 1 and "presets are accurate, fast (got 'slow')" in result.stderr


def test_json_rttm_and_speaker_counts_with_a_registered_backend(clips):
    result = audar("diarize", clips[0], "--backend", "example-fake", "--format", "json", "--num-speakers", "3")
    assert result.returncode == 0, result.stderr
    segments = json.loads(result.stdout)["segments"]
    assert {s["speaker"] for s in segments} == {"speaker_0", "speaker_1", "speaker_2"}
    assert segments == sorted(segments, key=lambda s: (s["start"], s["end"], s["speaker"]))
    assert all(set(s) == {"speaker", "start", "end"} for s in segments)

    rttm = audar("diarize", clips[0], "--backend", "example-fake", "--max-speakers", "1").stdout
    assert {line.split()[7] for line in rttm.splitlines()} == {"speaker_0"}
    assert {line.split()[1] for line in rttm.splitlines()} == {"first_clip"}  # spaces made safe


def test_several_inputs_to_a_directory_a_file_and_json_lines(clips, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    assert audar("diarize", *clips, "--backend", "example-fake", "--output", folder).returncode == 0
    assert sorted(p.name for p in folder.iterdir()) == ["first_clip.rttm", "second.rttm"]

    combined = tmp_path / "all.rttm"
    assert audar("diarize", *clips, "--backend", "example-fake", "--output", combined).returncode == 0
    assert set(read_rttm(combined)) == {"first_clip", "second"}

    lines = audar("diarize", *clips, "--backend", "example-fake", "--format", "json").stdout.splitlines()
    assert [json.loads(line)["uri"] for line in lines] == ["first_clip", "second"]


def test_a_bad_file_fails_alone_and_the_others_are_written(clips, tmp_path):
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not audio")
    output = tmp_path / "out.rttm"
    result = audar("diarize", clips[0], not_audio, tmp_path / "absent.wav", clips[1],
                   "--backend", "example-fake", "--output", output)
    assert result.returncode == 1
    assert "notes.wav: cannot decode" in result.stderr and "absent.wav: no such audio file" in result.stderr
    assert "Traceback" not in result.stderr
    assert set(read_rttm(output)) == {"first_clip", "second"}


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--num-speakers", "0"], "num_speakers must be a positive integer"),
        (["--min-speakers", "3", "--max-speakers", "2"], "greater than max_speakers"),
        (["--backend", "nope"], "installed backends: "),
        (["--plot", "picture.gif"], ".png or .svg"),
    ],
)
def test_clear_errors_without_tracebacks(clips, tmp_path, arguments, message):
    result = audar("diarize", clips[1], "--backend", "example-fake", *arguments, cwd=tmp_path)
    if "--backend" in arguments[:1]:
        result = audar("diarize", clips[1], *arguments, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_plot_files(clips, tmp_path):
    assert audar("diarize", clips[0], "--backend", "example-fake", "--plot", tmp_path / "one.png").returncode == 0
    assert (tmp_path / "one.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert audar("diarize", *clips, "--backend", "example-fake", "--plot", tmp_path / "many.svg").returncode == 0
    assert sorted(p.name for p in tmp_path.glob("many-*.svg")) == ["many-first_clip.svg", "many-second.svg"]


def test_progress_bar_on_request(tmp_path):
    long_input = tmp_path / "long.wav"
    sf.write(long_input, np.zeros(90 * 16000, dtype=np.float32), 16000)
    shown = audar("diarize", long_input, "--backend", "example-fake", "--progress")
    assert "90.0/90.0" in shown.stderr
    hidden = audar("diarize", long_input, "--backend", "example-fake", "--quiet")
    assert hidden.stderr == ""


def test_eval_prints_per_file_and_total_and_reads_the_collar_per_side(tmp_path):
    (tmp_path / "ref.rttm").write_text(
        "SPEAKER a 1 0.000 10.000 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER b 1 0.000 4.000 <NA> <NA> A <NA> <NA>\n"
        "SPEAKER b 1 4.000 4.000 <NA> <NA> B <NA> <NA>\n"
    )
    (tmp_path / "hyp_a.rttm").write_text("SPEAKER a 1 0.000 9.000 <NA> <NA> s0 <NA> <NA>\n")
    (tmp_path / "hyp_b.rttm").write_text("SPEAKER b 1 0.000 8.000 <NA> <NA> s0 <NA> <NA>\n")
    (tmp_path / "all.uem").write_text("a 1 0.000 10.000\nb 1 0.000 8.000\n")
    result = audar("eval", "--reference", tmp_path / "ref.rttm", "--uem", tmp_path / "all.uem",
                   "--collar", "0.25", tmp_path / "hyp_a.rttm", tmp_path / "hyp_b.rttm", "--json")
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert files["a"]["missed"] == pytest.approx(0.75) and files["a"]["total"] == pytest.approx(9.5)
    # b: boundaries at 0, 4 and 8 -> scored [0.25, 3.75] and [4.25, 7.75]; B's part is confused
    assert files["b"]["confusion"] == pytest.approx(3.5) and files["b"]["total"] == pytest.approx(7.0)
    assert files["TOTAL"]["der"] == pytest.approx((0.75 + 3.5) / 16.5)

    table = audar("eval", "--reference", tmp_path / "ref.rttm", "--collar", "0.25",
                  tmp_path / "hyp_a.rttm", tmp_path / "hyp_b.rttm").stdout.splitlines()
    assert [row.split()[0] for row in table] == ["file", "a", "b", "TOTAL"]
    assert "on EACH side of every reference boundary" in " ".join(audar("eval", "--help").stdout.split())


def test_eval_missing_reference_is_a_clear_error(tmp_path):
    result = audar("eval", "--reference", tmp_path / "absent.rttm", tmp_path / "absent.rttm")
    assert result.returncode == 1 and "no such RTTM file" in result.stderr
