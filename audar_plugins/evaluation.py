"""Diarization error rate through pyannote.metrics.

``collar`` here is the forgiveness on **each side** of every reference
boundary, as dscore and NIST md-eval read it (``--collar 0.25`` is the usual
setting). pyannote.metrics' own ``collar`` is the total width, so it receives
twice our value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidOptionError

if TYPE_CHECKING:
    from pyannote.core import Annotation, Timeline

__all__ = ["DERComponents", "DERReport", "diarization_error_rate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DERComponents:
    """Durations in seconds of the scored reference speech and of each error."""

    total: float
    false_alarm: float
    missed: float
    confusion: float

    @property
    def der(self) -> float:
        """(false alarm + missed + confusion) / total; 0 when there is no reference speech and no error."""
        errors = self.false_alarm + self.missed + self.confusion
        if self.total == 0:
            return 0.0 if errors == 0 else float("inf")
        return errors / self.total

    def __add__(self, other: DERComponents) -> DERComponents:
        return DERComponents(
            self.total + other.total,
            self.false_alarm + other.false_alarm,
            self.missed + other.missed,
            self.confusion + other.confusion,
        )


@dataclass(frozen=True)
class DERReport:
    """Per-file components (by file identifier, in reference order) and their sum."""

    files: dict[str, DERComponents]
    collar: float
    skip_overlap: bool

    @property
    def total(self) -> DERComponents:
        result = DERComponents(0.0, 0.0, 0.0, 0.0)
        for components in self.files.values():
            result = result + components
        return result


def diarization_error_rate(
    references: Mapping[str, Annotation],
    hypotheses: Mapping[str, Annotation],
    uems: Mapping[str, Timeline] | None = None,
    collar: float = 0.0,
    skip_overlap: bool = False,
) -> DERReport:
    """Score ``hypotheses`` against ``references`` file by file.

    A file with a reference but no hypothesis is scored against an empty
    hypothesis (all its speech missed). Hypotheses without a reference are
    ignored with a warning. Without a UEM, a file is scored from the start of
    its reference or hypothesis, whichever comes first, to the last end.

    Parameters
    ----------
    collar
        Seconds forgiven on each side of each reference boundary.
    skip_overlap
        Leave regions where reference speakers overlap out of the score.
    """
    from pyannote.core import Annotation, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    if not 0 <= collar <= 10:
        raise InvalidOptionError(f"collar must be in [0, 10] seconds, got {collar}")
    extra = sorted(set(hypotheses) - set(references))
    if extra:
        logger.warning("no reference for %s; not scored", ", ".join(extra))
    metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=skip_overlap)
    files: dict[str, DERComponents] = {}
    for uri, reference in references.items():
        hypothesis = hypotheses.get(uri, Annotation(uri=uri))
        uem = None if uems is None else uems.get(uri)
        if uem is None:
            # what pyannote.metrics would approximate (with a warning): both extents
            extents = [a.get_timeline().extent() for a in (reference, hypothesis) if a]
            uem = Timeline([Timeline(extents).extent()] if extents else [], uri=uri)
        detail = metric.compute_components(reference, hypothesis, uem=uem)
        files[uri] = DERComponents(
            total=detail["total"],
            false_alarm=detail["false alarm"],
            missed=detail["missed detection"],
            confusion=detail["confusion"],
        )
    return DERReport(files, collar, skip_overlap)
