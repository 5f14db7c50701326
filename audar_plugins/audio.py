"""Decode anything audio-like into 16 kHz mono float32.

Every backend works on the same waveform: a 1-D ``numpy.float32`` array at
:data:`SAMPLE_RATE`. :func:`load_audio` produces it from

- a path (``str`` or ``os.PathLike``) to any file libsndfile reads
  (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF, ...);
- a binary file object, or ``bytes`` holding such a file;
- a ``numpy.ndarray`` or ``torch.Tensor`` of shape ``(time,)`` or
  ``(channel, time)``, at ``sample_rate`` (16 kHz unless given);
- a pyannote.audio ``AudioFile`` mapping: ``{"audio": path_or_file}`` or
  ``{"waveform": (channel, time), "sample_rate": int}``, with an optional
  ``"channel"`` (0-based) that selects one channel instead of the downmix.

Channels are averaged and the rate is converted with soxr. Files are decoded
block by block, so the peak memory is the 16 kHz result plus one block,
whatever the channel count or rate of the source. A file whose header leaves
its length unknown (a streamed FLAC, say) is decoded to its end all the same;
``max_seconds`` bounds the decoding of any input, header or not. Any failure
raises an :class:`~audar_plugins.errors.AudioError`, whose message names the
file by its name, never by an object's repr.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

import numpy as np

from .errors import (
    AudioDecodeError,
    AudioNotFoundError,
    AudioTooLongError,
    EmptyAudioError,
    InvalidAudioError,
    InvalidOptionError,
    UnsupportedAudioTypeError,
)

__all__ = ["SAMPLE_RATE", "AudioInput", "load_audio", "validate_sample_rate"]

SAMPLE_RATE = 16_000
"""The rate every backend works at, in Hz."""

MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 768_000
_BLOCK_SECONDS = 10.0
_UNKNOWN_FRAMES = 2**63 - 1
"""What libsndfile reports as ``frames`` when a header leaves the length unknown (SF_COUNT_MAX)."""
_MAX_RESERVE = SAMPLE_RATE * 3600 * 4
"""The most output samples reserved up front on a header's word (4 h); beyond, the buffer grows."""
_OBJECT_REPR = re.compile(r"<[^<>]*\bat 0x[0-9a-fA-F]+>")
"""An object's default repr, which soundfile puts in its messages about file objects."""


AudioInput = str | os.PathLike | BinaryIO | bytes | np.ndarray | Mapping[str, Any] | Any
"""What :func:`load_audio` accepts (``Any`` stands for ``torch.Tensor``)."""


