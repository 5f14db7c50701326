"""Any audar backend as a pyannote.audio speaker-diarization pipeline (pyannote.audio 3.3+ and 4.x).

    from pyannote.audio import Pipeline
    pipeline = Pipeline.from_pretrained("path/to/config.yaml")   # written by `audar pyannote-config`
    output = pipeline("meeting.wav", num_speakers=2)              # DiarizeOutput on 4.x, Annotation on 3.x
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from collections.abc import Iterator, Mapping, MutableMapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from pyannote.audio import Pipeline
from pyannote.pipeline.parameter import Uniform

from ..activity import Binarization, SpeakerActivity
from ..backends.base import SpeakerCount
from ..registry import DEFAULT_BACKEND, load_backend
from ..speakers import naming_backend
from .labels import pyannote_names

__all__ = ["AudarSpeakerDiarization"]

PYANNOTE_MAJOR = int(version("pyannote.audio").split(".")[0])
_ACTIVITY_CACHE = "audar/activity"  # file key holding the backend output while tuning


class AudarSpeakerDiarization(Pipeline):
    """A pyannote ``Pipeline`` running a registered audar backend.

    Parameters
    ----------
    backend
        Registered backend name (``audar backends`` lists them).
    model, device, preset
        Passed to the backend when given (Sortformer: checkpoint, torch device, latency preset).
        ``model`` may be pyannote 4's ``$model/...`` expansion.
    options
        Any other backend options.
    legacy
        pyannote 4.x only: return the ``speaker_diarization`` Annotation instead of a
        ``DiarizeOutput``, as pyannote's own pipeline does with ``legacy=True``.
    known_speakers
        Known speakers (as :func:`audar_plugins.diarize` takes them; in ``config.yaml``, a
        folder of voiceprints from ``audar enroll``): speakers who sound like one are labelled
        with its name instead of ``SPEAKER_NN``.
    token, cache_dir, use_auth_token
        Injected by ``Pipeline.from_pretrained``; unused.

    Hyper-parameters (tunable with ``instantiate`` and pyannote's optimizer):
    ``onset``, ``offset``, ``pad_onset``, ``pad_offset``, ``min_duration_on``, ``min_duration_off``.
    """

    def __init__(
        self,
        backend: str = DEFAULT_BACKEND,
        model: str | Mapping | None = None,
        device: str | None = None,
        preset: str | Mapping | None = None,
        options: Mapping[str, Any] | None = None,
        legacy: bool = False,
        known_speakers: Any = None,
        token: Any = None,
        cache_dir: Any = None,
        use_auth_token: Any = None,
        **unused: Any,
    ) -> None:
        super().__init__()
        backend_options = dict(options or {})
        if model is not None:
            backend_options["model"] = _model_path(model)
        if device is not None:
            backend_options["device"] = device
        if preset is not None:
            backend_options["preset"] = dict(preset) if isinstance(preset, Mapping) else preset
        self.backend_name = backend
        self.legacy = legacy
        self.backend = load_backend(backend, **backend_options)
        self._diarizer = naming_backend(self.backend, known_speakers)
        model_module = getattr(self.backend, "model", None)
        if model_module is not None:
            self.backend_model = model_module  # an nn.Module: pyannote's Pipeline.to() moves it

        self.onset = Uniform(0.0, 1.0)
        self.offset = Uniform(0.0, 1.0)
        self.pad_onset = Uniform(0.0, 0.5)
        self.pad_offset = Uniform(0.0, 0.5)
        self.min_duration_on = Uniform(0.0, 1.0)
        self.min_duration_off = Uniform(0.0, 1.0)
        self.instantiate(self.default_parameters())

    def default_parameters(self) -> dict[str, float]:
        """The backend's own post-processing."""
        return dataclasses.asdict(self.backend.binarization)

    def classes(self) -> Iterator[str]:
        return (f"SPEAKER_{index:02d}" for index in itertools.count())

    def get_metric(self):
        from pyannote.metrics.diarization import DiarizationErrorRate

        return DiarizationErrorRate()

    def get_direction(self) -> str:
        return "minimize"

    @property
    def binarization(self) -> Binarization:
        return Binarization(**{name: float(getattr(self, name)) for name in self.default_parameters()})

    def apply(
        self,
        file: MutableMapping,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        hook=None,
        return_embeddings: bool = False,
        **kwargs: Any,
    ):
        if kwargs:
            warnings.warn(f"Ignoring unexpected keyword arguments {sorted(kwargs)}", stacklevel=2)
        hook = self.setup_hook(file, hook)
        speakers = SpeakerCount(num_speakers, min_speakers, max_speakers)

        def progress(done: float, total: float) -> None:
            hook("diarization", None, total=total, completed=done)

        activity = file.get(_ACTIVITY_CACHE) if self.training else None
        if activity is None:
            hook("diarization", None, total=1, completed=0)
            activity = self._diarizer.diarize(_audio(file), speakers, progress)
            if self.training:
                file[_ACTIVITY_CACHE] = activity
        uri = file.get("uri")
        diarization = activity.to_annotation(self.binarization, uri=uri)
        exclusive = activity.to_exclusive_annotation(self.binarization, uri=uri)
        names = pyannote_names(activity, diarization, getattr(self._diarizer, "names", ()))
        diarization = diarization.rename_labels(names)
        exclusive = exclusive.rename_labels(names)
        embeddings = _embeddings(activity, names, diarization.labels())
        hook("diarization", diarization, total=1, completed=1)

        # pyannote.pipeline's optimizer scores the output itself with get_metric(): an Annotation.
        if PYANNOTE_MAJOR >= 4 and not (self.legacy or self.training):
            from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput

            return DiarizeOutput(diarization, exclusive, embeddings)
        return (diarization, embeddings) if return_embeddings and PYANNOTE_MAJOR < 4 else diarization

    def to(self, device):
        super().to(device)
        mover = getattr(self.backend, "to", None)
        if callable(mover):
            mover(device)
        return self


def _model_path(model: str | Mapping) -> str:
    """pyannote 4 expands ``$model/name`` into ``{"checkpoint": dir, "subfolder": name, ...}``."""
    if isinstance(model, Mapping):
        return str(Path(model["checkpoint"]) / (model.get("subfolder") or ""))
    return str(model)


def _audio(file: Mapping) -> Mapping:
    """The parts of a pyannote ``AudioFile`` that our ``load_audio`` reads."""
    keys = ("waveform", "sample_rate", "channel") if "waveform" in file else ("audio", "channel")
    return {key: file[key] for key in keys if key in file}


def _embeddings(activity: SpeakerActivity, names: dict[str, str], order: list[str]) -> np.ndarray | None:
    if activity.embeddings is None:
        return None
    by_name = {names[label]: row for label, row in zip(activity.labels, activity.embeddings) if label in names}
    return np.stack([by_name[name] for name in order]) if order else np.zeros((0, activity.embeddings.shape[1]))

