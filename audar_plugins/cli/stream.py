"""``audar stream``: a file fed to a backend's live session in pushes, as a microphone would."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import AudarError
from .known_speakers import add_known_speaker_options, known_speakers_from_args, report_matches
from .options import add_backend_options, add_postprocessing_options, binarization_from_args, load_backend_from_args
from .output import DiarizationWriter, add_output_options

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``stream`` to the ``audar`` subcommands."""
    from ..formats import FORMATS

    parser = subcommands.add_parser(
        "stream",
        help="feed a file to a live session in pushes, as a microphone would",
        description="Diarize FILE through a backend's live streaming session, pushing N ms at a "
        "time, and print the result in the same formats as `audar diarize`, so that live and "
        "offline output can be compared from the shell.",
    )
    parser.add_argument("file", metavar="FILE", help="audio file")
    add_backend_options(parser, "sortformer")
    parser.add_argument("--push-ms", type=float, default=100.0, metavar="N",
                        help="milliseconds per push (default 100)")
    add_postprocessing_options(parser)
    add_known_speaker_options(parser)
    add_output_options(parser, FORMATS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Push the file through one live session, flush it, and write the joined result."""
    from ..activity import SpeakerActivity
    from ..audio import SAMPLE_RATE, load_audio
    from ..backends.base import StreamingBackend
    from ..formats import safe_uri
    from ..pipeline import Diarization

    if not 1 <= args.push_ms <= 3_600_000:
        raise AudarError(f"--push-ms must be between 1 and 3600000, got {args.push_ms}")
    writer = DiarizationWriter(args, 1)
    backend = load_backend_from_args(args)
    if not isinstance(backend, StreamingBackend):
        raise AudarError(f"backend {args.backend!r} has no live sessions")
    binarization = binarization_from_args(args, backend)
    known = known_speakers_from_args(args, backend)
    if known is not None:
        from ..speakers import NamingBackend, encoder_for

        backend = NamingBackend(backend, known, encoder_for(backend))
    audio = load_audio(args.file)
    session = backend.open_session()
    push = max(1, round(args.push_ms * SAMPLE_RATE / 1000))
    blocks = [session.push(audio[start : start + push]) for start in range(0, len(audio), push)]
    blocks.append(session.flush())
    activity = SpeakerActivity.concatenate(blocks)
    if known is not None:  # the names given as the stream went, on the whole of it
        activity = session.named(activity)
        report_matches(session.matches(), args.file)
    uri = safe_uri(Path(args.file).stem)
    result = Diarization(activity, activity.to_annotation(binarization, uri), binarization, backend.name)
    with writer.open():
        writer.write(result, uri)
    return 0
