"""``audar transcribe``: who said what, from audio files, with faster-whisper and a backend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import AudarError
from .known_speakers import add_known_speaker_options, known_speakers_from_args, report_matches
from .options import add_asr_options, add_backend_options, add_speaker_options, load_backend_from_args
from .output import report_error
from .progress import add_progress_options, progress_display

__all__ = ["add_parser", "run"]


def add_parser(subcommands) -> None:
    """Add ``transcribe`` to the ``audar`` subcommands."""
    from ..formats import TRANSCRIPT_FORMATS
    from ..registry import DEFAULT_BACKEND

    parser = subcommands.add_parser(
        "transcribe",
        help="transcribe audio files with speakers (faster-whisper + a diarization backend)",
        description="Transcribe each FILE with faster-whisper (word timestamps), diarize it with the "
        "backend, and give every word the speaker whose activity over the word is largest; words "
        "are grouped into speaker turns.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files")
    add_asr_options(parser)
    add_backend_options(parser, DEFAULT_BACKEND)
    add_speaker_options(parser)
    add_known_speaker_options(parser)
    parser.add_argument("--format", choices=TRANSCRIPT_FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--output", metavar="PATH",
                        help="output file, or an existing directory for one file per input (default: standard output)")
    add_progress_options(parser, "progress")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Transcribe every file; 1 if any failed (the others are still written)."""
    from ..adapters.faster_whisper import load_recognizer
    from ..backends.base import SpeakerCount
    from ..formats import render, safe_uri
    from ..transcription import transcribe

    backend = load_backend_from_args(args)
    speakers = SpeakerCount(args.num_speakers, args.min_speakers, args.max_speakers)
    known = known_speakers_from_args(args, backend)
    recognizer = load_recognizer(args.asr, args.compute_type)
    directory = Path(args.output) if args.output and Path(args.output).is_dir() else None
    if args.output and directory is None and len(args.files) > 1:
        raise AudarError("several inputs: give --output an existing directory")
    extension = {"diarized_json": "json", "text": "txt"}.get(args.format, args.format)
    status = 0
    for path in args.files:
        uri = safe_uri(Path(path).stem)
        try:
            with progress_display(uri, args) as display:
                transcript = transcribe(path, recognizer, backend, speakers, language=args.language,
                                        progress=None if display is None else display.update_stage,
                                        known_speakers=known, beam_size=args.beam_size)
        except AudarError as error:
            report_error(error, path)
            status = 1
            continue
        report_matches(transcript.speaker_matches, path)
        text = render(transcript, args.format, uri=uri)
        if directory is not None:
            (directory / f"{uri}.{extension}").write_text(text, encoding="utf-8")
        elif args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    return status
