"""The ``audar`` command: diarize files, list backends, score results."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from .errors import AudarError

__all__ = ["main"]

LONG_INPUT_SECONDS = 60.0
"""Inputs at least this long get a progress bar on an interactive terminal."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 some input failed, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except AudarError as error:
        print(f"audar: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    from .formats import FORMATS
    from .registry import DEFAULT_BACKEND

    parser = argparse.ArgumentParser(prog="audar", description="Speaker diarization: who spoke when.")
    parser.add_argument("--version", action="version", version=f"audar-plugins {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    diarize = commands.add_parser("diarize", help="find who spoke when in audio files")
    diarize.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3, ...)")
    diarize.add_argument("--backend", default=DEFAULT_BACKEND, help=f"registered backend (default: {DEFAULT_BACKEND})")
    diarize.add_argument("--num-speakers", type=int, metavar="N", help="exact number of speakers")
    diarize.add_argument("--min-speakers", type=int, metavar="N", help="at least N speakers")
    diarize.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")
    diarize.add_argument("--format", choices=FORMATS, default="rttm", help="output format (default: rttm)")
    diarize.add_argument(
        "--output", metavar="PATH",
        help="output file, or a directory for one file per input (default: standard output)",
    )
    diarize.add_argument(
        "--plot", metavar="PATH",
        help="draw the speaker timeline to PATH (.png or .svg); with several inputs, PATH-<name>.png each",
    )
    progress = diarize.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", help="always show a progress bar")
    progress.add_argument("--quiet", action="store_true", help="never show a progress bar")
    diarize.set_defaults(run=_diarize)

    backends = commands.add_parser("backends", help="list the registered backends")
    backends.set_defaults(run=_backends)

    evaluate = commands.add_parser(
        "eval",
        help="diarization error rate of RTTM results against a reference",
        description="Score hypothesis RTTM files against a reference RTTM with pyannote.metrics.",
    )
    evaluate.add_argument("hypotheses", nargs="+", metavar="HYP.rttm", help="results to score")
    evaluate.add_argument("--reference", required=True, metavar="REF.rttm", help="reference RTTM")
    evaluate.add_argument("--uem", metavar="U", help="UEM file: the regions to score (default: everything)")
    evaluate.add_argument(
        "--collar", type=float, default=0.0, metavar="SECONDS",
        help="forgiveness in seconds on EACH side of every reference boundary, as dscore and "
        "md-eval read it: --collar 0.25 ignores 0.5 s around each boundary (pyannote.metrics' "
        "own collar is the total width, so it receives twice this value). Default: 0",
    )
    evaluate.add_argument("--skip-overlap", action="store_true", help="do not score overlapping reference speech")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.set_defaults(run=_eval)
    return parser


def _diarize(args: argparse.Namespace) -> int:
    from .formats import safe_uri, segments, write
    from .pipeline import diarize
    from .registry import load_backend

    backend = load_backend(args.backend)
    directory = _output_directory(args.output)
    status = 0
    with _output_stream(args.output if directory is None else None) as stream:
        for path in args.files:
            uri = safe_uri(Path(path).stem)
            try:
                with _progress_bar(uri, args) as progress:
                    result = diarize(
                        path,
                        backend=backend,
                        num_speakers=args.num_speakers,
                        min_speakers=args.min_speakers,
                        max_speakers=args.max_speakers,
                        uri=uri,
                        progress=progress,
                    )
            except AudarError as error:
                print(f"audar: error: {path}: {error}", file=sys.stderr)
                status = 1
                continue
            if directory is not None:
                with open(directory / f"{uri}.{args.format}", "w", encoding="utf-8") as file:
                    write(result.annotation, file, args.format)
            elif args.format == "json" and len(args.files) > 1:
                # several documents in one stream: JSON Lines, each naming its file
                stream.write(json.dumps({"uri": uri, "segments": segments(result.annotation)}) + "\n")
            else:
                write(result.annotation, stream, args.format)
            stream.flush()
            if args.plot:
                from .plotting import plot_timeline

                plot_timeline(result.annotation, _plot_path(args.plot, uri, len(args.files)), result.activity.end)
    return status


def _output_directory(output: str | None) -> Path | None:
    if output is None:
        return None
    path = Path(output)
    if path.is_dir() or output.endswith(os.sep):
        path.mkdir(parents=True, exist_ok=True)
        return path
    return None


@contextlib.contextmanager
def _output_stream(output: str | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    try:
        file = open(output, "w", encoding="utf-8")
    except OSError as error:
        raise AudarError(f"cannot write {output!r}: {error.strerror}") from error
    with file:
        yield file


def _plot_path(plot: str, uri: str, inputs: int) -> str:
    if inputs == 1:
        return plot
    stem, suffix = os.path.splitext(plot)
    return f"{stem}-{uri}{suffix}"


@contextlib.contextmanager
def _progress_bar(name: str, args: argparse.Namespace) -> Iterator:
    """A progress callback drawing a tqdm bar for long inputs on a terminal (or with --progress)."""
    if args.quiet or not (args.progress or sys.stderr.isatty()):
        yield None
        return
    from tqdm import tqdm

    state: dict = {}

    def progress(done: float, total: float) -> None:
        if "bar" not in state:
            if total < LONG_INPUT_SECONDS and not args.progress:
                state["bar"] = None
            else:
                state["bar"] = tqdm(total=round(total, 1), desc=name, unit="s", unit_scale=False, leave=False)
        bar = state["bar"]
        if bar is not None:
            bar.update(round(done, 1) - bar.n)
            if done >= total:
                bar.refresh()

    try:
        yield progress
    finally:
        if state.get("bar") is not None:
            state["bar"].close()


def _backends(args: argparse.Namespace) -> int:
    from .registry import DEFAULT_BACKEND, available_backends

    backends = available_backends()
    width = max((len(name) for name in backends), default=0)
    for name, target in backends.items():
        marker = "  (default)" if name == DEFAULT_BACKEND else ""
        print(f"{name:<{width}}  {target}{marker}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .evaluation import diarization_error_rate
    from .formats import read_rttm, read_uem

    references = read_rttm(args.reference)
    hypotheses = {}
    for path in args.hypotheses:
        for uri, annotation in read_rttm(path).items():
            if uri in hypotheses:
                raise AudarError(f"{uri!r} appears in more than one hypothesis file")
            hypotheses[uri] = annotation
    uems = read_uem(args.uem) if args.uem else None
    report = diarization_error_rate(references, hypotheses, uems, collar=args.collar, skip_overlap=args.skip_overlap)
    rows = [(uri, c) for uri, c in report.files.items()] + [("TOTAL", report.total)]
    if args.json:
        print(json.dumps({
            "collar": args.collar,
            "skip_overlap": args.skip_overlap,
            "files": {
                uri: {"der": c.der, "false_alarm": c.false_alarm, "missed": c.missed,
                      "confusion": c.confusion, "total": c.total}
                for uri, c in rows
            },
        }, indent=2))
        return 0
    width = max(len(uri) for uri, _ in rows)
    print(f"{'file':<{width}}  {'DER%':>6}  {'FA%':>6}  {'miss%':>6}  {'conf%':>6}  {'speech s':>8}")
    for uri, c in rows:
        share = (lambda value: 100 * value / c.total) if c.total else (lambda value: 0.0)
        print(f"{uri:<{width}}  {100 * c.der:6.2f}  {share(c.false_alarm):6.2f}  {share(c.missed):6.2f}  "
              f"{share(c.confusion):6.2f}  {c.total:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
