"""audio.load_audio: every accepted input form, and a typed error for every bad one."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import soxr

from audar_plugins.audio import SAMPLE_RATE, load_audio
from audar_plugins.errors import (
    AudarError,
    AudioDecodeError,
    AudioError,
    AudioNotFoundError,
    EmptyAudioError,
    InvalidAudioError,
    UnsupportedAudioTypeError,
)


def reference_decode(path) -> np.ndarray:
    """soundfile + channel mean + one-shot soxr: what load_audio must equal."""
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1, dtype=np.float32)
    return mono if rate == SAMPLE_RATE else soxr.resample(mono, rate, SAMPLE_RATE)


@pytest.mark.parametrize(
    "relative",
    [
        "falcon/test.wav",  # 16 kHz wav
        "ami-train/trn00.flac",  # 16 kHz flac
        "faster-whisper/jfk.flac",  # 44.1 kHz stereo 24-bit flac
        "moonshine/two_cities.flac",  # 48 kHz
        "moonshine/endgame_nagg_nell.wav",  # 24 kHz
        "faster-whisper/stereo_diarization.wav",  # stereo, downmixed
        "rtvc/1320_00000.mp3",  # mp3
    ],
)
def test_files_decode_downmix_and_resample_like_soxr(data, relative):
    decoded = load_audio(data / relative)
    expected = reference_decode(data / relative)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    assert decoded.shape == expected.shape
    np.testing.assert_allclose(decoded, expected, atol=1e-6)


def test_ogg_vorbis_and_opus(data, tmp_path):
    source = load_audio(data / "falcon/test.wav")
    for subtype in ("VORBIS", "OPUS"):
        path = tmp_path / f"clip-{subtype}.ogg"
        sf.write(path, source, SAMPLE_RATE, format="OGG", subtype=subtype)
        decoded = load_audio(path)
        assert abs(decoded.size - source.size) <= 0.01 * SAMPLE_RATE
        n = min(decoded.size, source.size)
        assert np.corrcoef(decoded[:n], source[:n])[0, 1] > 0.95  # lossy codecs


def test_file_objects_bytes_and_paths_agree(data):
    path = data / "faster-whisper/jfk.flac"
    from_path = load_audio(str(path))
    np.testing.assert_array_equal(load_audio(path), from_path)
    with open(path, "rb") as file:
        np.testing.assert_array_equal(load_audio(file), from_path)
    np.testing.assert_array_equal(load_audio(path.read_bytes()), from_path)


class _Pipe(io.RawIOBase):
    """A non-seekable binary stream, like a pipe or a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_non_seekable_stream(data):
    path = data / "falcon/test.wav"
    np.testing.assert_array_equal(load_audio(_Pipe(path.read_bytes())), load_audio(path))


def test_arrays_tensors_and_pyannote_mappings(data):
    import torch

    stereo, rate = sf.read(data / "faster-whisper/jfk.flac", dtype="float32", always_2d=True)
    channel_first = np.ascontiguousarray(stereo.T)
    expected = load_audio(data / "faster-whisper/jfk.flac")
    np.testing.assert_allclose(load_audio(channel_first, sample_rate=rate), expected, atol=1e-6)
    np.testing.assert_allclose(load_audio(torch.from_numpy(channel_first), sample_rate=rate), expected, atol=1e-6)
    mapping = {"waveform": torch.from_numpy(channel_first), "sample_rate": rate, "uri": "jfk"}
    np.testing.assert_allclose(load_audio(mapping), expected, atol=1e-6)
    np.testing.assert_array_equal(load_audio({"audio": str(data / "faster-whisper/jfk.flac")}), load_audio(data / "faster-whisper/jfk.flac"))

    # "channel" selects one channel (0-based) instead of the downmix
    left = soxr.resample(stereo[:, 0], rate, SAMPLE_RATE)
    np.testing.assert_allclose(load_audio({"waveform": channel_first, "sample_rate": rate, "channel": 0}), left, atol=1e-6)
    np.testing.assert_allclose(
        load_audio({"audio": data / "faster-whisper/jfk.flac", "channel": 0}), left, atol=1e-6
    )


def test_1d_arrays_default_to_16k_and_integers_are_scaled():
    rng = np.random.default_rng(0)
    floats = rng.uniform(-0.5, 0.5, SAMPLE_RATE).astype(np.float32)
    np.testing.assert_array_equal(load_audio(floats), floats)
    as_int16 = np.round(floats * 32768).astype(np.int16)
    np.testing.assert_allclose(load_audio(as_int16), as_int16 / 32768, atol=1e-7)
    as_uint8 = (np.round(floats * 128) + 128).astype(np.uint8)
    np.testing.assert_allclose(load_audio(as_uint8), (as_uint8.astype(float) - 128) / 128, atol=1e-7)
    np.testing.assert_allclose(load_audio(floats.astype(np.float64)), floats)


