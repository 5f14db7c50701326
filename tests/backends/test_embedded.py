"""The CPU default backend (segmentation-3.0, CAM++, Silero VAD) as callers meet it: speaker counts,
threads, progress, devices, live sessions and bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("torch")

from audar_plugins.activity import SpeakerActivity  # noqa: E402
from audar_plugins.audio import load_audio  # noqa: E402
from audar_plugins.backends.base import SpeakerCount, StreamingBackend, StreamingSession  # noqa: E402
from audar_plugins.backends.embedded import EmbeddedBackend, EmbeddedOptions, OfflineSettings  # noqa: E402
from audar_plugins.errors import InvalidAudioError, InvalidOptionError, SnapshotError  # noqa: E402
from audar_plugins.evaluation import diarization_error_rate  # noqa: E402
from audar_plugins.formats.diarization import read_rttm  # noqa: E402
from audar_plugins.simulation import simulate_conversation  # noqa: E402


@pytest.fixture(scope="module")
def conversation(data):
    """Three LibriSpeech readers taking turns, some overlapping, 75 s."""
    recordings = {
        speaker: [load_audio(path) for path in sorted((data / "librispeech" / speaker).glob("*.flac"))[:3]]
        for speaker in ("1998", "2033", "2609")
    }
    return simulate_conversation(recordings, seed=3, uri="conversation")


def der(reference, activity: SpeakerActivity, binarization, uri: str) -> float:
    hypothesis = activity.to_annotation(binarization, uri=uri)
    return diarization_error_rate({uri: reference}, {uri: hypothesis}, collar=0.25).total.der


def test_falcon_speakers_come_in_order_of_arrival(data, embedded):
    activity = embedded.diarize(data / "falcon" / "test.wav")
    annotation = activity.to_annotation(embedded.binarization, uri="test")
    assert activity.num_speakers == 3 and activity.embeddings.shape == (3, 192)
    assert [label for _, _, label in annotation.itertracks(yield_label=True)] == list(activity.labels)
    assert der(read_rttm(data / "falcon" / "test.rttm")["test"], activity, embedded.binarization, "test") <= 0.01


def test_a_conversation_has_its_speakers_and_the_count_constraints_are_honoured(embedded, conversation):
    waveform, reference = conversation
    activity = embedded.diarize(waveform)
    assert activity.num_speakers == 3
    assert der(reference, activity, embedded.binarization, "conversation") <= 0.03
    assert embedded.diarize(waveform, SpeakerCount(num_speakers=2)).num_speakers == 2
    assert embedded.diarize(waveform, SpeakerCount(min_speakers=4)).num_speakers == 4
    assert embedded.diarize(waveform, SpeakerCount(max_speakers=1)).num_speakers == 1


def test_one_backend_serves_concurrent_calls(data, embedded):
    recordings = [load_audio(data / "falcon" / "test.wav"), load_audio(data / "moonshine" / "endgame_nagg_nell.wav")]
    sequential = [embedded.diarize(r).probabilities for r in recordings]
    with ThreadPoolExecutor(2) as pool:
        concurrent = list(pool.map(lambda r: embedded.diarize(r).probabilities, recordings * 2))
    for index, probabilities in enumerate(concurrent):
        np.testing.assert_array_equal(probabilities, sequential[index % 2])


def test_progress_reports_rise_to_the_total(embedded, conversation):
    waveform, _ = conversation
    reports: list[tuple[float, float]] = []
    embedded.diarize(waveform[: 30 * 16000], progress=lambda done, total: reports.append((done, total)))
    assert reports[0] == (0.0, 30.0) and reports[-1] == (30.0, 30.0) and len(reports) >= 3
    assert all(b[0] >= a[0] for a, b in zip(reports, reports[1:]))


def test_silence_and_inputs_shorter_than_a_window(embedded, data):
    silent = embedded.diarize(np.zeros(5 * 16000, dtype=np.float32))
    assert silent.num_speakers == 0 and silent.to_annotation().labels() == []
    blip = np.random.default_rng(0).normal(0, 0.1, 800).astype(np.float32)  # 50 ms
    assert embedded.diarize(blip).to_annotation().labels() == []
    short = load_audio(data / "falcon" / "test.wav")[: 4 * 16000]  # the first speaker's first words
    assert embedded.diarize(short).num_speakers == 1


def test_channels_and_rates_give_the_mono_16k_result(embedded, data):
    mono = load_audio(data / "falcon" / "test.wav")
    expected = embedded.diarize(mono)
    stereo = embedded.diarize(np.stack([mono, mono]))
    np.testing.assert_array_equal(stereo.probabilities, expected.probabilities)
    import soxr

    at_8k = embedded.diarize(soxr.resample(mono, 16_000, 8_000), SpeakerCount())  # an array is 16 kHz unless told
    assert at_8k.num_frames < expected.num_frames
    resampled = embedded.diarize({"waveform": soxr.resample(mono, 16_000, 8_000)[None], "sample_rate": 8_000})
    reference = read_rttm(data / "falcon" / "test.rttm")["test"]
    assert resampled.num_speakers == 3 and der(reference, resampled, embedded.binarization, "test") <= 0.02


def test_nan_audio_is_refused_by_name(embedded):
    audio = np.zeros(16_000 * 3, dtype=np.float32)
    audio[20_000] = np.nan
    with pytest.raises(InvalidAudioError, match="NaN"):
        embedded.diarize(audio)


def test_bad_options_and_devices_are_refused():
    with pytest.raises(InvalidOptionError, match="EmbeddedOptions"):
        EmbeddedBackend(options={"step": 1.0})  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="not a torch device"):
        EmbeddedBackend(device="gpu-please")
    with pytest.raises(InvalidOptionError, match="fine_hop must be at least one model frame"):
        OfflineSettings(fine_hop=0.0)
    with pytest.raises(InvalidOptionError, match="hop must be at least one model frame"):
        OfflineSettings(hop=0.001)
    with pytest.raises(InvalidOptionError, match="fine_piece must be 0"):
        OfflineSettings(fine_piece=-1.0)
    assert OfflineSettings(fine_piece=0.0, fine_hop=0.0).fine_piece == 0.0  # no finer pieces: no hop needed


def test_the_models_follow_the_device(embedded):
    import torch

    backend = EmbeddedBackend()
    assert backend.to(torch.device("meta")) is backend
    assert {p.device.type for p in backend.models.segmentation.model.parameters()} == {"meta"}
    assert {p.device.type for p in backend.models.encoder.model.parameters()} == {"meta"}


def test_live_sessions_have_the_streaming_interface(embedded, data):
    assert isinstance(embedded, StreamingBackend)
    session = embedded.open_session(speakers=SpeakerCount(max_speakers=2))
    assert isinstance(session, StreamingSession)
    falcon = load_audio(data / "falcon" / "test.wav")
    capped = SpeakerActivity.concatenate([session.push(falcon), session.flush()])
    assert capped.num_speakers == 2
    with pytest.raises(InvalidOptionError, match="no latency presets"):
        embedded.open_session("nv-0.32s")


def test_a_session_restores_on_another_backend_instance(embedded, data):
    falcon = load_audio(data / "falcon" / "test.wav")
    whole = embedded.open_session()
    expected = SpeakerActivity.concatenate([whole.push(falcon), whole.flush()])
    first = embedded.open_session()
    head = first.push(falcon[:100_000])
    other = EmbeddedBackend(EmbeddedOptions())
    resumed = other.restore_session(first.snapshot())
    joined = SpeakerActivity.concatenate([head, resumed.push(falcon[100_000:]), resumed.flush()])
    np.testing.assert_array_equal(joined.probabilities, expected.probabilities)


def test_snapshots_of_other_backends_are_refused(embedded, ge2e):
    with pytest.raises(SnapshotError):
        embedded.restore_session(ge2e.open_session().snapshot())
    with pytest.raises(SnapshotError):
        embedded.restore_session(b"not a snapshot")