def validate_sample_rate(sample_rate: Any, what: str = "sample_rate") -> int:
    """Return ``sample_rate`` as an int, or raise :class:`InvalidAudioError`."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating)):
        raise InvalidAudioError(f"{what} must be a number of Hz, got {sample_rate!r}")
    if not math.isfinite(sample_rate) or sample_rate != int(sample_rate):
        raise InvalidAudioError(f"{what} must be a whole number of Hz, got {sample_rate!r}")
    rate = int(sample_rate)
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise InvalidAudioError(
            f"{what}={rate} Hz is outside the supported range "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    return rate


def load_audio(source: AudioInput, sample_rate: int | None = None, *, max_seconds: float | None = None) -> np.ndarray:
    """Decode ``source`` to a 1-D float32 waveform at 16 kHz.

    Parameters
    ----------
    source
        See the module docstring for the accepted forms.
    sample_rate
        Rate of an array or tensor ``source``, in Hz (default 16000). Files and
        pyannote ``waveform`` mappings carry their own rate; giving one that
        disagrees with theirs is an error.
    max_seconds
        Refuse audio longer than this, in seconds: on the stated length before
        decoding where a header states one, and otherwise as soon as the
        decoded audio passes it, so a huge input is never decoded in full.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_samples,)``, dtype float32, at :data:`SAMPLE_RATE`.

    Raises
    ------
    AudioError
        One of its subclasses, naming what is wrong with the input;
        :class:`AudioTooLongError` for audio over ``max_seconds``.
    """
    if max_seconds is not None:
        if isinstance(max_seconds, bool) or not isinstance(max_seconds, (int, float, np.integer, np.floating)) \
                or not max_seconds >= 0:
            raise InvalidOptionError(f"max_seconds must be a number of seconds >= 0, got {max_seconds!r}")
        max_seconds = None if math.isinf(max_seconds) else float(max_seconds)
    if isinstance(source, Mapping):
        return _load_mapping(source, sample_rate, max_seconds)
    if isinstance(source, (str, os.PathLike)):
        return _load_file(_existing_path(source), sample_rate, None, max_seconds)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _load_file(io.BytesIO(bytes(source)), sample_rate, None, max_seconds)
    if hasattr(source, "read"):
        return _load_file(_seekable(source), sample_rate, None, max_seconds)
    if isinstance(source, np.ndarray) or _is_torch_tensor(source):
        return _load_array(source, SAMPLE_RATE if sample_rate is None else sample_rate, None, max_seconds)
    raise UnsupportedAudioTypeError(
        f"cannot read audio from a {type(source).__name__}; pass a path, a binary file object, "
        "bytes, a numpy array or torch tensor, or a pyannote AudioFile mapping"
    )


def _load_mapping(source: Mapping[str, Any], sample_rate: int | None, max_seconds: float | None) -> np.ndarray:
    channel = source.get("channel")
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or channel < 0):
        raise InvalidAudioError(f"'channel' must be a non-negative integer, got {channel!r}")
    channel = None if channel is None else int(channel)
    if "waveform" in source:
        if "sample_rate" not in source:
            raise InvalidAudioError("a mapping with 'waveform' must also give 'sample_rate'")
        rate = validate_sample_rate(source["sample_rate"])
        if sample_rate is not None and validate_sample_rate(sample_rate) != rate:
            raise InvalidAudioError(f"sample_rate={sample_rate} disagrees with the mapping's {rate}")
        waveform = source["waveform"]
        if not (isinstance(waveform, np.ndarray) or _is_torch_tensor(waveform)):
            raise UnsupportedAudioTypeError(
                f"'waveform' must be a numpy array or torch tensor, got {type(waveform).__name__}"
            )
        if np.ndim(waveform) != 2:
            raise InvalidAudioError(f"'waveform' must have shape (channel, time), got {tuple(np.shape(waveform))}")
        return _load_array(waveform, rate, channel, max_seconds)
    if "audio" in source:
        audio = source["audio"]
        if isinstance(audio, (str, os.PathLike)):
            return _load_file(_existing_path(audio), sample_rate, channel, max_seconds)
        if hasattr(audio, "read"):
            return _load_file(_seekable(audio), sample_rate, channel, max_seconds)
        raise UnsupportedAudioTypeError(
            f"'audio' must be a path or a binary file object, got {type(audio).__name__}"
        )
    raise InvalidAudioError("an AudioFile mapping needs an 'audio' or a 'waveform' key")


def _existing_path(path: str | os.PathLike) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioNotFoundError(f"no such audio file: {path!r}")
    if os.path.isdir(path):
        raise AudioDecodeError(f"{path!r} is a directory, not an audio file")
    return path


def _seekable(file: Any) -> BinaryIO:
    """Return a seekable binary file object (libsndfile needs to seek)."""
    if isinstance(file, io.TextIOBase):
        raise UnsupportedAudioTypeError("file objects must be opened in binary mode ('rb'), not text mode")
    try:
        if file.seekable():
            return file
    except (AttributeError, OSError, ValueError):
        pass
    data = file.read()
    if not isinstance(data, (bytes, bytearray)):
        raise UnsupportedAudioTypeError("file objects must be opened in binary mode ('rb')")
    return io.BytesIO(data)


def _load_file(file: str | BinaryIO, sample_rate: int | None, channel: int | None,
               max_seconds: float | None) -> np.ndarray:
    import soundfile as sf

    name = file if isinstance(file, str) else getattr(file, "name", "<file object>")
    try:
        sound = _forward_reader()(file)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioDecodeError(f"cannot decode {name!r} as audio: {_reason(error)}") from error
    with sound:
        rate = validate_sample_rate(sound.samplerate, what=f"the sample rate of {name!r}")
        if sample_rate is not None and validate_sample_rate(sample_rate) != rate:
            raise InvalidAudioError(f"sample_rate={sample_rate} disagrees with the file's {rate} Hz")
        if channel is not None and channel >= sound.channels:
            raise InvalidAudioError(f"channel {channel} requested but {name!r} has {sound.channels}")
        expected = sound.frames if 0 < sound.frames < _UNKNOWN_FRAMES else None
        if expected is not None and max_seconds is not None and expected > max_seconds * rate:
            raise AudioTooLongError(repr(name), expected / rate, max_seconds)
        # one sample past the limit is enough to know the audio is too long
        budget = math.inf if max_seconds is None else math.floor(max_seconds * rate) + 1
        block = max(1, int(_BLOCK_SECONDS * rate))

        def blocks() -> Iterator[np.ndarray]:
            read = 0
            try:
                while read < budget:
                    frames = sound.read(int(min(block, budget - read)), dtype="float32", always_2d=True)
                    if not len(frames):
                        return
                    read += len(frames)
                    yield frames.T
            except (sf.LibsndfileError, RuntimeError) as error:
                at = _position(sound, read) / rate
                raise AudioDecodeError(f"{name!r} is corrupt after {at:.2f} s: {_reason(error)}") from error

        return _mono_16k(blocks(), rate, channel, repr(name), expected, max_seconds)


@functools.cache
def _forward_reader() -> type:
    """``soundfile.SoundFile`` reading forward only, for files whose header states no length.

    After every read soundfile seeks back to its own count of the position. Where a header
    leaves the length unknown (a streamed FLAC: libsndfile then reports ``frames`` as
    ``2**63 - 1``), that seek fails on the read that reaches the end, and soundfile raises
    instead of returning the last block. Reading forward needs no seek: libsndfile keeps the
    position itself.
    """
    import soundfile as sf

    class ForwardReader(sf.SoundFile):
        def seekable(self) -> bool:
            return False

    return ForwardReader


def _position(sound: Any, read: int) -> int:
    """Where decoding failed, in frames: libsndfile's position, else the ``read`` frames returned."""
    try:
        return max(sound.tell(), read)
    except RuntimeError:
        return read


