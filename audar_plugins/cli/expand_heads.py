"""``audar expand-heads``: widen a Sortformer checkpoint's speaker heads (e.g. 4 -> 8 speakers)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``expand-heads`` to the ``audar`` subcommands."""
    parser = subcommands.add_parser(
        "expand-heads",
        help="widen a Sortformer checkpoint's speaker heads (e.g. 4 -> 8 speakers)",
        description="Copy the trained speaker slots into new ones, plus Gaussian noise scaled to "
        "each head's weight spread (or, with --silent, leave the new slots off), raise the speaker "
        "cache for the new count, and save a loadable .nemo.",
    )
    parser.add_argument("source", metavar="IN.nemo")
    parser.add_argument("target", metavar="OUT.nemo")
    parser.add_argument("--speakers", type=int, default=8, metavar="N",
                        help="speaker slots after expansion (default 8)")
    parser.add_argument("--noise-std", type=float, default=0.01, metavar="X",
                        help="noise on the new slots, relative to the head's weight std (default 0.01)")
    parser.add_argument("--silent", action="store_true", help="new slots start switched off (weights 0, bias -20)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the widened checkpoint and print its speaker and parameter counts."""
    from ..training.heads import expand_checkpoint

    before, after = expand_checkpoint(args.source, args.target, speakers=args.speakers,
                                      noise_std=args.noise_std, silent=args.silent, seed=args.seed)
    print(f"{args.target}: {args.speakers} speakers, {after:,} parameters ({after - before:+,})")
    return 0
