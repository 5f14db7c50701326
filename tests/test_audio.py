"""audio.load_audio: every accepted input form, and a typed error for every bad one."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
import soxr

from audar_plugins.audio import SAMPLE_RATE, load_audio
from audar_plugins.errors import AudioTooLongError
from audar_plugins.errors import (
    AudarError,
    AudioDecodeError,
    AudioError,
    AudioNotFoundError,
    EmptyAudioError,
    InvalidAudioError,
    InvalidOptionError,
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


# --- headers that do not tell the length, and a bound on decoding ------------------------------


def with_total_samples(flac: bytes, total: int) -> bytes:
    """``flac`` with STREAMINFO's 36-bit total samples set to ``total`` (0: unknown) and no MD5."""
    assert flac[:4] == b"fLaC" and flac[4] & 0x7F == 0  # STREAMINFO first, its 34-byte body at 8
    patched = bytearray(flac)
    # body: block sizes 2+2, frame sizes 3+3, then rate 20 bits, channels 3, bits 5, total samples 36, MD5 16
    patched[8 + 13] = (patched[8 + 13] & 0xF0) | (total >> 32)
    patched[8 + 14 : 8 + 18] = (total & 0xFFFFFFFF).to_bytes(4, "big")
    patched[8 + 18 : 8 + 34] = bytes(16)
    return bytes(patched)


def unknown_length_flac(flac: bytes) -> bytes:
    """``flac`` as a streaming encoder writes it: a header that leaves the length unknown."""
    patched = with_total_samples(flac, 0)
    with sf.SoundFile(io.BytesIO(patched)) as sound:
        assert sound.frames == 2**63 - 1  # libsndfile's "unknown"
    return patched


class _CountedBytes(io.BytesIO):
    """Bytes that remember how far into them a reader went."""

    furthest = 0

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self.furthest = max(self.furthest, self.tell())
        return count

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.furthest = max(self.furthest, self.tell())
        return data


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (44100, 2)])
def test_flac_of_unknown_length_decodes_whole(data, rate, channels):
    speech = load_audio(data / "falcon/test.wav")
    samples = np.tile(soxr.resample(speech, SAMPLE_RATE, rate)[:, np.newaxis], (1, channels))
    samples[:, -1] *= 0.5
    stated = io.BytesIO()
    sf.write(stated, samples, rate, format="FLAC")
    expected = load_audio(stated.getvalue())
    decoded = load_audio(unknown_length_flac(stated.getvalue()))
    assert decoded.shape == expected.shape and np.array_equal(decoded, expected)


def test_max_seconds_refuses_on_the_header_or_as_soon_as_decoding_passes_it(data):
    speech = load_audio(data / "falcon/test.wav")  # 18.6 s
    flac = io.BytesIO()
    sf.write(flac, np.tile(speech, 4), SAMPLE_RATE, format="FLAC")  # 74.3 s
    with pytest.raises(AudioTooLongError, match=r"74.3 s long, over the limit of 30 s") as stated:
        load_audio(flac.getvalue(), max_seconds=30)
    assert stated.value.seconds == pytest.approx(74.3, abs=0.05) and stated.value.limit == 30
    unknown = _CountedBytes(unknown_length_flac(flac.getvalue()))
    with pytest.raises(AudioTooLongError, match="longer than the limit of 30 s") as decoded:
        load_audio(unknown, max_seconds=30)
    assert decoded.value.seconds is None and isinstance(decoded.value, InvalidAudioError)
    assert unknown.furthest < 0.6 * len(unknown.getvalue())  # stopped near 30 s of 74
    with pytest.raises(AudioTooLongError, match="the audio array is 18.6 s long"):
        load_audio(speech, max_seconds=10)
    for source in (speech, data / "falcon/test.wav", unknown_length_flac(flac.getvalue())):
        length = load_audio(source).shape[0] / SAMPLE_RATE
        assert load_audio(source, max_seconds=length).shape[0] / SAMPLE_RATE == length
        assert load_audio(source, max_seconds=float("inf")).shape[0] / SAMPLE_RATE == length
    for bad in (-1, float("nan"), "30", True):
        with pytest.raises(InvalidOptionError, match="max_seconds"):
            load_audio(speech, max_seconds=bad)


def test_a_header_stating_more_than_there_is_reserves_no_memory_for_it(data):
    flac = (data / "faster-whisper/jfk.flac").read_bytes()
    with pytest.raises(AudioDecodeError, match="truncated"):
        load_audio(with_total_samples(flac, 2**36 - 1))  # 17 days at 44.1 kHz


def test_decoding_errors_name_the_file_never_an_object(data):
    wav = (data / "falcon/test.wav").read_bytes()
    flac = (data / "ami-train/trn00.flac").read_bytes()
    for content in (b"these are not audio bytes", wav[:30], wav[:20] + b"\x34\x12" + wav[22:], flac[: len(flac) // 2]):
        named = io.BytesIO(content)
        named.name = "meeting.wav"
        for source in (named, io.BytesIO(content), content):
            with pytest.raises(AudioError) as caught:
                load_audio(source)
            message = str(caught.value)
            assert "object at" not in message and "0x" not in message, message
            assert ("'meeting.wav'" if source is named else "'<file object>'") in message, message
