"""WhisperX's diarization step on any audar backend.

    import whisperx
    from audar_plugins.adapters.whisperx import DiarizationPipeline

    diarize_model = DiarizationPipeline("sortformer", model="diar_streaming_sortformer_4spk-v2.nemo")
    diarize_df = diarize_model(audio, min_speakers=2)          # the DataFrame WhisperX expects
    result = whisperx.assign_word_speakers(diarize_df, result)

Or switch an existing WhisperX script with one line, before it builds its pipeline::

    audar_plugins.adapters.whisperx.install(backend="embedded")

WhisperX's command line needs no code at all: ``whisperx audio.wav --diarize
--diarize_model DIR/config.yaml`` with a directory from ``audar pyannote-config``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..alignment.turns import TurnOptions, smooth_codes
from ..alignment.words import attribute_spans, coverage_of
from ..audio import SAMPLE_RATE
from ..backends.base import SpeakerCount
from ..registry import DEFAULT_BACKEND, available_backends, load_backend
from ..speakers import naming_backend
from .labels import pyannote_names

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DiarizationPipeline", "assign_word_speakers", "diarization_frame", "install"]


class DiarizationPipeline:
    """``whisperx.diarize.DiarizationPipeline`` (3.3 to 3.8) on an audar backend.

    Parameters
    ----------
    model_name
        WhisperX's first argument, read as: a registered backend name (``"embedded"``),
        a checkpoint (``"model.nemo"``: the ``sortformer`` backend unless ``backend``
        says otherwise), or, with ``backend``, that backend's ``model``.
        ``None`` (WhisperX's default) takes ``backend`` or the CPU default.
    device
        Passed to the backend (``"cuda"``, a ``torch.device``) unless it is the CPU,
        where every backend runs by default (so backends without a device work too).
    backend
        A registered backend name; ``options`` go to it.
    known_speakers
        Known speakers (as :func:`audar_plugins.diarize` takes them): speakers who sound like
        one are labelled with its name instead of ``SPEAKER_NN``, in the DataFrame and so in
        ``assign_word_speakers``'s words.
    token, use_auth_token, cache_dir
        Accepted for WhisperX compatibility; our backends need no hub token.
    """

    def __init__(
        self,
        model_name: str | None = None,
        token: Any = None,
        device: Any = "cpu",
        cache_dir: Any = None,
        *,
        use_auth_token: Any = None,
        backend: str | None = None,
        known_speakers: Any = None,
        **options: Any,
    ) -> None:
        if model_name is not None:
            if backend is None and model_name in available_backends():
                backend = model_name
            else:
                options.setdefault("model", model_name)
                if backend is None and Path(model_name).suffix == ".nemo":
                    backend = "sortformer"
        if device is not None and str(device) != "cpu":
            options.setdefault("device", device)
        self.backend = load_backend(backend or DEFAULT_BACKEND, **options)
        self._diarizer = naming_backend(self.backend, known_speakers)

    def __call__(
        self,
        audio: str | np.ndarray,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        return_embeddings: bool = False,
        progress_callback=None,
    ):
        """Diarize ``audio`` (a path or WhisperX's 16 kHz mono float array).

        Returns WhisperX's DataFrame (columns ``segment``, ``label``, ``speaker``,
        ``start``, ``end``) and, with ``return_embeddings``, ``{speaker: [floats]}`` or None.
        """
        source = (audio if isinstance(audio, (str, Path))
                  else {"waveform": np.asarray(audio)[None], "sample_rate": SAMPLE_RATE})
        report = None
        if progress_callback is not None:
            def report(done: float, total: float) -> None:
                progress_callback(min(99.0, 100.0 * done / total) if total else 0.0)

        speakers = SpeakerCount(num_speakers, min_speakers, max_speakers)
        activity = self._diarizer.diarize(source, speakers, report)
        if progress_callback is not None:
            progress_callback(100.0)
        annotation = activity.to_annotation(self.backend.binarization)
        names = pyannote_names(activity, annotation, getattr(self._diarizer, "names", ()))
        frame = diarization_frame(annotation.rename_labels(names))
        if not return_embeddings:
            return frame
        if activity.embeddings is None:
            return frame, None
        rows = zip(activity.labels, activity.embeddings)
        return frame, {names[label]: row.tolist() for label, row in rows if label in names}


def diarization_frame(annotation) -> pd.DataFrame:
    """A pyannote Annotation as WhisperX's diarization DataFrame.

    Columns: ``segment``, ``label``, ``speaker``, ``start``, ``end``.
    """
    import pandas as pd

    frame = pd.DataFrame(annotation.itertracks(yield_label=True), columns=["segment", "label", "speaker"])
    frame["start"] = frame["segment"].apply(lambda segment: segment.start)
    frame["end"] = frame["segment"].apply(lambda segment: segment.end)
    return frame


def assign_word_speakers(
    diarize_df,
    transcript_result: dict,
    speaker_embeddings: dict | None = None,
    fill_nearest: bool = True,
    smoothing: TurnOptions | None = TurnOptions(),
) -> dict:
    """``whisperx.assign_word_speakers`` with our attribution: same arguments, same result shape.

    ``diarize_df`` is WhisperX's DataFrame, a pyannote Annotation, or (best) our
    :class:`~audar_plugins.SpeakerActivity`, whose probabilities decide words at turn
    boundaries. Every word gets a ``speaker`` (see :mod:`audar_plugins.alignment.words`:
    words in pauses take the nearest speaker, untimed words their neighbour's), then
    flickers and near-sentence-end changes are corrected (``smoothing=None``: not).
    ``fill_nearest=False`` leaves words without speech under them unlabelled, as WhisperX does.
    Segments get the speaker with the most speech over their span. The dict is updated
    in place and returned.
    """
    segments = transcript_result.get("segments") or []
    if not segments or diarize_df is None:
        return transcript_result
    coverage = coverage_of(diarize_df)
    if coverage.num_speakers == 0:
        return transcript_result
    words = [word for segment in segments for word in segment.get("words", ())]
    if words:
        starts = _floats(list(map(dict.get, words, repeat("start"))))  # map(dict.get): C speed
        ends = _floats(list(map(dict.get, words, repeat("end"))))
        attribution = attribute_spans(starts, ends, coverage)
        codes = attribution.speaker
        if not fill_nearest:
            codes = np.where(attribution.confidence > 0.0, codes, -1)
        elif smoothing is not None:
            codes = smooth_codes(codes, attribution.confidence, _Texts(words), starts, ends, smoothing)
        names = np.array([*attribution.labels, None], dtype=object)  # code -1 reads the trailing None
        pairs: Iterable[tuple[dict, str | None]] = zip(words, names[codes].tolist())
        if codes.min() < 0:  # some words stay unlabelled; the common case skips this filter
            pairs = ((word, name) for word, name in pairs if name is not None)
        for word, name in pairs:
            word["speaker"] = name
    spans = attribute_spans(
        _floats([segment.get("start", 0.0) for segment in segments]),
        _floats([segment.get("end", 0.0) for segment in segments]),
        coverage,
    )
    for segment, label, confidence in zip(segments, spans.speaker_labels(), spans.confidence.tolist()):
        if label is not None and (fill_nearest or confidence > 0.0):
            segment["speaker"] = label
    if speaker_embeddings is not None:
        transcript_result["speaker_embeddings"] = speaker_embeddings
    return transcript_result


class _Texts(Sequence[str]):
    """Word texts read on demand: smoothing looks at few of them."""

    def __init__(self, words: list[dict]) -> None:
        self._words = words

    def __len__(self) -> int:
        return len(self._words)

    def __getitem__(self, index):  # Sequence's overloads: an int here
        return self._words[index].get("word", "")


def _floats(values: list) -> np.ndarray:
    """Seconds as a float array; missing (None) becomes NaN."""
    return np.array(values, dtype=np.float64)


def install(**options: Any) -> None:
    """Make WhisperX build our pipeline, with ``options``, wherever it builds its own.

    Call it before WhisperX builds its diarization pipeline: it replaces
    ``whisperx.diarize.DiarizationPipeline`` and the copy ``whisperx.transcribe``
    imported, so ``whisperx.load_model(...)`` scripts and ``whisperx.transcribe.transcribe_task``
    (the command line) use ours. WhisperX's own arguments (``model_name``, ``device``)
    still reach it.
    """
    import whisperx.diarize

    replacement = functools.partial(DiarizationPipeline, **options)
    whisperx.diarize.DiarizationPipeline = replacement
    transcribe = sys.modules.get("whisperx.transcribe")
    if transcribe is not None:
        transcribe.DiarizationPipeline = replacement  # type: ignore[attr-defined]  # a module found at run time
