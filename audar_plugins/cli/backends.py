"""``audar backends``: the registered backends, the default marked."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``backends`` to the ``audar`` subcommands."""
    parser = subcommands.add_parser("backends", help="list the registered backends")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per backend: its name and where it lives."""
    from ..registry import DEFAULT_BACKEND, available_backends

    backends = available_backends()
    width = max((len(name) for name in backends), default=0)
    for name, target in backends.items():
        marker = "  (default)" if name == DEFAULT_BACKEND else ""
        print(f"{name:<{width}}  {target}{marker}")
    return 0
