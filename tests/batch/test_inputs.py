"""Which files a batch works on, and where each one's outputs go."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audar_plugins.batch import BatchInputs
from audar_plugins.errors import InvalidOptionError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def names(inputs) -> list[str]:
    return [item.name for item in BatchInputs(inputs)]


def test_a_folder_is_mirrored_below_itself_in_a_stable_order(tmp_path):
    for relative in ("b/2.flac", "a/1.wav", "a/deep/3.mp3", "a/notes.txt", "top.ogg"):
        touch(tmp_path / "corpus" / relative)
    items = list(BatchInputs([tmp_path / "corpus"]))
    assert [item.name for item in items] == ["top", "a/1", "a/deep/3", "b/2"]
    assert [item.uri for item in items] == ["top", "1", "3", "2"]
    assert items[1].path == str(tmp_path / "corpus" / "a" / "1.wav")
    assert [item.group("dir") for item in items] == [".", "a", "a", "b"]


def test_several_inputs_are_mirrored_below_their_common_folder(tmp_path):
    touch(tmp_path / "ami" / "a.wav")
    touch(tmp_path / "vox" / "a.wav")
    touch(tmp_path / "single.flac")
    assert names([tmp_path / "ami", tmp_path / "vox", tmp_path / "single.flac"]) == ["ami/a", "vox/a", "single"]
    assert names([tmp_path / "ami" / "a.wav", tmp_path / "vox" / "a.wav"]) == ["ami/a", "vox/a"]


def test_files_sharing_a_stem_keep_their_extension_so_names_never_collide(tmp_path):
    touch(tmp_path / "a.wav")
    touch(tmp_path / "a.flac")
    touch(tmp_path / "b.wav")
    assert names([tmp_path]) == ["a.flac", "a.wav", "b"]
    assert names([tmp_path / "a.wav"]) == ["a.wav"]  # the same name whichever files join the batch


def test_a_file_given_twice_is_worked_on_once(tmp_path):
    path = touch(tmp_path / "x" / "a.wav")
    inputs = BatchInputs([tmp_path / "x", path])
    assert inputs.count() == 1
    assert [item.path for item in inputs] == [str(path)]


def test_a_symbolic_link_loop_ends(tmp_path):
    touch(tmp_path / "c" / "a.wav")
    os.symlink(tmp_path / "c", tmp_path / "c" / "loop")
    assert names([tmp_path / "c"]) == ["a"]


def test_json_lines_manifest_rows(tmp_path):
    touch(tmp_path / "audio" / "one.wav")
    touch(tmp_path / "elsewhere" / "two.flac")
    rows = [
        {"path": "audio/one.wav", "reference": "refs/one.rttm", "num_speakers": 3, "corpus": "ami"},
        {"path": str(tmp_path / "elsewhere" / "two.flac"), "uri": "EN 2001a", "max_speakers": "4", "corpus": "vox"},
    ]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    inputs = BatchInputs([manifest])
    assert inputs.references_given()
    one, two = inputs
    assert (one.name, one.uri, one.reference, dict(one.speakers)) == (
        "audio/one", "one", str(tmp_path / "refs" / "one.rttm"), {"num_speakers": 3})
    assert (two.name, two.uri, two.reference, dict(two.speakers)) == ("elsewhere/two", "EN_2001a", None,
                                                                    {"max_speakers": 4})
    assert [one.group("corpus"), two.group("corpus")] == ["ami", "vox"]
    with pytest.raises(InvalidOptionError, match="no such manifest column"):
        one.group("site")


def test_csv_and_tsv_manifests(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "m.csv").write_text("path,min_speakers,group\na.wav,2,x\n")
    (tmp_path / "m.tsv").write_text("path\tmin_speakers\na.wav\t\n")
    (item,) = BatchInputs([tmp_path / "m.csv"])
    assert (item.name, dict(item.speakers), item.group("group")) == ("a", {"min_speakers": 2}, "x")
    (item,) = BatchInputs([tmp_path / "m.tsv"])
    assert dict(item.speakers) == {}
    assert not BatchInputs([tmp_path / "m.csv"]).references_given()


@pytest.mark.parametrize("content, message", [
    ('{"path": "a.wav"}\nnot json\n', "line 2: not JSON"),
    ('["a.wav"]\n', "line 1: not a JSON object"),
    ('{"reference": "a.rttm"}\n', "line 1: no 'path'"),
    ('{"path": "a.wav", "num_speakers": "three"}\n', "num_speakers must be a whole number"),
])
def test_bad_manifests_are_clear_errors(tmp_path, content, message):
    touch(tmp_path / "a.wav")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(content)
    with pytest.raises(InvalidOptionError, match=message):
        BatchInputs([manifest]).count()


def test_a_manifest_is_mirrored_below_its_rows_common_folder(tmp_path):
    touch(tmp_path / "data" / "ami" / "a.wav")
    touch(tmp_path / "data" / "vox" / "b.wav")
    manifest = tmp_path / "lists" / "m.jsonl"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"path": str(tmp_path / "data" / "ami" / "a.wav")}) + "\n"
                        + json.dumps({"path": "../data/vox/b.wav"}) + "\n")
    assert names([manifest]) == ["ami/a", "vox/b"]


def test_two_files_that_would_write_the_same_outputs_are_refused(tmp_path):
    touch(tmp_path / "a.wav")
    touch(tmp_path / "a.xyz")  # not a suffix searched for, so a.wav keeps its short name
    with pytest.raises(InvalidOptionError, match="would both write a.*: rename one"):
        BatchInputs([tmp_path / "a.wav", tmp_path / "a.xyz"]).count()


def test_manifest_suffixes_in_capitals_and_a_byte_order_mark(tmp_path):
    touch(tmp_path / "a.wav")
    (tmp_path / "M.JSONL").write_text(json.dumps({"path": "a.wav"}) + "\n")
    (tmp_path / "excel.csv").write_bytes("\ufeffpath,num_speakers\na.wav,2\n".encode())
    assert names([tmp_path / "M.JSONL"]) == ["a"]
    (item,) = BatchInputs([tmp_path / "excel.csv"])
    assert dict(item.speakers) == {"num_speakers": 2}


def test_missing_inputs_and_none_at_all_are_errors(tmp_path):
    with pytest.raises(InvalidOptionError, match="no such file or folder"):
        BatchInputs([tmp_path / "absent"])
    with pytest.raises(InvalidOptionError, match="no inputs"):
        BatchInputs([])
    (tmp_path / "bad.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidOptionError, match="UTF-8"):
        BatchInputs([tmp_path / "bad.jsonl"]).count()
