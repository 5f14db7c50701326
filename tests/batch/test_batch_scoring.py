"""Corpus scoring: DER per file and per group, and the macro average, against pyannote.metrics computed here."""

from __future__ import annotations

import csv
import json

import pytest
from pyannote.core import Annotation
from pyannote.metrics.diarization import DiarizationErrorRate

from audar_plugins.formats import read_rttm, read_uem

from .conftest import audar


def rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


@pytest.mark.filterwarnings("ignore:'uem' was approximated")  # pyannote.metrics here, as our scoring does
def test_groups_and_macro_der_from_a_manifest(data, corpus, tmp_path):
    ami = data / "ami-train"
    manifest = tmp_path / "corpus.jsonl"
    lines = [{"path": str(path), "reference": str(ami / "only_words.rttm"), "corpus": "ami"}
             for path in sorted((corpus / "ami").iterdir())]
    lines.append({"path": str(corpus / "other" / "falcon.wav"), "reference": str(data / "falcon" / "test.rttm"),
                  "corpus": "falcon"})
    lines.append({"path": str(corpus / "other" / "endgame_nagg_nell.wav"),
                  "reference": str(data / "moonshine" / "endgame_nagg_nell.rttm"), "corpus": "moonshine"})
    lines.append({"path": str(corpus / "other" / "beckett.wav"), "corpus": "moonshine"})  # no reference: not scored
    manifest.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out"
    result = audar("batch", manifest, "--output", out, "--backend", "example-fake", "--format", "json",
                   "--uem", ami / "all.uem", "--group-by", "corpus", "--collar", "0.25")
    assert result.returncode == 0, result.stderr

    # the same scores, computed here with pyannote.metrics: each group's files pooled, then the mean
    uems = read_uem(ami / "all.uem")
    groups: dict[str, DiarizationErrorRate] = {}
    per_file = {}
    for line in lines[:-1]:
        uri = line["path"].rsplit("/", 1)[1].rsplit(".", 1)[0]
        references = read_rttm(line["reference"])
        reference = references[uri] if uri in references else next(iter(references.values()))
        name = ("ami/" if line["corpus"] == "ami" else "other/") + uri
        hypothesis = read_rttm(out / f"{name}.rttm").get(uri, Annotation(uri=uri))
        metric = groups.setdefault(line["corpus"], DiarizationErrorRate(collar=0.5))
        components = metric(reference, hypothesis, uem=uems.get(uri), detailed=True)
        per_file[name] = [components[key] for key in ("false alarm", "missed detection", "confusion", "total")]
    table = rows(out / "der.csv")
    files = {row["file"]: [float(row[key]) for key in ("false_alarm", "missed", "confusion", "speech")]
             for row in table if row["level"] == "file"}
    assert sorted(files) == sorted(per_file)
    for name, expected in per_file.items():
        assert files[name] == pytest.approx(expected, abs=1e-3), name
    scored = {row["group"]: float(row["der"]) for row in table if row["level"] == "group"}
    assert scored == pytest.approx({group: abs(metric) for group, metric in groups.items()}, abs=1e-6)
    (macro,) = [float(row["der"]) for row in table if row["level"] == "macro"]
    assert macro == pytest.approx(sum(abs(metric) for metric in groups.values()) / 3, abs=1e-6)
    assert f"macro over groups     12  {100 * macro:6.2f}" in result.stdout
    assert (out / "ami" / "trn00.json").is_file()  # the formats asked for, and RTTM for scoring


def test_a_reference_folder_scores_the_files_it_has_grouped_by_folder(data, corpus, tmp_path):
    references = tmp_path / "references"
    references.mkdir()
    (references / "ami.rttm").write_bytes((data / "ami-train" / "only_words.rttm").read_bytes())
    out = tmp_path / "out"
    result = audar("batch", corpus, "--output", out, "--backend", "example-fake", "--reference", references)
    assert result.returncode == 0, result.stderr
    table = rows(out / "der.csv")
    assert sorted({row["group"] for row in table if row["level"] == "file"}) == ["ami"]
    assert len([row for row in table if row["level"] == "file"]) == 10
    (group,) = [row for row in table if row["level"] == "group"]
    (macro,) = [row for row in table if row["level"] == "macro"]
    assert group["der"] == macro["der"]


def test_a_shared_uri_cannot_be_scored_from_one_reference(data, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / "in" / folder).mkdir(parents=True)
        (tmp_path / "in" / folder / "trn00.flac").symlink_to(data / "ami-train" / "trn00.flac")
    result = audar("batch", tmp_path / "in", "--output", tmp_path / "out", "--backend", "example-fake",
                   "--reference", data / "ami-train" / "only_words.rttm")
    assert result.returncode == 1
    assert "have the same uri 'trn00'" in result.stderr and "Traceback" not in result.stderr
