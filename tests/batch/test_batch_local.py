"""``audar batch`` in one process and on the local pool: ``audar diarize``'s bytes, nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from audar_plugins.batch import BatchJob, run_batch, threads_per_worker
from audar_plugins.batch.run import available_cores
from audar_plugins.errors import InvalidOptionError

from .conftest import AUDAR, STALL_FOLDER, audar, audio_files, batch_outputs, kill_the_stalled_worker


def test_the_pool_writes_what_audar_diarize_writes_byte_for_byte(small_corpus, embedded_reference, tmp_path):
    out = tmp_path / "out"
    result = audar("batch", small_corpus, "--output", out, "--format", "rttm,json", "--format", "npz",
                   "--workers", "2", "--threads", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.rttm")) == \
        ["ami/trn00.rttm", "ami/trn03.rttm", "falcon/test.rttm"]
    assert batch_outputs(out) == embedded_reference
    assert "3 files: 3 done, 0 skipped" in result.stdout
    assert (out / "failures.jsonl").read_text() == ""


def test_a_worker_killed_mid_file_is_replaced_and_every_output_is_written_once(corpus, fake_reference, tmp_path):
    stall = tmp_path / "stall"
    stall.mkdir()
    out = tmp_path / "out"
    command = [*AUDAR, "batch", str(corpus), "--output", str(out), "--backend", "example-stall-once",
               "--workers", "2", "--threads", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, STALL_FOLDER: str(stall)}) as process:
        try:
            kill_the_stalled_worker(stall)
            stdout, stderr = process.communicate(timeout=300)
        finally:
            process.kill()
    assert process.returncode == 0, stderr
    assert batch_outputs(out) == fake_reference  # each once, whole, equal to one process's
    assert not [path for path in out.rglob("*.tmp")]
    assert (out / "failures.jsonl").read_text() == ""
    assert f"{len(fake_reference)} files: {len(fake_reference)} done" in stdout


def write_bad_files(folder):
    folder.mkdir()
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt not really audio" * 10)
    (folder / "empty.flac").write_bytes(b"")
    sf.write(folder / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(folder / "long.wav", np.zeros(16000 * 40, np.float32), 16000)


def test_bad_files_land_in_failures_jsonl_and_the_others_finish(corpus, fake_reference, tmp_path):
    bad = tmp_path / "bad"
    write_bad_files(bad)
    out = tmp_path / "out"
    below = os.path.relpath(bad, os.path.commonpath([corpus, bad]))  # outputs mirror the inputs' common folder
    for run in range(2):
        result = audar("batch", corpus, bad, "--output", out, "--backend", "example-fake", "--workers", "2",
                       "--threads", "1", "--max-duration", "35")
        assert result.returncode == 1
        failures = {os.path.relpath(row["name"], below): row
                    for row in map(json.loads, (out / "failures.jsonl").read_text().splitlines())}
        assert sorted(failures) == ["corrupt", "empty", "long"]
        assert "not audio" in failures["corrupt"]["error"] or "decode" in failures["corrupt"]["error"]
        assert "no samples" in failures["empty"]["error"] or "empty" in failures["empty"]["error"]
        assert "40.0 s long, over the limit of 35 s" in failures["long"]["error"]
        assert all(row["attempts"] == 1 for row in failures.values())  # a bad file is not retried
        assert failures["corrupt"]["path"] == str(bad / "corrupt.wav")
        done = len(fake_reference) + 1 if run == 0 else 0
        assert f"{len(fake_reference) + 4} files: {done} done, {len(fake_reference) + 1 - done} skipped" \
            in result.stdout
    outputs = batch_outputs(out)
    assert {name: outputs[name] for name in fake_reference} == fake_reference
    assert "silent.rttm" in outputs  # silence is a result, not a failure


def test_a_second_run_does_no_work_and_a_changed_option_or_file_redoes_it(corpus, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(corpus, folder, symlinks=False)
    out = tmp_path / "out"
    job = BatchJob(backend="example-fake")
    files = len(audio_files(folder))
    first = run_batch([folder], out, job)
    assert (first.done, first.skipped, first.failed) == (files, 0, 0)
    written = {path: path.stat().st_mtime_ns for path in out.rglob("*.rttm")}

    again = run_batch([folder], out, job)
    assert (again.done, again.skipped) == (0, files)
    os.utime(folder / "other" / "falcon.wav")  # touched, same content: hashed again, not redone
    touched = run_batch([folder], out, job)
    assert (touched.done, touched.skipped) == (0, files)
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*.rttm")} == written

    shutil.copy(folder / "other" / "beckett.wav", folder / "other" / "falcon.wav")  # new content
    changed = run_batch([folder], out, job)
    assert (changed.done, changed.skipped) == (1, files - 1)
    assert (out / "other" / "falcon.rttm").stat().st_mtime_ns != written[out / "other" / "falcon.rttm"]

    assert run_batch([folder], out, BatchJob(backend="example-fake", speakers={"num_speakers": 3})).done == files
    assert run_batch([folder], out, BatchJob(backend="example-fake", speakers={"num_speakers": 3},
                                             postprocessing={"onset": 0.6})).done == files
    more_formats = BatchJob(backend="example-fake", speakers={"num_speakers": 3}, postprocessing={"onset": 0.6},
                            formats=("rttm", "json"))
    assert run_batch([folder], out, more_formats).done == files
    assert run_batch([folder], out, more_formats).done == 0
    (out / "ami" / "trn04.json").unlink()  # an output lost: that file is redone
    assert run_batch([folder], out, more_formats).done == 1


def test_a_moved_corpus_is_hashed_again_not_redone(corpus, tmp_path):
    shutil.copytree(corpus, tmp_path / "in", symlinks=False)
    job = BatchJob(backend="example-fake")
    files = len(audio_files(corpus))
    assert run_batch([tmp_path / "in"], tmp_path / "out", job).done == files
    (tmp_path / "in").rename(tmp_path / "moved")
    moved = run_batch([tmp_path / "moved"], tmp_path / "out", job)
    assert (moved.done, moved.skipped) == (0, files)
    record = json.loads((tmp_path / "out" / ".audar-batch" / "other" / "falcon.json").read_text())
    assert record["path"] == str(tmp_path / "moved" / "other" / "falcon.wav")


def test_a_file_that_fails_under_new_options_keeps_no_old_outputs(corpus, tmp_path):
    out = tmp_path / "out"
    files = len(audio_files(corpus))
    assert run_batch([corpus], out, BatchJob(backend="example-fake")).done == files
    failed = run_batch([corpus], out, BatchJob(backend="example-crashing"), retries=0)
    assert failed.failed == files
    assert not list(out.rglob("*.rttm")) and not list((out / ".audar-batch").rglob("*.json"))


def test_outputs_half_replaced_are_not_taken_for_complete(corpus, tmp_path, monkeypatch):
    from audar_plugins.batch import outputs

    out = tmp_path / "out"
    job = BatchJob(backend="example-fake", formats=("rttm", "json"))
    assert run_batch([corpus / "other"], out, job).done == 3
    writes = []

    def failing_second_write(path, content):
        writes.append(path)
        if len(writes) == 2:
            raise KeyboardInterrupt  # the run is stopped between two outputs of a file
        real_write(path, content)

    real_write = outputs.write_atomically
    monkeypatch.setattr(outputs, "write_atomically", failing_second_write)
    with pytest.raises(KeyboardInterrupt):
        run_batch([corpus / "other"], out, BatchJob(backend="example-fake", formats=("rttm", "json"),
                                                     speakers={"num_speakers": 3}))
    monkeypatch.setattr(outputs, "write_atomically", real_write)
    # back to the first options: the file stopped half-way must be redone, not skipped
    assert run_batch([corpus / "other"], out, job).done == 1


def test_a_worker_that_dies_on_every_file_is_retried_a_bounded_number_of_times(corpus, tmp_path):
    out = tmp_path / "out"
    result = audar("batch", corpus / "other", "--output", out, "--backend", "example-exiting", "--workers", "2",
                   "--threads", "1", "--retries", "1")
    assert result.returncode == 1
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert sorted(row["name"] for row in failures) == ["beckett", "endgame_nagg_nell", "falcon"]
    assert all(row["attempts"] == 2 and "the worker ended" in row["error"] for row in failures)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_worker_that_cannot_start_stops_the_batch_with_a_clear_error(corpus, tmp_path, workers):
    result = audar("batch", corpus, "--output", tmp_path / "out", "--backend", "example-broken", "--workers", workers,
                   "--threads", "1")
    assert result.returncode == 1
    assert "backend 'example-broken'" in result.stderr and "failed to import" in result.stderr
    assert "Traceback" not in result.stderr


def test_manifest_uris_and_speaker_counts_reach_the_outputs(corpus, tmp_path):
    manifest = tmp_path / "m.csv"
    falcon, beckett = corpus / "other" / "falcon.wav", corpus / "other" / "beckett.wav"
    manifest.write_text(f"path,uri,max_speakers\n{falcon},meeting 7,4\n{beckett},,\n")
    out = tmp_path / "out"
    assert run_batch([manifest], out, BatchJob(backend="example-fake", speakers={"num_speakers": 3})).done == 2
    falcon_turns = [line.split() for line in (out / "falcon.rttm").read_text().splitlines()]
    beckett_turns = [line.split() for line in (out / "beckett.rttm").read_text().splitlines()]
    assert {turn[1] for turn in falcon_turns} == {"meeting_7"} and {turn[1] for turn in beckett_turns} == {"beckett"}
    # the row's max_speakers replaces --num-speakers 3 (the fake then takes its own 2); the other row keeps 3
    assert len({turn[7] for turn in falcon_turns}) == 2 and len({turn[7] for turn in beckett_turns}) == 3
    manifest.write_text(f"path,uri,max_speakers\n{falcon},meeting 7,3\n{beckett},,\n")
    assert run_batch([manifest], out, BatchJob(backend="example-fake", speakers={"num_speakers": 3})).done == 1


def test_a_crashing_worker_is_retried_then_recorded(corpus, tmp_path):
    out = tmp_path / "out"
    files = len(audio_files(corpus))
    summary = run_batch([corpus], out, BatchJob(backend="example-crashing"), retries=1)
    assert (summary.done, summary.failed, summary.retries) == (0, files, files)
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert len(failures) == files
    assert all(row["attempts"] == 2 and row["error"] == "RuntimeError: a bug in the backend" for row in failures)


def test_transcripts_equal_audar_transcribe(data, tmp_path):
    files = [data / "falcon" / "test.wav", data / "moonshine" / "beckett.wav"]
    expected = {}
    for format in ("json", "srt"):
        target = tmp_path / format
        target.mkdir()
        result = audar("transcribe", *files, "--format", format, "--output", target)
        assert result.returncode == 0, result.stderr
        expected.update({path.name: path.read_bytes() for path in target.iterdir()})
    out = tmp_path / "out"
    result = audar("batch", *files, "--asr", "--format", "json,srt", "--output", out, "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert batch_outputs(out) == expected
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.srt")) == ["falcon/test.srt",
                                                                                 "moonshine/beckett.srt"]


def test_known_speakers_name_the_speakers_as_audar_diarize_does(data, tmp_path):
    from ..conftest import librispeech_clip, librispeech_conversation

    readers = ("1688", "2033")
    waveform, _ = librispeech_conversation(data, readers, seed=3, uri="conversation", first=1)
    audio = tmp_path / "conversation.wav"
    sf.write(audio, waveform, 16000)
    speakers = [f"--speaker=reader{r}={librispeech_clip(data, r)}" for r in readers]
    expected = audar("diarize", audio, *speakers)
    assert expected.returncode == 0, expected.stderr
    result = audar("batch", audio, "--output", tmp_path / "out", *speakers)
    assert result.returncode == 0, result.stderr
    named = (tmp_path / "out" / "conversation.rttm").read_text()
    assert named == expected.stdout
    assert "reader1688" in named and "reader2033" in named
    record = json.loads((tmp_path / "out" / ".audar-batch" / "conversation.json").read_text())
    assert sorted(match["name"] for match in record["speakers"]) == ["reader1688", "reader2033"]


def test_progress_bar_counts_files_and_hours(corpus, tmp_path):
    result = audar("batch", corpus, "--output", tmp_path / "out", "--backend", "example-fake", "--progress")
    files = len(audio_files(corpus))
    assert result.returncode == 0, result.stderr
    assert f"{files}/{files}" in result.stderr and "h audio, 0 failed" in result.stderr


@pytest.mark.parametrize("arguments, message", [
    (["--format", "srt"], "format 'srt' is not one for diarization"),
    (["--asr", "--format", "npz"], "format 'npz' is not one for transcripts"),
    (["--language", "en"], "--language is for transcription: add --asr"),
    (["--workers", str(available_cores() + 1)], "add --oversubscribe"),
    (["--workers", "2", "--threads", str(available_cores())], "add --oversubscribe"),
    (["--retries", "-1"], "retries must be >= 0"),
    (["--workers", "0"], "workers must be >= 1"),
    (["--num-speakers", "0"], "num_speakers must be a positive integer"),
    (["--asr", "--onset", "0.6"], "drop onset"),
    (["--backend", "no-such-backend"], "no backend named 'no-such-backend'"),
])
def test_bad_options_are_clear_errors(corpus, tmp_path, arguments, message):
    result = audar("batch", corpus, "--output", tmp_path / "out", *arguments)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_missing_input_is_a_clear_error(tmp_path):
    result = audar("batch", tmp_path / "absent.wav", "--output", tmp_path / "out")
    assert result.returncode == 1 and "no such file or folder" in result.stderr and "Traceback" not in result.stderr


def test_threads_share_out_the_cores_and_refuse_oversubscription():
    cores = available_cores()
    assert threads_per_worker(1, None) == cores
    assert threads_per_worker(cores, None) == 1
    assert threads_per_worker(2 * cores, None, oversubscribe=True) == 1
    assert threads_per_worker(2, 3, oversubscribe=True) == 3
    with pytest.raises(InvalidOptionError, match="oversubscribe"):
        threads_per_worker(1, cores + 1)
    with pytest.raises(InvalidOptionError, match="threads must be >= 1"):
        threads_per_worker(1, 0)


def test_the_driver_reads_a_manifest_no_further_than_the_workers_can_take(data, tmp_path, monkeypatch):
    from audar_plugins.batch import inputs

    clips = tmp_path / "clips"
    clips.mkdir()
    rows = 2000
    for index in range(rows):
        (clips / f"{index:05d}.flac").symlink_to(data / "cmu-arctic" / sorted(os.listdir(data / "cmu-arctic"))[0])
    manifest = tmp_path / "m.csv"
    manifest.write_text("path\n" + "".join(f"clips/{index:05d}.flac\n" for index in range(rows)))
    read = []
    reader = inputs._manifest_rows

    def counted(path):
        read.append(0)  # a new pass over the manifest
        for row in reader(path):
            read[-1] += 1
            yield row

    monkeypatch.setattr(inputs, "_manifest_rows", counted)
    ahead = []
    summary = run_batch([manifest], tmp_path / "out", BatchJob(backend="example-fake"),
                        progress=lambda so_far: ahead.append(read[-1] - so_far.finished))
    assert summary.done == rows
    assert max(ahead) <= 2  # the file being finished and the one submitted: never the whole list
