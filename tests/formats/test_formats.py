"""RTTM through pyannote.core, JSON in the model card's shape."""

from __future__ import annotations

import io
import json

import pytest
from pyannote.core import Annotation, Segment

from audar_plugins import formats
from audar_plugins.errors import FormatError, InvalidOptionError


def sample() -> Annotation:
    annotation = Annotation(uri="meeting")
    annotation[Segment(2.8, 5.1), 1] = "speaker_1"
    annotation[Segment(0.0, 3.2), 0] = "speaker_0"
    annotation[Segment(6.0, 7.25), 0] = "speaker_0"
    return annotation


def test_json_has_the_model_card_shape_in_time_order():
    document = json.loads(formats.to_json(sample()))
    assert document == {
        "segments": [
            {"speaker": "speaker_0", "start": 0.0, "end": 3.2},
            {"speaker": "speaker_1", "start": 2.8, "end": 5.1},
            {"speaker": "speaker_0", "start": 6.0, "end": 7.25},
        ]
    }


def test_rttm_round_trips_through_pyannote(tmp_path):
    path = tmp_path / "out.rttm"
    with open(path, "w") as file:
        formats.write_rttm(sample(), file)
    assert sorted(path.read_text().splitlines()) == [
        "SPEAKER meeting 1 0.000 3.200 <NA> <NA> speaker_0 <NA> <NA>",
        "SPEAKER meeting 1 2.800 2.300 <NA> <NA> speaker_1 <NA> <NA>",
        "SPEAKER meeting 1 6.000 1.250 <NA> <NA> speaker_0 <NA> <NA>",
    ]
    loaded = formats.read_rttm(path)["meeting"]
    assert loaded.uri == "meeting"
    assert sorted((s.start, s.end, l) for s, _, l in loaded.itertracks(yield_label=True)) == sorted(
        (s.start, s.end, l) for s, _, l in sample().itertracks(yield_label=True)
    )


def test_uri_with_spaces_is_made_safe_and_bad_labels_refused():
    annotation = sample()
    annotation.uri = "team meeting 3"
    assert formats.to_rttm(annotation).split()[1] == "team_meeting_3"
    annotation[Segment(8, 9), 5] = "two words"
    with pytest.raises(InvalidOptionError, match="spaces"):
        formats.to_rttm(annotation)


def test_write_dispatches_and_rejects_unknown_formats():
    stream = io.StringIO()
    formats.write(sample(), stream, "json")
    assert json.loads(stream.getvalue())["segments"][0]["speaker"] == "speaker_0"
    with pytest.raises(InvalidOptionError, match="unknown format"):
        formats.write(sample(), io.StringIO(), "srt")


def test_reading_missing_or_malformed_files(tmp_path):
    with pytest.raises(FormatError, match="no such RTTM"):
        formats.read_rttm(tmp_path / "absent.rttm")
    broken = tmp_path / "broken.rttm"
    broken.write_text("SPEAKER clip 1 abc 1.0 <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(FormatError, match="cannot read"):
        formats.read_rttm(broken)
