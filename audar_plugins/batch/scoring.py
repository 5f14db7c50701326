"""Corpus scoring of a batch: DER per file, per group, and the macro average over groups.

As the model card reports its eight corpora: a group's DER is its errors over its speech
(the files pooled), and the macro DER is the plain mean of the groups' DERs, so a small
corpus counts as much as a large one. Scores come from :mod:`audar_plugins.evaluation`
(pyannote.metrics), with the same per-side collar as ``audar eval``.
"""

from __future__ import annotations

import csv
import functools
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import FormatError, InvalidOptionError
from ..evaluation import DERComponents, diarization_error_rate
from .inputs import BatchItem
from .job import output_name

if TYPE_CHECKING:
    from pyannote.core import Annotation, Timeline

__all__ = ["CorpusScore", "check_scoring", "load_references", "load_uems", "score_batch", "scored_items"]


@dataclass(frozen=True)
class CorpusScore:
    """Per file (name -> group, uri, components) and per group; ``unscored`` names files without a result."""

    files: dict[str, tuple[str, str, DERComponents]]
    groups: dict[str, DERComponents]
    unscored: tuple[str, ...] = field(default=())

    @property
    def macro(self) -> float:
        """The mean of the groups' DERs."""
        return sum(group.der for group in self.groups.values()) / len(self.groups) if self.groups else 0.0

    @property
    def total(self) -> DERComponents:
        """All files pooled."""
        return sum((components for _, _, components in self.files.values()), DERComponents(0.0, 0.0, 0.0, 0.0))

    def write_csv(self, path: str | os.PathLike) -> None:
        """Rows ``level,group,file,uri,der,false_alarm,missed,confusion,speech``: files, groups, macro, total."""
        with open(path, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["level", "group", "file", "uri", "der", "false_alarm", "missed", "confusion", "speech"])
            for name, (group, uri, components) in self.files.items():
                writer.writerow(["file", group, name, uri, *_figures(components)])
            for group, components in self.groups.items():
                writer.writerow(["group", group, "", "", *_figures(components)])
            writer.writerow(["macro", "", "", "", f"{self.macro:.6f}", "", "", "", ""])
            writer.writerow(["total", "", "", "", *_figures(self.total)])

    def table(self) -> str:
        """The groups, the macro average and the pooled total, as a text table (percent)."""
        width = max([len("macro over groups"), *(len(group) for group in self.groups)])
        header = "  ".join(f"{title:>6}" for title in ("DER%", "FA%", "miss%", "conf%"))
        lines = [f"{'group':<{width}}  {'files':>5}  {header}  {'speech s':>9}"]
        counts = Counter(group for group, _, _ in self.files.values())
        for group, components in self.groups.items():
            lines.append(f"{group:<{width}}  {counts[group]:>5}  " + _percentages(components))
        lines.append(f"{'macro over groups':<{width}}  {len(self.files):>5}  {100 * self.macro:6.2f}")
        lines.append(f"{'all files pooled':<{width}}  {len(self.files):>5}  " + _percentages(self.total))
        return "\n".join(lines) + "\n"


def score_batch(items: Iterable[BatchItem], directory: str | os.PathLike,
                references: Mapping[str, Annotation] | None = None, uems: Mapping[str, Timeline] | None = None,
                group_by: str = "dir", collar: float = 0.0, skip_overlap: bool = False) -> CorpusScore:
    """Score each item's ``<name>.rttm`` in ``directory`` against its reference.

    An item's reference is its manifest ``reference`` file, else the annotation of its uri in
    ``references``; items with neither are not scored, nor are items without a result (failed).
    """
    from ..formats import read_rttm

    read = functools.lru_cache(maxsize=64)(read_rttm)  # one RTTM file often holds a whole corpus
    files: dict[str, tuple[str, str, DERComponents]] = {}
    groups: dict[str, DERComponents] = {}
    unscored: list[str] = []
    for item, group in scored_items(items, references, group_by):
        hypothesis_path = Path(directory) / output_name(item.name, "rttm")
        if not hypothesis_path.is_file():
            unscored.append(item.name)
            continue
        reference = _reference(item, references or {}, read)
        hypothesis = read(hypothesis_path).get(item.uri)
        report = diarization_error_rate({item.uri: reference}, {} if hypothesis is None else {item.uri: hypothesis},
                                        uems, collar=collar, skip_overlap=skip_overlap)
        components = report.files[item.uri]
        files[item.name] = (group, item.uri, components)
        groups[group] = groups.get(group, DERComponents(0.0, 0.0, 0.0, 0.0)) + components
    return CorpusScore(files, dict(sorted(groups.items())), tuple(unscored))


def check_scoring(items: Iterable[BatchItem], references: Mapping[str, Annotation] | None = None,
                  group_by: str = "dir") -> None:
    """Raise now what :func:`score_batch` would raise after the batch: a missing group column, a shared uri."""
    for _ in scored_items(items, references, group_by):
        pass


def scored_items(items: Iterable[BatchItem], references: Mapping[str, Annotation] | None,
                 group_by: str) -> Iterator[tuple[BatchItem, str]]:
    """The items that have a reference, with their group."""
    uris: dict[str, str] = {}
    for item in items:
        if item.reference is None:
            if references is None or item.uri not in references:
                continue
            other = uris.setdefault(item.uri, item.path)
            if other != item.path:
                raise InvalidOptionError(f"{other} and {item.path} have the same uri {item.uri!r}, so one reference "
                                         "cannot tell them apart: give a manifest with a uri or reference column")
        yield item, item.group(group_by)


def load_references(path: str | os.PathLike) -> dict[str, Annotation]:
    """The annotations of an RTTM file, or of every ``.rttm`` file in a folder (recursively), by uri."""
    from ..formats import read_rttm

    return _by_uri(path, "rttm", read_rttm)


def load_uems(path: str | os.PathLike) -> dict[str, Timeline]:
    """The timelines of a UEM file, or of every ``.uem`` file in a folder (recursively), by uri."""
    from ..formats import read_uem

    return _by_uri(path, "uem", read_uem)


def _by_uri(path: str | os.PathLike, suffix: str, reader: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    if not os.path.isdir(path):
        return reader(Path(path))
    found: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for file in sorted(Path(path).rglob(f"*.{suffix}")):
        for uri, value in reader(file).items():
            if uri in found:
                raise FormatError(f"uri {uri!r} is in both {origin[uri]} and {file}")
            found[uri], origin[uri] = value, file
    return found


def _reference(item: BatchItem, references: Mapping[str, Annotation],
               read: Callable[[str], dict[str, Annotation]]) -> Annotation:
    if item.reference is None:
        return references[item.uri]
    annotations = read(item.reference)
    if item.uri in annotations:
        return annotations[item.uri]
    if len(annotations) == 1:  # a file of its own, under another name
        return next(iter(annotations.values()))
    raise FormatError(f"{item.reference} has no uri {item.uri!r} (the reference of {item.path})")


def _figures(components: DERComponents) -> list[str]:
    return [f"{components.der:.6f}", f"{components.false_alarm:.3f}", f"{components.missed:.3f}",
            f"{components.confusion:.3f}", f"{components.total:.3f}"]


def _percentages(components: DERComponents) -> str:
    fa, miss, confusion = (100 * value / components.total if components.total else 0.0
                           for value in (components.false_alarm, components.missed, components.confusion))
    return f"{100 * components.der:6.2f}  {fa:6.2f}  {miss:6.2f}  {confusion:6.2f}  {components.total:9.2f}"