def _reason(error: Exception) -> str:
    """What the decoder says is wrong, without soundfile's prefix naming the file object by its repr."""
    reason = getattr(error, "error_string", None) or str(error)
    return _OBJECT_REPR.sub("the file", reason)


def _load_array(array: Any, rate: int, channel: int | None, max_seconds: float | None) -> np.ndarray:
    rate = validate_sample_rate(rate)
    if _is_torch_tensor(array):
        array = array.detach().cpu().numpy()
    if array.ndim == 1:
        array = array[np.newaxis]
    elif array.ndim != 2:
        raise InvalidAudioError(f"audio arrays must be (time,) or (channel, time), got shape {array.shape}")
    channels, samples = array.shape
    if channels > samples and samples > 0:
        raise InvalidAudioError(
            f"audio array of shape {array.shape} has more channels than samples; arrays are "
            "(channel, time): transpose a (time, channel) array first"
        )
    if channel is not None:
        if channel >= channels:
            raise InvalidAudioError(f"channel {channel} requested but the waveform has {channels}")
    if max_seconds is not None and samples > max_seconds * rate:
        raise AudioTooLongError("the audio array", samples / rate, max_seconds)
    array = _as_float32(array)
    block = int(_BLOCK_SECONDS * rate)
    if rate == SAMPLE_RATE and channels == 1 and samples > 0:
        # already what backends want: check it without copying it
        mono = np.ascontiguousarray(array[0])
        for start in range(0, samples, block):
            _check_finite(mono[start : start + block], start, rate, "the audio array")
        return mono
    blocks = (array[:, start : start + block] for start in range(0, samples, block))
    return _mono_16k(blocks, rate, channel, "the audio array", samples, None)


def _as_float32(array: np.ndarray) -> np.ndarray:
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float32, copy=False)
    if kind in "iu":
        bits = array.dtype.itemsize * 8
        if kind == "u":
            return ((array.astype(np.float64) - 2 ** (bits - 1)) / 2 ** (bits - 1)).astype(np.float32)
        return (array.astype(np.float64) / 2 ** (bits - 1)).astype(np.float32)
    raise UnsupportedAudioTypeError(f"audio samples must be numbers, got dtype {array.dtype}")


