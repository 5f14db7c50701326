"""Training data: manifests NeMo's own data loader reads as our references say, and clear errors for bad ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from pyannote.core import Annotation, Segment

from audar_plugins.batch import load_references
from audar_plugins.cli import main
from audar_plugins.errors import InvalidOptionError, TrainingDataError
from audar_plugins.simulation import ConversationOptions, RoomOptions, frame_energy_db, overlap_ratio
from audar_plugins.training.manifests import (
    ManifestEntry,
    check_manifest,
    pair_recordings,
    read_manifest,
    slice_recordings,
    write_manifest,
)
from audar_plugins.training.synthetic import CorpusOptions, find_speakers, simulate_corpus


@pytest.fixture(scope="module")
def ami(data, tmp_path_factory):
    """The AMI clips sliced into 10 s segments."""
    folder = data / "ami-train"
    references = load_references(folder / "reference.rttm")
    audio = pair_recordings(sorted(folder.glob("*.flac")), references)
    out = tmp_path_factory.mktemp("ami")
    entries = slice_recordings(audio, references, out / "rttm", segment=10.0)
    write_manifest(entries, out / "train.json")
    return out / "train.json", entries, references


def nemo_targets(model, manifest: Path, segment: float = 90.0):
    """NeMo's own dataset, as audar finetune builds it: (targets, lengths) per entry."""
    from omegaconf import OmegaConf

    model.setup_validation_data(OmegaConf.create({
        "manifest_filepath": str(manifest), "sample_rate": 16000, "num_spks": 4, "session_len_sec": segment,
        "soft_label_thres": 0.5, "soft_targets": False, "batch_size": 1, "num_workers": 0}))
    dataset = model._validation_dl.dataset
    return [dataset[index][2:] for index in range(len(dataset))]


@pytest.fixture(scope="module")
def tiny_model(tiny_sortformer):
    from audar_plugins.backends.sortformer.checkpoint import load_sortformer

    return load_sortformer(tiny_sortformer)


def test_slices_cover_each_recording_and_count_its_speakers(ami):
    _, entries, references = ami
    assert len(entries) == 30  # ten 30 s clips, three 10 s segments each
    for entry in entries:
        window = Segment(entry.offset, entry.offset + entry.duration)
        assert entry.duration == pytest.approx(10.0)
        assert entry.num_speakers == len(references[entry.uri].crop(window).labels())
    assert max(entry.num_speakers for entry in entries) == 4


def test_nemos_data_loader_reads_the_sliced_references(ami, tiny_model):
    manifest, entries, references = ami
    for entry, (targets, length) in zip(entries, nemo_targets(tiny_model, manifest, segment=10.0)):
        targets = targets[: int(length)].numpy()
        window = Segment(entry.offset, entry.offset + entry.duration)
        cropped = references[entry.uri].crop(window)
        assert int((targets.sum(axis=0) > 0).sum()) == entry.num_speakers
        # NeMo's frames are 80 ms, thresholded at half a frame: speech time agrees to a few frames per turn
        nemo_speech = targets.sum() * 0.08
        reference_speech = sum(cropped.label_duration(label) for label in cropped.labels())
        assert nemo_speech == pytest.approx(reference_speech, abs=0.08 * (1 + len(cropped)))


def test_a_corpus_of_2_to_8_speakers_has_exact_references(data, tmp_path, tiny_model):
    flat = tmp_path / "reader-1688"  # a folder of one speaker's files
    shutil.copytree(data / "librispeech" / "1688", flat)
    speakers = find_speakers([data / "librispeech", flat])
    assert sorted(speakers) == ["1688", "1998", "2033", "2414", "2609", "reader-1688"]
    assert [path.name for path in speakers["reader-1688"]] == [path.name for path in speakers["1688"]]
    speakers = find_speakers([data / "librispeech"]) | {
        path.stem: [path] for path in sorted((data / "rtvc").glob("*.mp3"))[:3]}  # 8 speakers
    summary = simulate_corpus(speakers, tmp_path / "sim", CorpusOptions(conversations=3, speakers=(8, 8),
                                                                        recordings_per_speaker=(1, 1)), seed=3)
    for entry in summary.entries:
        reference = load_references(entry.rttm_filepath)[entry.uri]
        assert entry.num_speakers == len(reference.labels()) == 8
        assert entry.duration == pytest.approx(soundfile.info(entry.audio_filepath).duration, abs=1e-3)
        assert reference.get_timeline().extent().end <= entry.duration
    write_manifest(summary.entries, tmp_path / "sim.json")
    assert check_manifest(tmp_path / "sim.json", max_speakers=8) == read_manifest(tmp_path / "sim.json")
    with pytest.raises(TrainingDataError, match="8 speakers .* the model has 4 outputs"):
        check_manifest(tmp_path / "sim.json", max_speakers=4)


def test_overlap_follows_the_chosen_probability_or_ratio(data, tmp_path):
    speakers = find_speakers([data / "librispeech"])
    ratios = []
    for probability in (0.0, 1.0):
        options = CorpusOptions(conversations=2, speakers=(3, 3), conversation=ConversationOptions(
            overlap_probability=probability, overlap=(0.5, 1.5)))
        ratios.append(simulate_corpus(speakers, tmp_path / str(probability), options).overlap_ratio)
    assert ratios[0] == 0.0
    assert ratios[1] > 0.05
    for target in (0.1, 0.2):
        options = CorpusOptions(conversations=3, speakers=(2, 4), conversation=ConversationOptions(
            overlap_ratio=target, overlap=(0.5, 2.0)))
        assert simulate_corpus(speakers, tmp_path / str(target), options, seed=7).overlap_ratio == pytest.approx(
            target, abs=0.03)


