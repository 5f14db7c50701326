"""SortformerOnnxBackend: an exported Streaming Sortformer on ONNX Runtime and NumPy (``sortformer-onnx``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...activity import Binarization, SpeakerActivity, default_labels
from ...audio import AudioInput, load_audio
from ...errors import InvalidOptionError
from ..base import ProgressCallback, SpeakerCount
from ..sortformer_core.presets import FRAME_DURATION, MODEL_CARD_BINARIZATION, StreamingConfig
from ..sortformer_core.schedule import check_speaker_count, config_for, diarize_through
from .runtime import OnnxSortformer
from .session import OnnxSortformerSession

__all__ = ["SortformerOnnxBackend"]

class SortformerOnnxBackend:
    """The Sortformer backend's interface on an ``audar export-onnx`` directory, without NeMo or torch.

    Parameters
    ----------
    model
        The export directory.
    preset
        Default latency preset (the names of the ``sortformer`` backend, a ``StreamingConfig`` or a dict).
    binarization
        Post-processing; the model card's by default.
    threads
        ONNX Runtime intra-op threads (default: its own choice).
    device
        ``"cpu"``: onnxruntime's CPU provider is the one this backend uses.
    precision
        ``"fp32"`` (equal to NeMo to 1e-4), ``"int8"`` (dynamically quantized matrix
        products: faster, and a little different; see benchmarks/README.md) or ``"reduced"``
        (the reduced precision this CPU supports: int8, as ONNX Runtime has no CPU bf16 kernels).
    """

    name = "sortformer-onnx"
    frame_duration = FRAME_DURATION

    def __init__(self, model: str | Path, preset: str | StreamingConfig | Mapping[str, int] = "card",
                 binarization: Binarization | Mapping[str, float] | None = None, threads: int | None = None,
                 precision: str = "fp32", device: Any = "cpu") -> None:
        self.to(device)
        self._runtime = OnnxSortformer.load(model, threads, precision)
        self.labels = default_labels(self._runtime.num_speakers)
        self.preset = self.streaming_config(preset)
        if isinstance(binarization, Mapping):
            binarization = Binarization(**binarization)
        self.binarization = binarization or MODEL_CARD_BINARIZATION

    @property
    def num_speakers(self) -> int:
        return self._runtime.num_speakers

    def streaming_config(self, preset: str | StreamingConfig | Mapping[str, int]) -> StreamingConfig:
        return config_for(preset, self.num_speakers)

    def open_session(self, preset: str | StreamingConfig | Mapping[str, int] | None = None,
                     speakers: SpeakerCount = SpeakerCount()) -> OnnxSortformerSession:
        """A live session with its own latency preset; ``speakers`` bounds the speakers as :meth:`diarize` does."""
        check_speaker_count(speakers, self.num_speakers)
        config = self.preset if preset is None else self.streaming_config(preset)
        return OnnxSortformerSession(self._runtime, config, self.labels, speakers)

    def restore_session(self, snapshot: bytes) -> OnnxSortformerSession:
        return OnnxSortformerSession.restore(self._runtime, snapshot)

    def diarize(self, audio: AudioInput, speakers: SpeakerCount = SpeakerCount(),
                progress: ProgressCallback | None = None) -> SpeakerActivity:
        """Speaker probabilities over the whole of ``audio``, through the streaming path in blocks.

        Sortformer finds its speakers itself: ``num_speakers``/``max_speakers`` above the
        model's count are refused; below it they keep the first speakers to arrive.
        """
        return diarize_through(self.open_session(speakers=speakers), load_audio(audio), progress)

    def to(self, device: Any) -> SortformerOnnxBackend:
        """ONNX Runtime here runs on the CPU only."""
        if str(device) != "cpu":
            raise InvalidOptionError(f"the sortformer-onnx backend runs on the CPU, not {device}")
        return self
