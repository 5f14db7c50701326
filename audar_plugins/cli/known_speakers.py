"""``--speaker NAME=CLIP`` and ``--voices DIR``: the known speakers of ``diarize``, ``transcribe`` and ``stream``."""

from __future__ import annotations

import argparse
import sys

from ..errors import InvalidOptionError

__all__ = ["add_known_speaker_options", "known_speakers_from_args", "report_matches", "speaker_clips"]


def add_known_speaker_options(parser: argparse.ArgumentParser) -> None:
    """``--speaker NAME=CLIP`` (repeatable; a name given twice has two clips) and ``--voices DIR``."""
    group = parser.add_argument_group("known speakers (names instead of speaker_N)")
    group.add_argument("--speaker", action="append", default=[], metavar="NAME=CLIP",
                       help="a reference clip of a known speaker (2-30 s of that person alone); repeatable")
    group.add_argument("--voices", metavar="DIR",
                       help="a folder of voiceprints written by 'audar enroll'")


def known_speakers_from_args(args: argparse.Namespace, backend) -> list | None:
    """The voiceprints ``--voices`` and ``--speaker`` give (clips enrolled now), or ``None`` for neither."""
    if not args.speaker and not args.voices:
        return None
    from ..speakers import encoder_for, gather_voiceprints

    return gather_voiceprints(args.voices, speaker_clips(args), encoder_for(backend))


def speaker_clips(args: argparse.Namespace) -> dict[str, list[str]]:
    """``--speaker NAME=CLIP`` options as name -> clips, in the order given."""
    clips: dict[str, list[str]] = {}
    for given in args.speaker:
        name, separator, clip = given.partition("=")
        if not separator or not name or not clip:
            raise InvalidOptionError(f"--speaker takes NAME=CLIP, got {given!r}")
        clips.setdefault(name, []).append(clip)
    return clips


def report_matches(matches, where: str) -> None:
    """One line on standard error: which speaker took which name, with its score."""
    if not matches:
        return
    parts = []
    for match in matches:
        score = "too little speech alone" if match.score is None else f"{match.score:.2f}"
        parts.append(f"{match.speaker} = {match.name} ({score})" if match.name
                     else f"{match.speaker} unnamed (best {score})")
    print(f"audar: {where}: " + "; ".join(parts), file=sys.stderr)