def test_a_room_adds_reverberation_and_noise_at_the_chosen_level(data, tmp_path):
    from audar_plugins.audio import load_audio
    from audar_plugins.simulation import simulate_conversation

    folder = data / "librispeech"
    recordings = {s: [load_audio(sorted((folder / s).glob("*.flac"))[0])] for s in ("1688", "2033")}
    dry, reference = simulate_conversation(recordings, seed=1)
    wet, wet_reference = simulate_conversation(recordings, seed=1, room=RoomOptions(snr_db=(15, 15)))
    assert wet_reference == reference and wet.shape == dry.shape
    speech = np.mean(wet.astype(np.float64) ** 2)
    floor = np.mean(10 ** (np.sort(frame_energy_db(wet))[:20] / 10))  # the quietest 0.4 s: noise only
    assert 10 * np.log10(speech / floor) == pytest.approx(15, abs=6)
    assert np.percentile(frame_energy_db(wet), 5) > np.percentile(frame_energy_db(dry), 5) + 20
    assert overlap_ratio(reference) < 0.2


@pytest.mark.parametrize("bad", ["missing audio", "corrupt audio", "other uri", "outside", "malformed", "empty",
                                 "missing rttm"])
def test_bad_manifests_are_refused_naming_the_entry(ami, tmp_path, bad):
    manifest, entries, _ = ami
    entry = entries[0]
    rttm = Path(entry.rttm_filepath)
    if bad == "missing audio":
        entry = ManifestEntry(str(tmp_path / "gone.wav"), 0, 10, entry.rttm_filepath, 2)
    elif bad == "corrupt audio":
        (tmp_path / "trn00.wav").write_bytes(b"RIFF\x00\x00not audio at all" * 10)
        entry = ManifestEntry(str(tmp_path / "trn00.wav"), 0, 10, entry.rttm_filepath, 2)
    elif bad == "other uri":
        shutil.copy(rttm, tmp_path / "mixed.rttm")
        with open(tmp_path / "mixed.rttm", "a") as file:
            file.write("SPEAKER trn01 1 0.5 2.0 <NA> <NA> X <NA> <NA>\n")
        entry = ManifestEntry(entry.audio_filepath, 0, 10, str(tmp_path / "mixed.rttm"), 2)
    elif bad == "outside":
        entry = ManifestEntry(entry.audio_filepath, 25, 10, entry.rttm_filepath, 2)
    elif bad == "missing rttm":
        entry = ManifestEntry(entry.audio_filepath, 0, 10, str(tmp_path / "none.rttm"), 2)
    path = tmp_path / "bad.json"
    if bad == "malformed":
        path.write_text(json.dumps({"audio_filepath": entry.audio_filepath}) + "\n")
    elif bad == "empty":
        path.write_text("\n")
    else:
        write_manifest([entry], path)
    message = {"missing audio": "no such audio file", "corrupt audio": "cannot read .* as audio",
               "other uri": "names recordings other than 'trn00'", "outside": "outside",
               "malformed": "line 1: not a diarization manifest entry", "empty": "has no entries",
               "missing rttm": "no such RTTM"}[bad]
    with pytest.raises(TrainingDataError, match=message):
        check_manifest(path, max_speakers=4)


def test_pairing_refuses_unknown_and_unreferenced_recordings(data):
    references = load_references(data / "ami-train" / "reference.rttm")
    clips = sorted((data / "ami-train").glob("*.flac"))
    with pytest.raises(TrainingDataError, match="with no audio file: trn09"):
        pair_recordings(clips[:9], references)
    with pytest.raises(TrainingDataError, match="no reference .* trn09"):
        pair_recordings(clips, {uri: a for uri, a in references.items() if uri != "trn09"})


def test_options_out_of_range_are_refused():
    with pytest.raises(InvalidOptionError):
        CorpusOptions(speakers=(2, 9))
    with pytest.raises(InvalidOptionError):
        CorpusOptions(speakers=(1, 3))
    with pytest.raises(InvalidOptionError):
        RoomOptions(rt60=(0.5, 0.1))


def test_the_command_line_writes_and_checks_manifests(data, tmp_path, capsys):
    assert main(["data", "simulate", str(data / "librispeech"), "-o", str(tmp_path / "sim"), "--conversations", "2",
                 "--num-speakers", "3", "--overlap-probability", "1", "--overlap", "0.5-1"]) == 0
    assert "2 conversations" in capsys.readouterr().out
    entries = read_manifest(tmp_path / "sim" / "manifest.json")
    assert [entry.num_speakers for entry in entries] == [3, 3]
    assert main(["data", "check", str(tmp_path / "sim" / "manifest.json"), "--speakers", "4"]) == 0
    assert main(["data", "check", str(tmp_path / "sim" / "manifest.json"), "--speakers", "2"]) == 1
    assert "3 speakers" in capsys.readouterr().err

    assert main(["data", "slice", str(data / "ami-train"), "--reference", str(data / "ami-train" / "reference.rttm"),
                 "-o", str(tmp_path / "ami.json"), "--segment", "20", "--min-segment", "10"]) == 0
    entries = read_manifest(tmp_path / "ami.json")
    assert [(entry.offset, entry.duration) for entry in entries[:2]] == [(0.0, 20.0), (20.0, 10.0)]
    assert Path(entries[0].rttm_filepath) == tmp_path / "rttm" / "trn00.rttm"
    reference = load_references(entries[0].rttm_filepath)["trn00"]
    assert isinstance(reference, Annotation) and reference == load_references(
        data / "ami-train" / "reference.rttm")["trn00"]
