"""Where diarization results go: a file, a directory (one file per input) or standard output."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ..errors import AudarError

__all__ = ["DiarizationWriter", "add_output_options", "output_directory", "output_stream", "report_error"]


def add_output_options(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    """``--format`` (a diarization format, or npz) and ``--output``."""
    choices = (*formats, "npz")
    parser.add_argument("--format", choices=choices, default="rttm",
                        help="rttm, json (segments) or npz (frame probabilities, frame duration, labels)")
    parser.add_argument(
        "--output", metavar="PATH",
        help="output file, or a directory for one file per input (default: standard output)",
    )


def report_error(error: AudarError, path: str | None = None) -> None:
    """``audar: error: [PATH: ]MESSAGE`` on standard error."""
    where = "" if path is None else f"{path}: "
    print(f"audar: error: {where}{error}", file=sys.stderr)


class DiarizationWriter:
    """Writes each input's result in the chosen format to a file, a directory or standard output."""

    def __init__(self, args: argparse.Namespace, inputs: int) -> None:
        self.format = args.format
        self.inputs = inputs
        self.directory = output_directory(args.output)
        self.output = args.output if self.directory is None else None
        self.stream: TextIO | None = None
        if self.format == "npz" and self.output is None and self.directory is None and sys.stdout.isatty():
            raise AudarError("npz is binary: give --output FILE.npz (or a directory), or redirect standard output")
        if self.format == "npz" and inputs > 1 and self.directory is None:
            raise AudarError("npz holds one input: give --output DIR/ for several inputs")

    @contextlib.contextmanager
    def open(self) -> Iterator[DiarizationWriter]:
        """Open the output file (or standard output) for the writes inside the block."""
        if self.format == "npz" or self.directory is not None:
            self.stream = None
            yield self
            return
        with output_stream(self.output) as stream:
            self.stream = stream
            yield self

    def _stream(self) -> TextIO:
        if self.stream is None:
            raise RuntimeError("write() outside open()")
        return self.stream

    def write(self, result, uri: str) -> None:
        """Write one :class:`~audar_plugins.pipeline.Diarization`, named ``uri``."""
        from ..formats import to_json_line, write, write_npz

        if self.directory is not None:
            target = self.directory / f"{uri}.{self.format}"
            if self.format == "npz":
                write_npz(result.activity, target)
            else:
                with open(target, "w", encoding="utf-8") as file:
                    write(result.annotation, file, self.format)
        elif self.format == "npz":
            if self.output is None:
                write_npz(result.activity, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                write_npz(result.activity, self.output)
        elif self.format == "json" and self.inputs > 1:
            # several documents in one stream: JSON Lines, each naming its file
            self._stream().write(to_json_line(result.annotation, uri))
        else:
            write(result.annotation, self._stream(), self.format)
        if self.stream is not None:
            self.stream.flush()


def output_directory(output: str | None) -> Path | None:
    """``output`` as a directory if it is one or ends with a separator (then created), else None."""
    if output is None:
        return None
    path = Path(output)
    if path.is_dir() or output.endswith(os.sep):
        path.mkdir(parents=True, exist_ok=True)
        return path
    return None


@contextlib.contextmanager
def output_stream(output: str | None) -> Iterator[TextIO]:
    """The file ``output`` opened for text, or standard output when None."""
    if output is None:
        yield sys.stdout
        return
    try:
        file = open(output, "w", encoding="utf-8")
    except OSError as error:
        raise AudarError(f"cannot write {output!r}: {error.strerror}") from error
    with file:
        yield file
