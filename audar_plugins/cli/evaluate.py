"""``audar eval``: diarization error rate of RTTM results against a reference."""

from __future__ import annotations

import argparse
import json

from ..errors import AudarError

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``eval`` to the ``audar`` subcommands."""
    parser = subcommands.add_parser(
        "eval",
        help="diarization error rate of RTTM results against a reference",
        description="Score hypothesis RTTM files against a reference RTTM with pyannote.metrics.",
    )
    parser.add_argument("hypotheses", nargs="+", metavar="HYP.rttm", help="results to score")
    parser.add_argument("--reference", required=True, metavar="REF.rttm", help="reference RTTM")
    parser.add_argument("--uem", metavar="U", help="UEM file: the regions to score (default: everything)")
    parser.add_argument(
        "--collar", type=float, default=0.0, metavar="SECONDS",
        help="forgiveness in seconds on EACH side of every reference boundary, as dscore and "
        "md-eval read it: --collar 0.25 ignores 0.5 s around each boundary (pyannote.metrics' "
        "own collar is the total width, so it receives twice this value). Default: 0",
    )
    parser.add_argument("--skip-overlap", action="store_true", help="do not score overlapping reference speech")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Score the hypotheses and print a table per file and in total (or JSON)."""
    from ..evaluation import diarization_error_rate
    from ..formats import read_rttm, read_uem

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
        _print_json(rows, args)
    else:
        _print_table(rows)
    return 0


def _print_json(rows: list, args: argparse.Namespace) -> None:
    print(json.dumps({
        "collar": args.collar,
        "skip_overlap": args.skip_overlap,
        "files": {
            uri: {"der": c.der, "false_alarm": c.false_alarm, "missed": c.missed,
                  "confusion": c.confusion, "total": c.total}
            for uri, c in rows
        },
    }, indent=2))


def _print_table(rows: list) -> None:
    width = max(len(uri) for uri, _ in rows)
    print(f"{'file':<{width}}  {'DER%':>6}  {'FA%':>6}  {'miss%':>6}  {'conf%':>6}  {'speech s':>8}")
    for uri, c in rows:
        fa, miss, confusion = (100 * value / c.total if c.total else 0.0
                               for value in (c.false_alarm, c.missed, c.confusion))
        print(f"{uri:<{width}}  {100 * c.der:6.2f}  {fa:6.2f}  {miss:6.2f}  {confusion:6.2f}  {c.total:8.2f}")
