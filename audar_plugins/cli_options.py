"""Command-line options shared by the ``audar`` commands: choosing a backend and the speaker count."""

from __future__ import annotations

import argparse

from .backends.precision import PRECISIONS

__all__ = ["add_backend_options", "add_speaker_options", "load_backend_from_args"]


def add_backend_options(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--backend", default=default, help=f"registered backend (default: {default})")
    parser.add_argument("--model", metavar="PATH_OR_NAME", help="checkpoint: a .nemo path or a model hub name")
    parser.add_argument("--device", metavar="DEVICE", help="cpu, cuda, cuda:1, ... (backends with models)")
    parser.add_argument("--preset", metavar="NAME",
                        help="latency preset: card, nv-30.4s, nv-10s, nv-1.04s, nv-0.32s (Sortformer)")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="arithmetic of the Sortformer backends on the CPU (default fp32; see "
                             "audar_plugins.backends.precision)")


def add_speaker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--num-speakers", type=int, metavar="N", help="exact number of speakers")
    parser.add_argument("--min-speakers", type=int, metavar="N", help="at least N speakers")
    parser.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")


def load_backend_from_args(args: argparse.Namespace):
    from .registry import load_backend

    names = ("model", "device", "preset", "precision")
    options = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return load_backend(args.backend, **options)
