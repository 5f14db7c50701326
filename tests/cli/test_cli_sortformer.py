"""``audar diarize/stream/expand-heads`` with the sortformer backend, run as real subprocesses."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from audar_plugins import diarize
from audar_plugins.formats import read_npz, segments

from ..conftest import EXAMPLE
from .test_cli import audar


def test_diarize_npz_holds_the_backend_probabilities(tiny_sortformer, tmp_path):
    from audar_plugins.backends.sortformer import SortformerBackend

    out = tmp_path / "falcon.npz"
    result = audar("diarize", EXAMPLE, "--backend", "sortformer", "--model", tiny_sortformer,
                   "--preset", "nv-10s", "--format", "npz", "--output", out)
    assert result.returncode == 0, result.stderr
    saved = read_npz(out)
    expected = SortformerBackend(tiny_sortformer, preset="nv-10s").diarize(EXAMPLE)
    assert saved.labels == expected.labels and saved.frame_duration == pytest.approx(0.08)
    np.testing.assert_allclose(saved.probabilities, expected.probabilities, rtol=0, atol=1e-6)


def test_stream_prints_what_diarize_prints(tiny_sortformer):
    options = ["--model", tiny_sortformer, "--preset", "card", "--onset", "0.55", "--offset", "0.45",
               "--min-duration-off", "0.3"]
    offline = audar("diarize", EXAMPLE, "--backend", "sortformer", *options)
    live = audar("stream", EXAMPLE, "--backend", "sortformer", "--push-ms", "37", *options)
    assert offline.returncode == live.returncode == 0, offline.stderr + live.stderr
    assert offline.stdout.startswith("SPEAKER falcon-3-speakers 1 ")
    assert live.stdout == offline.stdout


def test_post_processing_flags_work_for_the_embedded_backend(embedded):
    result = audar("diarize", EXAMPLE, "--format", "json", "--onset", "0.8", "--pad-onset", "0.25",
                   "--min-duration-on", "0.5")
    assert result.returncode == 0, result.stderr
    binarization = dataclasses.replace(embedded.binarization, onset=0.8, pad_onset=0.25, min_duration_on=0.5)
    expected = diarize(EXAMPLE, backend=embedded, binarization=binarization, uri="falcon-3-speakers")
    assert json.loads(result.stdout)["segments"] == segments(expected.annotation)
    assert expected.annotation != diarize(EXAMPLE, backend=embedded).annotation  # the flags changed something


def test_expand_heads(tiny_sortformer, tmp_path):
    from audar_plugins.backends.sortformer import SortformerBackend

    target = tmp_path / "eight.nemo"
    result = audar("expand-heads", tiny_sortformer, target, "--speakers", "8", "--silent")
    assert result.returncode == 0, result.stderr
    assert "8 speakers" in result.stdout and "(+200)" in result.stdout  # 4 new rows of 16+1 and 32+1
    activity = SortformerBackend(target).diarize(EXAMPLE)
    assert activity.num_speakers == 8 and activity.probabilities[:, 4:].max() < 1e-6


@pytest.mark.parametrize(
    "arguments,message",
    [(["diarize", EXAMPLE, "--backend", "sortformer", "--model", EXAMPLE], "not a .nemo checkpoint"),
     (["stream", EXAMPLE, "--backend", "example-constant"], "no live sessions"),
     (["stream", EXAMPLE, "--push-ms", "0"], "--push-ms"),
     (["diarize", EXAMPLE, "--preset", "card"], "preset"),
     (["diarize", EXAMPLE, "--onset", "1.5"], "onset")],
)
def test_clear_errors(arguments, message):
    result = audar(*arguments)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_the_embedded_backend_streams_from_the_command_line(embedded):
    from audar_plugins.activity import SpeakerActivity
    from audar_plugins.audio import load_audio
    from audar_plugins.formats import to_rttm

    live = audar("stream", EXAMPLE, "--backend", "embedded", "--push-ms", "130")
    assert live.returncode == 0, live.stderr
    session = embedded.open_session()
    activity = SpeakerActivity.concatenate([session.push(load_audio(EXAMPLE)), session.flush()])
    expected = to_rttm(activity.to_annotation(embedded.binarization, uri="falcon-3-speakers"))
    assert live.stdout == expected and expected.count("\n") >= 3