def test_long_inputs_are_resampled_in_blocks_like_one_shot_soxr():
    rng = np.random.default_rng(1)
    rate = 44_100
    signal = rng.normal(0, 0.1, int(rate * 25.3)).astype(np.float32)  # several decoding blocks
    np.testing.assert_allclose(load_audio(signal, sample_rate=rate), soxr.resample(signal, rate, SAMPLE_RATE), atol=1e-6)


def test_silence_is_valid_audio():
    assert not load_audio(np.zeros(SAMPLE_RATE, dtype=np.float32)).any()


# --- bad input: one typed error each, all from the AudarError family -----------------------------


def test_missing_file(tmp_path):
    with pytest.raises(AudioNotFoundError, match="no such audio file"):
        load_audio(tmp_path / "absent.wav")
    with pytest.raises(FileNotFoundError):  # still a built-in FileNotFoundError
        load_audio(str(tmp_path / "absent.wav"))


def test_not_audio(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all " * 20)
    with pytest.raises(AudioDecodeError, match="cannot decode"):
        load_audio(text)
    with pytest.raises(AudioDecodeError, match="directory"):
        load_audio(tmp_path)
    with pytest.raises(AudioDecodeError):
        load_audio(b"\x00\x01garbage" * 100)


def test_corrupt_compressed_file(data):
    flac = (data / "ami-train/trn00.flac").read_bytes()
    with pytest.raises(AudioDecodeError, match="corrupt"):
        load_audio(flac[: len(flac) // 2])
    mp3 = (data / "rtvc/1320_00000.mp3").read_bytes()
    with pytest.raises(AudioDecodeError):
        load_audio(mp3[: len(mp3) // 2])


def test_empty_audio(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(EmptyAudioError):
        load_audio(path)
    with pytest.raises(EmptyAudioError):
        load_audio(np.zeros(0, dtype=np.float32))
    with pytest.raises(EmptyAudioError):
        load_audio({"waveform": np.zeros((1, 0), dtype=np.float32), "sample_rate": 16000})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(bad):
    samples = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    samples[2 * SAMPLE_RATE + 5] = bad
    with pytest.raises(InvalidAudioError, match=r"NaN or infinite samples \(first at 2.000 s\)"):
        load_audio(samples)


@pytest.mark.parametrize("rate", [0, -16000, 16000.5, float("nan"), 10**7, 100, True, "16000", None])
def test_nonsense_sample_rates(rate):
    samples = np.zeros(1000, dtype=np.float32)
    with pytest.raises(InvalidAudioError, match="sample_rate"):
        load_audio({"waveform": samples[np.newaxis], "sample_rate": rate})
    if rate is not None:
        with pytest.raises(InvalidAudioError):
            load_audio(samples, sample_rate=rate)


def test_sample_rate_that_contradicts_a_file(data):
    with pytest.raises(InvalidAudioError, match="disagrees"):
        load_audio(data / "falcon/test.wav", sample_rate=44100)


def test_bad_shapes_and_channels():
    with pytest.raises(InvalidAudioError, match=r"transpose"):
        load_audio(np.zeros((48000, 2), dtype=np.float32))
    with pytest.raises(InvalidAudioError, match=r"\(channel, time\)"):
        load_audio(np.zeros((1, 2, 1000), dtype=np.float32))
    with pytest.raises(InvalidAudioError, match="channel 3"):
        load_audio({"waveform": np.zeros((2, 1000), dtype=np.float32), "sample_rate": 16000, "channel": 3})
    with pytest.raises(InvalidAudioError, match="sample_rate"):
        load_audio({"waveform": np.zeros((2, 1000), dtype=np.float32)})
    with pytest.raises(InvalidAudioError, match="'audio' or a 'waveform'"):
        load_audio({"uri": "nothing"})


def test_many_channels_are_downmixed():
    rng = np.random.default_rng(2)
    many = rng.uniform(-0.1, 0.1, (32, 8000)).astype(np.float32)
    np.testing.assert_allclose(load_audio(many), many.mean(axis=0), atol=1e-7)


@pytest.mark.parametrize("thing", [[0.0, 0.1], 42, None, object(), np.zeros(10, dtype=complex), np.array(["a", "b"])])
def test_unsupported_types(thing):
    with pytest.raises(UnsupportedAudioTypeError):
        load_audio(thing)


def test_text_mode_file_is_refused(data):
    with open(data / "falcon/test.rttm") as text_file, pytest.raises(UnsupportedAudioTypeError, match="binary"):
        load_audio(text_file)


def test_errors_share_one_family():
    for error in (AudioNotFoundError, AudioDecodeError, EmptyAudioError, InvalidAudioError, UnsupportedAudioTypeError):
        assert issubclass(error, AudioError) and issubclass(error, AudarError)
