"""``audar diarize``: who spoke when in audio files."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import AudarError
from .known_speakers import add_known_speaker_options, known_speakers_from_args, report_matches
from .options import (
    add_backend_options,
    add_postprocessing_options,
    add_speaker_options,
    binarization_from_args,
    load_backend_from_args,
)
from .output import DiarizationWriter, add_output_options, report_error
from .progress import add_progress_options, progress_display

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``diarize`` to the ``audar`` subcommands."""
    from ..formats import FORMATS
    from ..registry import DEFAULT_BACKEND

    parser = subcommands.add_parser("diarize", help="find who spoke when in audio files")
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3, ...)")
    add_backend_options(parser, DEFAULT_BACKEND)
    add_speaker_options(parser)
    add_postprocessing_options(parser)
    add_known_speaker_options(parser)
    add_output_options(parser, FORMATS)
    parser.add_argument(
        "--plot", metavar="PATH",
        help="draw the speaker timeline to PATH (.png or .svg); with several inputs, PATH-<name>.png each",
    )
    add_progress_options(parser, "a progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Diarize every file; 1 if any failed (the others are still written)."""
    from ..formats import safe_uri
    from ..pipeline import diarize

    writer = DiarizationWriter(args, len(args.files))
    backend = load_backend_from_args(args)
    binarization = binarization_from_args(args, backend)
    known = known_speakers_from_args(args, backend)
    status = 0
    with writer.open():
        for path in args.files:
            uri = safe_uri(Path(path).stem)
            try:
                with progress_display(uri, args) as display:
                    result = diarize(
                        path,
                        backend=backend,
                        num_speakers=args.num_speakers,
                        min_speakers=args.min_speakers,
                        max_speakers=args.max_speakers,
                        binarization=binarization,
                        uri=uri,
                        progress=None if display is None else display.update,
                        known_speakers=known,
                    )
            except AudarError as error:
                report_error(error, path)
                status = 1
                continue
            report_matches(result.speakers, path)
            writer.write(result, uri)
            if args.plot:
                from ..plotting import plot_timeline

                plot_timeline(result.annotation, plot_path(args.plot, uri, len(args.files)), result.activity.end)
    return status


def plot_path(plot: str, uri: str, inputs: int) -> str:
    """``--plot PATH`` for one input, ``PATH-<uri>.<suffix>`` for each of several."""
    if inputs == 1:
        return plot
    stem, suffix = os.path.splitext(plot)
    return f"{stem}-{uri}{suffix}"
