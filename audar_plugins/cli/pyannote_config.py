"""``audar pyannote-config``: a pyannote.audio pipeline directory that runs a backend."""

from __future__ import annotations

import argparse

from .options import add_backend_options, add_postprocessing_options, postprocessing_from_args

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``pyannote-config`` to the ``audar`` subcommands."""
    from ..registry import DEFAULT_BACKEND

    parser = subcommands.add_parser(
        "pyannote-config",
        help="write a pyannote.audio pipeline directory that runs a backend",
        description="Write DIR/config.yaml so that pyannote.audio's Pipeline.from_pretrained(DIR) "
        "(4.x; 3.x takes DIR/config.yaml), `pyannote-audio apply` and WhisperX's --diarize_model "
        "run the chosen backend. Post-processing options become the pipeline's hyper-parameters.",
    )
    parser.add_argument("directory", metavar="DIR", help="directory to write config.yaml into")
    add_backend_options(parser, DEFAULT_BACKEND)
    parser.add_argument("--copy-model", action="store_true",
                        help="copy the checkpoint into DIR and refer to it as $model/NAME (pyannote.audio 4.x)")
    add_postprocessing_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write DIR/config.yaml and print its path."""
    from ..adapters.pyannote_config import write_pyannote_config

    path = write_pyannote_config(args.directory, args.backend, model=args.model, device=args.device,
                                 preset=args.preset, postprocessing=postprocessing_from_args(args),
                                 copy_model=args.copy_model)
    print(path)
    return 0
