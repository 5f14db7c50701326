"""Streaming latency presets: how much audio Sortformer buffers before it answers.

All sizes count 80 ms model frames. The buffering latency of a preset is
``(chunk_len + chunk_right_context) * 0.08`` seconds; compute time comes on top.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ...activity import Binarization
from ...errors import InvalidOptionError

__all__ = ["FRAME_DURATION", "MODEL_CARD_BINARIZATION", "PRESETS", "StreamingConfig", "resolve_preset",
           "speaker_cache_length"]

FRAME_DURATION = 0.08
SILENCE_FRAMES_PER_SPEAKER = 3  # NeMo's spkcache_sil_frames_per_spk in every published checkpoint



def speaker_cache_length(num_speakers: int) -> int:
    """The speaker cache size (frames) for ``num_speakers``: 188 up to 4 speakers, as
    NVIDIA's 4-speaker models use, and 33 per speaker beyond (264 for 8, as its
    8-speaker model uses)."""
    return max(188, 33 * num_speakers)


@dataclass(frozen=True)
class StreamingConfig:
    """The streaming settings of NeMo's ``SortformerModules``, for one session.

    ``spkcache_len=None`` means "the size for the model's speaker count"
    (:func:`speaker_cache_length`), so one preset serves 4- and 8-speaker models.
    """

    chunk_len: int
    chunk_right_context: int
    fifo_len: int
    spkcache_update_period: int
    spkcache_len: int | None = None
    chunk_left_context: int = 1

    def __post_init__(self) -> None:
        minimum = {
            "chunk_len": 1,
            "chunk_right_context": 0,
            "fifo_len": 0,
            "spkcache_update_period": 1,
            "chunk_left_context": 0,
        }
        for name, low in minimum.items():
            _check_int(name, getattr(self, name), low)
        if self.spkcache_len is not None:
            _check_int("spkcache_len", self.spkcache_len, 1)

    @property
    def latency(self) -> float:
        """Seconds of audio buffered before a frame's probabilities are final."""
        return round((self.chunk_len + self.chunk_right_context) * FRAME_DURATION, 6)

    def for_speakers(self, num_speakers: int) -> StreamingConfig:
        """This configuration with the speaker cache sized and checked for ``num_speakers``."""
        cache = self.spkcache_len if self.spkcache_len is not None else speaker_cache_length(num_speakers)
        needed = (1 + SILENCE_FRAMES_PER_SPEAKER) * num_speakers
        if cache < needed:
            raise InvalidOptionError(
                f"spkcache_len={cache} is too small for {num_speakers} speakers: "
                f"it needs at least {needed} frames ({1 + SILENCE_FRAMES_PER_SPEAKER} per speaker)"
            )
        return dataclasses.replace(self, spkcache_len=cache)

    def as_dict(self) -> dict[str, int | None]:
        return dataclasses.asdict(self)


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOptionError(f"{name} must be an integer number of 80 ms frames, got {value!r}")
    if value < low:
        raise InvalidOptionError(f"{name} must be at least {low}, got {value}")


MODEL_CARD_BINARIZATION = Binarization(onset=0.5, offset=0.5, pad_onset=0.1, pad_offset=0.1)
"""The post-processing Audar-Diarization-V1's model card uses."""

PRESETS: dict[str, StreamingConfig] = {
    # Audar-Diarization-V1's model card: 13-frame (1.04 s) chunks.
    "card": StreamingConfig(chunk_len=13, chunk_right_context=7, fifo_len=40, spkcache_update_period=300),
    # NVIDIA's table for diar_streaming_sortformer_4spk-v2 / v2.1 (name = buffering latency).
    "nv-30.4s": StreamingConfig(chunk_len=340, chunk_right_context=40, fifo_len=40, spkcache_update_period=300),
    "nv-10s": StreamingConfig(chunk_len=124, chunk_right_context=1, fifo_len=124, spkcache_update_period=124),
    "nv-1.04s": StreamingConfig(chunk_len=6, chunk_right_context=7, fifo_len=188, spkcache_update_period=144),
    "nv-0.32s": StreamingConfig(chunk_len=3, chunk_right_context=1, fifo_len=188, spkcache_update_period=144),
}


def resolve_preset(preset: str | StreamingConfig | dict) -> StreamingConfig:
    """A :class:`StreamingConfig` from a preset name, a config, or a dict of its fields."""
    if isinstance(preset, StreamingConfig):
        return preset
    if isinstance(preset, str):
        try:
            return PRESETS[preset]
        except KeyError:
            raise InvalidOptionError(
                f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)} or give the values"
            ) from None
    if isinstance(preset, dict):
        fields = {field.name for field in dataclasses.fields(StreamingConfig)}
        unknown = sorted(set(preset) - fields)
        if unknown:
            raise InvalidOptionError(f"unknown streaming settings {unknown}; known: {sorted(fields)}")
        try:
            return StreamingConfig(**preset)
        except TypeError as error:  # a required field is missing
            raise InvalidOptionError(f"incomplete streaming settings: {error}") from None
    raise InvalidOptionError(f"preset must be a name, a StreamingConfig or a dict, got {type(preset).__name__}")
