"""WhisperX's diarization step on any audar backend (DRAFT for issue 4, untested).

    import whisperx
    from audar_plugins.adapters.whisperx import DiarizationPipeline
    diarize_model = DiarizationPipeline(backend="sortformer", model="v2.1.nemo")
    diarize_df = diarize_model(audio)                       # the DataFrame WhisperX expects
    result = whisperx.assign_word_speakers(diarize_df, result)

Or switch a whole WhisperX script with one line before it builds its pipeline:
``audar_plugins.adapters.whisperx.install(backend="sortformer", model=...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE
from ..backends.base import SpeakerCount
from ..registry import load_backend

__all__ = ["DiarizationPipeline", "install"]


class DiarizationPipeline:
    """WhisperX's ``whisperx.diarize.DiarizationPipeline`` signature, on an audar backend.

    ``model_name``, ``token``/``use_auth_token`` and ``cache_dir`` are accepted for
    compatibility; ``model_name`` ending in ``.nemo`` is used as the checkpoint.
    """

    def __init__(self, model_name: str | None = None, token: Any = None, device: Any = "cpu",
                 cache_dir: Any = None, use_auth_token: Any = None, backend: str | None = None,
                 **options: Any) -> None:
        if model_name is not None and str(model_name).endswith(".nemo"):
            options.setdefault("model", model_name)
            backend = backend or "sortformer"
        if backend in (None, "embedded") and "device" not in options:
            pass
        elif device is not None:
            options.setdefault("device", str(device))
        self.backend = load_backend(backend or "embedded", **options)

    def __call__(self, audio: str | np.ndarray, num_speakers: int | None = None, min_speakers: int | None = None,
                 max_speakers: int | None = None, return_embeddings: bool = False, progress_callback=None):
        import pandas as pd
        from pyannote.core import Segment  # noqa: F401  (rows hold pyannote Segments, as WhisperX's do)

        source = audio if isinstance(audio, str) else {"waveform": np.asarray(audio)[None, :], "sample_rate": SAMPLE_RATE}
        progress = None
        if progress_callback is not None:
            def progress(done: float, total: float) -> None:
                progress_callback(min(99.0, 100.0 * done / total) if total else 0.0)
        activity = self.backend.diarize(source, SpeakerCount(num_speakers, min_speakers, max_speakers), progress)
        if progress_callback is not None:
            progress_callback(100.0)
        annotation = activity.to_annotation(self.backend.binarization)
        names = {label: f"SPEAKER_{i:02d}" for i, label in enumerate(l for l in activity.labels if l in set(annotation.labels()))}
        annotation = annotation.rename_labels(names)
        frame = pd.DataFrame(annotation.itertracks(yield_label=True), columns=["segment", "label", "speaker"])
        frame["start"] = frame["segment"].apply(lambda segment: segment.start)
        frame["end"] = frame["segment"].apply(lambda segment: segment.end)
        if not return_embeddings:
            return frame
        if activity.embeddings is None:
            return frame, None
        embeddings = {names[l]: row.tolist() for l, row in zip(activity.labels, activity.embeddings) if l in names}
        return frame, embeddings


def install(**options: Any) -> None:
    """Make ``whisperx.diarize.DiarizationPipeline`` (and WhisperX's CLI) build ours with ``options``."""
    import functools

    import whisperx.diarize

    whisperx.diarize.DiarizationPipeline = functools.partial(DiarizationPipeline, **options)
