"""The ``audar`` command: one module per subcommand, each with ``add_parser(subcommands)`` and ``run(args)``.

Shared pieces: :mod:`.options` (backend, speakers, post-processing), :mod:`.output` (where
diarization results go) and :mod:`.progress` (the one progress display).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..errors import AudarError
from . import (
    backends,
    batch,
    data,
    diarize,
    enroll,
    evaluate,
    expand_heads,
    export_onnx,
    finetune,
    pyannote_config,
    serve,
    stream,
    transcribe,
    tune,
)
from .output import report_error

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = (diarize, stream, enroll, expand_heads, export_onnx, transcribe, batch, serve, pyannote_config, backends,
            evaluate, tune, data, finetune)
"""The command modules, in the order ``audar --help`` lists them."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 some input failed, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except AudarError as error:
        report_error(error)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The ``audar`` argument parser, every command's subparser added; ``args.run(args)`` runs the command."""
    from .. import __version__

    parser = argparse.ArgumentParser(prog="audar", description="Speaker diarization: who spoke when.")
    parser.add_argument("--version", action="version", version=f"audar-plugins {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subcommands)
    return parser
