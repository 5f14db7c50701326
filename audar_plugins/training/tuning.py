"""Post-processing search: the binarization that gives the lowest DER on a dev set, for any backend.

The backend runs once per file; each trial only binarizes its frame probabilities again
(:meth:`~audar_plugins.activity.SpeakerActivity.to_annotation`) and scores them with
pyannote.metrics. The search is Optuna's TPE sampler (what pyannote.pipeline tunes with), seeded,
with the backend's own settings as its first trial, so the result is never worse than them on
the dev set. The best settings are saved as a small JSON file that ``--params`` reads
(``audar diarize``, ``audar batch``, ``audar serve``, ``audar pyannote-config``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..activity import Binarization, SpeakerActivity
from ..errors import FormatError, InvalidOptionError, MissingDependencyError
from ..evaluation import DERComponents, diarization_error_rate

if TYPE_CHECKING:
    from pyannote.core import Annotation, Timeline

__all__ = ["PARAMS_FORMAT", "SEARCH_SPACE", "TuningResult", "read_params", "score", "tune_binarization",
           "write_params"]

PARAMS_FORMAT = 1

SEARCH_SPACE: dict[str, tuple[float, float]] = {
    "onset": (0.05, 0.95),
    "offset": (0.05, 0.95),  # at most the onset (hysteresis): drawn as a share of it
    "pad_onset": (0.0, 0.5),
    "pad_offset": (0.0, 0.5),
    "min_duration_on": (0.0, 1.0),
    "min_duration_off": (0.0, 1.0),
}
"""Seconds for pads and durations; probabilities for onset and offset."""


@dataclass(frozen=True)
class TuningResult:
    """The best binarization found, and the DER of the starting one and of the best, on the dev set."""

    binarization: Binarization
    default: DERComponents
    best: DERComponents
    trials: int


def score(activities: Mapping[str, SpeakerActivity], references: Mapping[str, Annotation],
          binarization: Binarization, uems: Mapping[str, Timeline] | None = None, collar: float = 0.0,
          skip_overlap: bool = False) -> DERComponents:
    """DER components of ``activities`` binarized with ``binarization``, pooled over the files."""
    hypotheses = {uri: activity.to_annotation(binarization, uri=uri) for uri, activity in activities.items()}
    return diarization_error_rate(references, hypotheses, uems, collar=collar, skip_overlap=skip_overlap).total


def tune_binarization(activities: Mapping[str, SpeakerActivity], references: Mapping[str, Annotation],
                      start: Binarization, uems: Mapping[str, Timeline] | None = None, trials: int = 100,
                      collar: float = 0.0, skip_overlap: bool = False, seed: int = 0) -> TuningResult:
    """The binarization of lowest pooled DER on these files, searched from ``start`` (tried first).

    ``activities`` and ``references`` are keyed by uri; every reference needs an activity.
    """
    try:
        import optuna
    except ImportError as error:
        raise MissingDependencyError("optuna", "tune", "audar tune") from error
    if trials < 1:
        raise InvalidOptionError(f"trials must be >= 1, got {trials}")
    missing = sorted(set(references) - set(activities))
    if missing:
        raise InvalidOptionError(f"no diarization for the reference uri(s) {', '.join(missing[:5])}")
    if not references:
        raise InvalidOptionError("no references to tune against")

    def der(binarization: Binarization) -> float:
        return score(activities, references, binarization, uems, collar, skip_overlap).der

    def objective(trial) -> float:
        return der(_binarization(trial))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(_trial_values(start))
    study.optimize(objective, n_trials=trials)
    default = score(activities, references, start, uems, collar, skip_overlap)
    best = _binarization(study.best_trial)
    tuned = score(activities, references, best, uems, collar, skip_overlap)
    if tuned.der > default.der:  # a start outside the search space was tried clamped into it: keep the start
        best, tuned = start, default
    return TuningResult(best, default, tuned, trials)


def _binarization(trial) -> Binarization:
    onset = trial.suggest_float("onset", *SEARCH_SPACE["onset"])
    share = trial.suggest_float("offset_share", 0.1, 1.0)
    values = {name: trial.suggest_float(name, *SEARCH_SPACE[name])
              for name in ("pad_onset", "pad_offset", "min_duration_on", "min_duration_off")}
    return Binarization(onset=onset, offset=max(SEARCH_SPACE["offset"][0], onset * share), **values)


def _trial_values(binarization: Binarization) -> dict[str, float]:
    values = dataclasses.asdict(binarization)
    low, high = SEARCH_SPACE["onset"]
    onset = min(max(values.pop("onset"), low), high)
    values = {name: min(max(value, SEARCH_SPACE[name][0]), SEARCH_SPACE[name][1]) for name, value in values.items()}
    offset = values.pop("offset")
    return {"onset": onset, "offset_share": min(max(offset / onset, 0.1), 1.0), **values}


def write_params(path: str | os.PathLike, result: TuningResult, backend: str,
                 test: tuple[DERComponents, DERComponents] | None = None) -> None:
    """Save the tuned binarization (and how it scored) as JSON that ``--params`` reads."""
    document: dict[str, Any] = {
        "format": PARAMS_FORMAT,
        "backend": backend,
        "binarization": dataclasses.asdict(result.binarization),
        "dev": {"default_der": result.default.der, "tuned_der": result.best.der, "trials": result.trials},
    }
    if test is not None:
        document["test"] = {"default_der": test[0].der, "tuned_der": test[1].der}
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")


def read_params(path: str | os.PathLike) -> dict[str, float]:
    """The binarization fields a ``--params`` file holds (written by :func:`write_params`)."""
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except OSError as error:
        raise FormatError(f"cannot read the parameter file {os.fspath(path)!r}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FormatError(f"{os.fspath(path)!r} is not a parameter file (JSON) written by audar tune") from None
    values = document.get("binarization") if isinstance(document, dict) else None
    fields = {field.name for field in dataclasses.fields(Binarization)}
    if not isinstance(values, dict) or not set(values) <= fields or document.get("format") != PARAMS_FORMAT:
        raise FormatError(f"{os.fspath(path)!r} is not a parameter file (format {PARAMS_FORMAT}) written by audar tune")
    try:
        Binarization(**values)
    except (TypeError, ValueError) as error:
        raise FormatError(f"{os.fspath(path)!r} holds invalid post-processing: {error}") from None
    return {name: float(value) for name, value in values.items()}
