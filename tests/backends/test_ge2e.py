"""The GE2E backend (the previous CPU default): its parts equal their reference implementations, and it
finds the right speakers on real recordings."""

from __future__ import annotations

import importlib.metadata
import sys
import types
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from audar_plugins import SpeakerCount
from audar_plugins.audio import load_audio
from audar_plugins.backends.embedded.vad import SileroVAD
from audar_plugins.backends.ge2e import GE2EBackend, GE2EOptions
from audar_plugins.backends.ge2e.clustering import cluster_embeddings
from audar_plugins.backends.ge2e.encoder import GE2EEncoder, MelSpectrogram, mel_filterbank
from audar_plugins.errors import InvalidOptionError
from audar_plugins.evaluation import diarization_error_rate
from audar_plugins.formats import read_rttm
from audar_plugins.simulation import simulate_conversation


@pytest.fixture(scope="module")
def resemblyzer():
    """resemblyzer's own encoder and mel front end, the reference for ours.

    Its package imports webrtcvad (only for silence trimming, unused here), which
    needs the removed pkg_resources: a stand-in module keeps that import from failing."""
    sys.modules.setdefault("webrtcvad", types.ModuleType("webrtcvad"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its scipy.ndimage.morphology import
        import resemblyzer

    return resemblyzer


def test_vad_equals_silero_sequence_model_for_any_push_sizes(data):
    import torch

    threads = torch.get_num_threads()
    from silero_vad.sequence_vad import SileroVADSequence

    torch.set_num_threads(threads)  # importing silero_vad sets torch to one thread for the whole process

    waveform = load_audio(data / "ami-train/trn00.flac")
    model = importlib.metadata.distribution("silero-vad").locate_file("silero_vad/data/silero_vad_16k_sequence.onnx")
    expected = SileroVADSequence(str(model)).audio_forward(waveform)
    vad = SileroVAD()
    np.testing.assert_array_equal(vad(waveform), expected)

    rng = np.random.default_rng(0)
    streams = [vad.stream(), vad.stream()]  # interleaved streams keep their own state
    pieces: list[list[np.ndarray]] = [[], []]
    positions = [0, 0]
    while min(positions) < waveform.size:
        k = int(rng.integers(2))
        size = int(rng.integers(1, 12000))
        pieces[k].append(streams[k].push(waveform[positions[k] : positions[k] + size]))
        positions[k] += size
    for k in range(2):
        pieces[k].append(streams[k].flush())
        np.testing.assert_array_equal(np.concatenate(pieces[k]), expected)


def test_mel_front_end_equals_librosa(data, resemblyzer):
    import librosa

    np.testing.assert_allclose(mel_filterbank(), librosa.filters.mel(sr=16000, n_fft=400, n_mels=40), atol=1e-8)
    waveform = load_audio(data / "moonshine/beckett.wav")
    ours = MelSpectrogram()(waveform, block_frames=257)  # several blocks
    expected = resemblyzer.wav_to_mel_spectrogram(waveform)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-6 * expected.max())


def test_encoder_equals_resemblyzer_voice_encoder(data, resemblyzer):
    import torch

    mel = resemblyzer.wav_to_mel_spectrogram(load_audio(data / "librispeech/1688/1688-142285-0000.flac"))
    windows = np.stack([mel[i : i + 160] for i in range(0, 1200, 150)])
    expected = resemblyzer.VoiceEncoder(device="cpu", verbose=False)(torch.from_numpy(windows)).detach().numpy()
    np.testing.assert_allclose(GE2EEncoder()(windows, batch_size=3), expected, atol=1e-5)


def test_clustering_honours_bounds_and_numbers_by_first_appearance():
    rng = np.random.default_rng(0)
    centres = np.eye(4, 16) * 3
    points = np.concatenate([centres[k] + rng.normal(0, 0.3, (30, 16)) for k in (2, 0, 3, 1)])
    labels = cluster_embeddings(points, threshold=0.5)
    assert list(labels[::30]) == [0, 1, 2, 3] and all(np.unique(labels[k * 30 : (k + 1) * 30]).size == 1 for k in range(4))
    assert np.unique(cluster_embeddings(points, threshold=0.5, max_clusters=2)).size == 2
    assert np.unique(cluster_embeddings(points, threshold=1.9, min_clusters=3)).size == 3
    # tiny clusters join large ones unless the bounds ask for them
    outliers = np.concatenate([points, centres[2][None] * -1 + 5])
    assert np.unique(cluster_embeddings(outliers, threshold=0.5, min_size=5)).size == 4
    # reduction path for long inputs gives the same partition
    reduced = cluster_embeddings(points, threshold=0.5, max_points=40)
    np.testing.assert_array_equal(reduced, labels)


def score(reference, annotation, uem=None):
    uri = annotation.uri
    report = diarization_error_rate({uri: reference}, {uri: annotation}, {uri: uem} if uem else None, collar=0.25)
    return report.total.der


def test_falcon_three_speakers(data, ge2e):
    activity = ge2e.diarize(data / "falcon/test.wav")
    annotation = activity.to_annotation(ge2e.binarization, uri="test")
    assert activity.num_speakers == 3
    assert activity.embeddings.shape == (3, 256)
    assert score(read_rttm(data / "falcon/test.rttm")["test"], annotation) <= 0.05


@pytest.fixture(scope="module")
def conversation(data):
    recordings = {
        speaker: [load_audio(path) for path in sorted((data / "librispeech" / speaker).glob("*.flac"))[:3]]
        for speaker in ("1998", "2033", "2609")
    }
    return simulate_conversation(recordings, seed=3, uri="conversation")


def test_conversation_speakers_found_and_constraints_honoured(ge2e, conversation):
    waveform, reference = conversation
    activity = ge2e.diarize(waveform)
    assert activity.num_speakers == 3
    assert score(reference, activity.to_annotation(ge2e.binarization, uri="conversation")) <= 0.06
    assert ge2e.diarize(waveform, SpeakerCount(num_speakers=2)).num_speakers == 2
    assert ge2e.diarize(waveform, SpeakerCount(min_speakers=4)).num_speakers == 4
    assert ge2e.diarize(waveform, SpeakerCount(max_speakers=1)).num_speakers == 1


def test_one_backend_serves_concurrent_calls(data, ge2e):
    recordings = [load_audio(data / "falcon/test.wav"), load_audio(data / "moonshine/endgame_nagg_nell.wav")]
    sequential = [ge2e.diarize(r).probabilities for r in recordings]
    with ThreadPoolExecutor(2) as pool:
        concurrent = list(pool.map(lambda r: ge2e.diarize(r).probabilities, recordings * 2))
    for index, probabilities in enumerate(concurrent):
        np.testing.assert_allclose(probabilities, sequential[index % 2], atol=1e-5)


def test_progress_reports_rise_to_the_total(ge2e, conversation):
    waveform, _ = conversation
    reports = []
    ge2e.diarize(waveform[: 30 * 16000], progress=lambda done, total: reports.append((done, total)))
    assert reports[-1] == (30.0, 30.0)
    assert all(b[0] >= a[0] for a, b in zip(reports, reports[1:])) and len(reports) >= 3


def test_silence_and_tiny_inputs(ge2e):
    silent = ge2e.diarize(np.zeros(5 * 16000, dtype=np.float32))
    assert silent.num_speakers == 0 and silent.to_annotation().labels() == []
    blip = np.random.default_rng(0).normal(0, 0.1, 800).astype(np.float32)  # 50 ms
    assert ge2e.diarize(blip).num_frames == 6


@pytest.mark.parametrize("field, value", [("window", 0.1), ("step", 5.0), ("threshold", 0.0), ("vad_onset", 2.0),
                                          ("temperature", 0.0), ("min_silence", -1.0)])
def test_invalid_options(field, value):
    with pytest.raises(InvalidOptionError, match=field):
        GE2EOptions(**{field: value})


def test_the_speaker_encoder_follows_the_device():
    import torch

    backend = GE2EBackend(device=torch.device("cpu"))
    assert backend.to(torch.device("meta")) is backend
    assert {p.device.type for p in backend._encoder._lstm.parameters()} == {"meta"}
    with pytest.raises(InvalidOptionError, match="not a torch device"):
        GE2EBackend(device="gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidOptionError, match="asks for CUDA"):
            GE2EBackend(device="cuda")