def _mono_16k(
    blocks: Iterator[np.ndarray], rate: int, channel: int | None, name: str, expected: int | None,
    max_seconds: float | None,
) -> np.ndarray:
    """Downmix (or pick ``channel``), check for NaN/Inf and resample a stream of blocks.

    ``expected`` samples (at ``rate``) are reserved up front when known; with ``max_seconds``
    decoding stops at the first block that passes it.
    """
    import soxr

    resampler = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32")
    reserve = expected if max_seconds is None else min(expected or math.inf, max_seconds * rate)
    output = _GrowingBuffer(None if reserve is None else min(math.ceil(reserve * SAMPLE_RATE / rate) + 64,
                                                             _MAX_RESERVE))
    consumed = 0
    for block in blocks:
        mono = block[channel] if channel is not None else block.mean(axis=0, dtype=np.float32)
        _check_finite(mono, consumed, rate, name)
        consumed += mono.shape[0]
        if max_seconds is not None and consumed > max_seconds * rate:
            raise AudioTooLongError(name, None, max_seconds)
        output.append(mono if resampler is None else resampler.resample_chunk(mono))
    if consumed == 0:
        raise EmptyAudioError(f"{name} contains no samples")
    if resampler is not None:
        output.append(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    if expected is not None and consumed < expected:
        raise AudioDecodeError(f"{name} is truncated: {consumed} of {expected} samples decoded")
    return output.array()


def _check_finite(samples: np.ndarray, offset: int, rate: int, name: str) -> None:
    finite = np.isfinite(samples)
    if not finite.all():
        first = offset + int(np.argmin(finite))
        raise InvalidAudioError(f"{name} has NaN or infinite samples (first at {first / rate:.3f} s)")


class _GrowingBuffer:
    """A float32 array filled piece by piece without keeping the pieces."""

    def __init__(self, capacity: int | None) -> None:
        self._data = np.empty(capacity or SAMPLE_RATE * 60, dtype=np.float32)
        self._size = 0

    def append(self, piece: np.ndarray) -> None:
        end = self._size + piece.shape[0]
        if end > self._data.shape[0]:
            grown = np.empty(max(end, 2 * self._data.shape[0]), dtype=np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = piece
        self._size = end

    def array(self) -> np.ndarray:
        if self._size == self._data.shape[0]:
            return self._data
        return self._data[: self._size].copy() if self._size < self._data.shape[0] // 2 else self._data[: self._size]


def _is_torch_tensor(value: Any) -> bool:
    # Checked by type name so that torch is never imported here.
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def stream_samples(chunk: Any, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Check one push of live audio and return it as 1-D float32 at 16 kHz.

    A live stream is not resampled or downmixed piecewise: a push must already
    be mono 16 kHz (``(time,)``, ``(1, time)`` or ``(time, 1)``), as float or
    integer PCM samples, or ``bytes`` of 16-bit little-endian PCM. Anything
    else raises an :class:`~audar_plugins.errors.AudioError` and changes nothing.
    An empty push is allowed.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate != SAMPLE_RATE:
        raise InvalidAudioError(
            f"live audio must be {SAMPLE_RATE} Hz, got sample_rate={sample_rate!r}; "
            "resample the stream first (soxr.ResampleStream does it chunk by chunk)"
        )
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        if len(chunk) % 2:
            raise InvalidAudioError(f"16-bit PCM bytes come in pairs, got {len(chunk)} bytes")
        chunk = np.frombuffer(chunk, dtype="<i2")
    elif _is_torch_tensor(chunk):
        chunk = chunk.detach().cpu().numpy()
    elif not isinstance(chunk, np.ndarray):
        raise UnsupportedAudioTypeError(
            f"a live push is a numpy array, a torch tensor or PCM16 bytes, got {type(chunk).__name__}"
        )
    if chunk.ndim == 2 and 1 in chunk.shape:
        chunk = chunk.reshape(-1)
    if chunk.ndim != 1:
        raise InvalidAudioError(f"live audio must be mono, got an array of shape {chunk.shape}; downmix it first")
    samples = _as_float32(chunk)
    _check_finite(samples, 0, SAMPLE_RATE, "the pushed audio")
    return samples
