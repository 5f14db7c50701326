"""``audar enroll NAME CLIP...``: a voiceprint from reference clips, saved as ``DIR/NAME.npz``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import AudarError

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``enroll`` to the ``audar`` subcommands."""
    parser = subcommands.add_parser(
        "enroll", help="make a voiceprint of a known speaker from reference clips",
        description="Embed reference clips of one person (2-30 s each, that person alone) into a voiceprint "
                    "file, DIR/NAME.npz; give DIR to --voices of diarize, transcribe, stream and serve.")
    parser.add_argument("name", metavar="NAME", help="the speaker's name in outputs")
    parser.add_argument("clips", nargs="+", metavar="CLIP", help="reference clips of that speaker alone")
    parser.add_argument("--output", metavar="DIR", default="voices",
                        help="folder of voiceprints (default: voices); NAME.npz is written there")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Enrol the clips and write the voiceprint; 1 on a clip that cannot be enrolled."""
    from ..speakers import enroll, file_name, read_voiceprint, write_voiceprint

    voiceprint = enroll(args.name, args.clips)
    folder = Path(args.output)
    target = folder / file_name(args.name)
    if target.exists() and read_voiceprint(target).name != args.name:
        raise AudarError(f"{target} holds the voiceprint of {read_voiceprint(target).name!r}, not {args.name!r}: "
                         "give another --output folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_voiceprint(voiceprint, target)
    except OSError as error:
        raise AudarError(f"cannot write the voiceprint in {folder}: {error.strerror}") from None
    print(f"{target}: {args.name}, {voiceprint.clips} clip(s), {voiceprint.speech:.1f} s of speech", file=sys.stderr)
    return 0
