"""A speaker timeline picture: one lane per speaker, so who spoke when is seen at a glance."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import InvalidOptionError, MissingDependencyError

if TYPE_CHECKING:
    from pyannote.core import Annotation

__all__ = ["PLOT_FORMATS", "plot_timeline"]

PLOT_FORMATS = (".png", ".svg")


def plot_timeline(annotation: Annotation, path: str | os.PathLike, duration: float | None = None) -> None:
    """Draw ``annotation`` to ``path`` (PNG or SVG, chosen by the suffix).

    Parameters
    ----------
    duration
        Length of the time axis in seconds; the annotation's extent by default.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in PLOT_FORMATS:
        raise InvalidOptionError(f"cannot plot to {os.fspath(path)!r}: use a {' or '.join(PLOT_FORMATS)} file")
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot", "--plot") from None

    labels = sorted(annotation.labels())
    end = duration if duration is not None else (annotation.get_timeline().extent().end if labels else 1.0)
    figure = Figure(figsize=(max(6.0, min(24.0, end / 5)), 0.6 + 0.45 * max(1, len(labels))))
    axes = figure.add_subplot()
    colours = matplotlib.colormaps["tab10"]
    for lane, label in enumerate(labels):
        spans = [(segment.start, segment.duration) for segment in annotation.label_timeline(label, copy=False)]
        axes.broken_barh(spans, (lane - 0.35, 0.7), facecolors=colours(lane % 10))
    axes.set_yticks(range(len(labels)), labels)
    axes.set_ylim(-0.6, max(1, len(labels)) - 0.4)
    axes.invert_yaxis()
    axes.set_xlim(0, end)
    axes.set_xlabel("time (s)")
    axes.grid(axis="x", alpha=0.3)
    if annotation.uri:
        axes.set_title(annotation.uri, fontsize="medium")
    figure.tight_layout()
    figure.savefig(os.fspath(path))
