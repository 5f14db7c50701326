"""SortformerBackend: NVIDIA's Streaming Sortformer (and Audar's 8-speaker fine-tune) on NeMo."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...activity import Binarization, SpeakerActivity, default_labels
from ...audio import SAMPLE_RATE, AudioInput, load_audio
from ...errors import InvalidOptionError
from ..base import ProgressCallback, SpeakerCount
from ..devices import resolve_device
from ..precision import resolve_precision
from ..sortformer_core.presets import MODEL_CARD_BINARIZATION, StreamingConfig
from ..sortformer_core.schedule import check_speaker_count, config_for, diarize_through, keep_first_speakers
from .checkpoint import load_sortformer
from .session import SortformerSession
from .shared_model import SharedSortformer

__all__ = ["MODEL_CARD_BINARIZATION", "SortformerBackend"]

class SortformerBackend:
    """Streaming Sortformer behind the :class:`~audar_plugins.backends.base.Backend` protocol.

    Parameters
    ----------
    model
        A ``.nemo`` path, a model hub name (``"nvidia/diar_streaming_sortformer_4spk-v2.1"``,
        fetched by NeMo where the hub is reachable), or an already loaded
        ``SortformerEncLabelModel``.
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... or a ``torch.device``.
    half
        Run the model under float16 autocast (CUDA only); features stay float32.
    preset
        Default latency preset of :meth:`diarize` and new sessions: a name from
        :data:`~audar_plugins.backends.sortformer_core.presets.PRESETS`, a
        :class:`StreamingConfig`, or a dict of its fields.
    binarization
        Post-processing; the model card's (onset/offset 0.5, pads 0.1 s) by default.
    precision
        On the CPU: ``"fp32"``; ``"int8"`` (the linear layers dynamically quantized, on the
        backend's own copy, so ``model`` must then be a path or hub name); ``"bf16"``
        (bfloat16 autocast, on CPUs that compute in it); or ``"reduced"``, the faster that
        this CPU supports. See :mod:`audar_plugins.backends.precision`.

    Offline diarization runs the streaming path over the recording in blocks,
    so memory stays bounded on long inputs. Several sessions, with different
    presets and in different threads, may share one backend.
    """

    name = "sortformer"

    def __init__(
        self,
        model: Any,
        device: Any = "cpu",
        half: bool = False,
        preset: str | StreamingConfig | Mapping[str, int] = "card",
        binarization: Binarization | Mapping[str, float] | None = None,
        precision: str = "fp32",
    ) -> None:
        resolved = resolve_device(device, half)
        if precision != "fp32" and resolved.type != "cpu":
            raise InvalidOptionError(f"precision {precision!r} is for the CPU; on {resolved} use half=True")
        precision = resolve_precision(precision, ("fp32", "int8", "bf16"))
        if precision == "int8" and not isinstance(model, (str, Path)):
            raise InvalidOptionError("precision 'int8' quantizes the backend's own copy of the model: "
                                     "pass a .nemo path or hub name, not a loaded model")
        if isinstance(model, (str, Path)):
            loaded = load_sortformer(model, device=resolved)
        elif hasattr(model, "forward_streaming_step"):
            loaded = model.to(resolved).eval()
        else:
            raise InvalidOptionError(
                f"model must be a .nemo path, a hub name or a SortformerEncLabelModel, got {type(model).__name__}"
            )
        self._shared = SharedSortformer(loaded, half=half, precision=precision)
        self.labels = default_labels(self._shared.num_speakers)
        self.preset = self.streaming_config(preset)
        if isinstance(binarization, Mapping):
            binarization = Binarization(**binarization)
        self.binarization = binarization or MODEL_CARD_BINARIZATION

    @property
    def num_speakers(self) -> int:
        """The most speakers the model tracks (4 or 8), read from the checkpoint."""
        return self._shared.num_speakers

    @property
    def model(self):
        """The NeMo model. Its streaming attributes are set per step: do not rely on them."""
        return self._shared.model

    @property
    def frame_duration(self) -> float:
        return self._shared.frame_duration

    def streaming_config(self, preset: str | StreamingConfig | Mapping[str, int]) -> StreamingConfig:
        """The checked settings of ``preset`` for this model (speaker cache sized for its speakers)."""
        return config_for(preset, self.num_speakers)

    def nemo_forward(self, audio: AudioInput, preset: str | StreamingConfig | Mapping[str, int] | None = None):
        """NeMo's own offline streaming forward pass over ``audio``: (frames, speakers) probabilities.

        The reference a live session reproduces; for checking, not for production
        (it computes the features of the whole recording at once).
        """
        import torch

        config = self.preset if preset is None else self.streaming_config(preset)
        waveform = torch.from_numpy(load_audio(audio))
        return self._shared.reference_forward(waveform, config).float().cpu().numpy()

    def open_session(self, preset: str | StreamingConfig | Mapping[str, int] | None = None,
                     speakers: SpeakerCount = SpeakerCount()) -> SortformerSession:
        """A live session on this backend's model, with its own latency preset.

        Sortformer finds its speakers itself; ``speakers`` bounds them as :meth:`diarize` does.
        """
        reason = self._why_not_live()
        if reason:
            raise InvalidOptionError(f"this checkpoint {reason}: no live sessions")
        check_speaker_count(speakers, self.num_speakers)
        config = self.preset if preset is None else self.streaming_config(preset)
        return SortformerSession(self._shared, config, self.labels, speakers)

    def _why_not_live(self) -> str | None:
        if not self._shared.streaming:
            return "is an offline Sortformer (streaming_mode false)"
        if str(self.model.preprocessor._cfg.get("normalize", "NA")) not in ("NA", "None"):
            # per-recording feature normalisation needs the whole recording: it cannot be streamed exactly
            return "normalises features per recording"
        return None

    def restore_session(self, snapshot: bytes) -> SortformerSession:
        """Resume a session from :meth:`SortformerSession.snapshot` bytes, in this or another process."""
        return SortformerSession.restore(self._shared, snapshot)

    def diarize(
        self,
        audio: AudioInput,
        speakers: SpeakerCount = SpeakerCount(),
        progress: ProgressCallback | None = None,
    ) -> SpeakerActivity:
        """The model's 80 ms speaker probabilities over the whole of ``audio``.

        Sortformer finds speakers itself, in order of arrival. ``num_speakers``
        or ``max_speakers`` below the model's count keep the first speakers
        and silence the later ones; asking for more than the model tracks is an error.
        """
        check_speaker_count(speakers, self.num_speakers)
        waveform = load_audio(audio)
        if self._why_not_live() is None:
            return diarize_through(self.open_session(speakers=speakers), waveform, progress)
        return keep_first_speakers(self._whole(waveform, progress), speakers)

    def _whole(self, waveform: np.ndarray, progress: ProgressCallback | None) -> SpeakerActivity:
        import torch

        probabilities = self._shared.reference_forward(torch.from_numpy(waveform), self.preset)
        if progress is not None:
            progress(len(waveform) / SAMPLE_RATE, len(waveform) / SAMPLE_RATE)
        return SpeakerActivity(probabilities.float().cpu().numpy(), self.frame_duration, 0.0, self.labels)
