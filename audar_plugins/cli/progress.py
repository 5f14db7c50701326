"""The one progress display of the ``audar`` commands: tqdm bars on standard error.

A bar appears on an interactive terminal for inputs of at least :data:`LONG_INPUT_SECONDS`, or
always with ``--progress``, never with ``--quiet``; tqdm's own ``TQDM_DISABLE`` (and the other
``TQDM_*`` variables) still apply. Work in stages (diarization, then transcription) gets one bar
per stage, each cleared when the next begins.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..batch import BatchSummary

__all__ = ["LONG_INPUT_SECONDS", "ProgressDisplay", "add_progress_options", "batch_progress", "progress_display"]

LONG_INPUT_SECONDS = 60.0
"""Inputs at least this long get a progress bar on an interactive terminal."""


def add_progress_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--progress`` and ``--quiet``, which exclude each other; ``what`` names the display in their help."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--progress", action="store_true", help=f"always show {what}")
    group.add_argument("--quiet", action="store_true", help=f"never show {what}")


@contextlib.contextmanager
def progress_display(name: str, args: argparse.Namespace) -> Iterator[ProgressDisplay | None]:
    """A display for the input ``name``, or None when ``--quiet`` or standard error is no terminal."""
    if not _shown(args):
        yield None
        return
    display = ProgressDisplay(name, always=args.progress)
    try:
        yield display
    finally:
        display.close()


@contextlib.contextmanager
def batch_progress(args: argparse.Namespace) -> Iterator[Callable[[BatchSummary], None] | None]:
    """A ``progress(summary)`` callback drawing one bar over a batch's files (audio hours and failures beside
    it), or None when ``--quiet`` or standard error is no terminal."""
    if not _shown(args):
        yield None
        return
    from tqdm import tqdm

    bar = None

    def update(summary: BatchSummary) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=summary.files, desc="batch", unit="file")
        bar.set_postfix_str(f"{summary.seconds / 3600:.2f} h audio, {summary.failed} failed", refresh=False)
        bar.update(summary.finished - bar.n)

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _shown(args: argparse.Namespace) -> bool:
    """Progress is shown with ``--progress``, or on a terminal unless ``--quiet``."""
    return not args.quiet and (args.progress or sys.stderr.isatty())


class ProgressDisplay:
    """tqdm bars in seconds of audio for one input; a stage's first report decides whether it gets one."""

    def __init__(self, name: str, always: bool = False) -> None:
        self.name = name
        self.always = always
        self._stage: str | None = None
        self._bar = None

    def update(self, done: float, total: float) -> None:
        """A ``progress(done, total)`` callback, as backends call it."""
        self.update_stage("", done, total)

    def update_stage(self, stage: str, done: float, total: float) -> None:
        """A ``progress(stage, done, total)`` callback, as :func:`~audar_plugins.adapters.faster_whisper.transcribe`
        calls it."""
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = self._open(stage, total)
        bar = self._bar
        if bar is not None:
            bar.update(round(done, 1) - bar.n)
            if done >= total:
                bar.refresh()

    def close(self) -> None:
        """Close (and clear) the current bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _open(self, stage: str, total: float):
        if total < LONG_INPUT_SECONDS and not self.always:
            return None
        from tqdm import tqdm

        description = f"{self.name}: {stage}" if stage else self.name
        return tqdm(total=round(total, 1), desc=description, unit="s", unit_scale=False, leave=False)
