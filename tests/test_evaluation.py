"""DER through pyannote.metrics, with dscore's per-side collar."""

from __future__ import annotations

import pytest
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from audar_plugins.evaluation import diarization_error_rate
from audar_plugins.errors import InvalidOptionError


def annotation(uri, *tracks):
    result = Annotation(uri=uri)
    for k, (start, end, label) in enumerate(tracks):
        result[Segment(start, end), k] = label
    return result


def test_collar_is_per_side_of_each_boundary():
    reference = {"a": annotation("a", (0, 10, "A"))}
    hypothesis = {"a": annotation("a", (0, 9, "X"))}
    uem = {"a": Timeline([Segment(0, 10)])}
    # no collar: 1 s of 10 missed
    assert diarization_error_rate(reference, hypothesis, uem).total.der == pytest.approx(0.1)
    # 0.25 s each side of 0 and 10: [0.25, 9.75] scored, [9, 9.75] missed
    report = diarization_error_rate(reference, hypothesis, uem, collar=0.25)
    assert report.files["a"].total == pytest.approx(9.5)
    assert report.files["a"].missed == pytest.approx(0.75)
    assert report.total.der == pytest.approx(0.75 / 9.5)


def test_components_add_up_like_pyannote_metrics():
    reference = annotation("m", (0, 4, "A"), (3, 8, "B"), (9, 12, "A"))
    hypothesis = annotation("m", (0.5, 4.5, "s0"), (4.5, 8, "s1"), (8.5, 12, "s1"))
    report = diarization_error_rate({"m": reference}, {"m": hypothesis}, collar=0.1)
    uem = Timeline([Segment(0, 12)])
    expected = DiarizationErrorRate(collar=0.2)(reference, hypothesis, uem=uem, detailed=True)
    components = report.files["m"]
    assert components.false_alarm == pytest.approx(expected["false alarm"])
    assert components.missed == pytest.approx(expected["missed detection"])
    assert components.confusion == pytest.approx(expected["confusion"])
    assert components.der == pytest.approx(expected["diarization error rate"])


def test_missing_hypothesis_counts_as_all_missed_and_overlap_can_be_skipped():
    reference = {"a": annotation("a", (0, 4, "A"), (2, 6, "B")), "b": annotation("b", (0, 2, "A"))}
    hypothesis = {"a": annotation("a", (0, 6, "x"))}
    report = diarization_error_rate(reference, hypothesis)
    assert report.files["b"].missed == pytest.approx(2.0) and report.files["b"].der == pytest.approx(1.0)
    skipped = diarization_error_rate(reference, hypothesis, skip_overlap=True)
    assert skipped.files["a"].total == pytest.approx(4.0)


def test_invalid_collar():
    with pytest.raises(InvalidOptionError):
        diarization_error_rate({}, {}, collar=-1)
