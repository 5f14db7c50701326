"""``audar export-onnx``: a Streaming Sortformer .nemo as the directory the sortformer-onnx backend runs."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``export-onnx`` to the ``audar`` subcommands."""
    parser = subcommands.add_parser(
        "export-onnx",
        help="export a Streaming Sortformer .nemo for the sortformer-onnx backend (needs NeMo)",
        description="Write OUT_DIR: pre_encode.onnx and encode.onnx (one streaming step's graphs), the "
        "checkpoint's mel filterbank and window, and its settings; the sortformer-onnx backend then runs it "
        "with onnxruntime and NumPy only.",
    )
    parser.add_argument("source", metavar="IN.nemo")
    parser.add_argument("target", metavar="OUT_DIR")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export, then print the directory's size and how to use it."""
    from ..backends.sortformer_onnx.export import export_onnx

    directory = export_onnx(args.source, args.target)
    sizes = sum(path.stat().st_size for path in directory.iterdir()) / 1e6
    print(f"{directory}: {sizes:.1f} MB; use it with --backend sortformer-onnx --model {directory}")
    return 0
