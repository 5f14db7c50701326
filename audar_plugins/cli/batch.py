"""``audar batch``: a corpus in one command, resumable, on a local pool or on Ray."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidOptionError
from .known_speakers import add_known_speaker_options, speaker_clips
from .options import (
    add_asr_options,
    add_backend_options,
    add_postprocessing_options,
    add_speaker_options,
    backend_options_from_args,
    postprocessing_from_args,
)
from .progress import add_progress_options, batch_progress

if TYPE_CHECKING:
    from ..batch import BatchJob

__all__ = ["add_parser", "run"]


def add_parser(subcommands: argparse._SubParsersAction) -> None:
    """Add ``batch`` to the ``audar`` subcommands."""
    from ..registry import DEFAULT_BACKEND

    parser = subcommands.add_parser(
        "batch",
        help="diarize (or transcribe) a corpus into a folder: resumable, on a local pool or on Ray",
        description="Work on every audio file of the inputs with the models loaded once per worker. Outputs "
        "mirror the input tree in DIR and are written atomically; a re-run skips files whose outputs exist "
        "for the same content and options; failed files are listed in DIR/failures.jsonl and the batch goes on "
        "(exit status 1 if any failed).",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="audio files, folders (searched recursively) or manifests (.jsonl, .csv, .tsv: a "
                        "'path' column, optional 'reference', 'uri', 'num_speakers', 'min_speakers', 'max_speakers')")
    parser.add_argument("--output", "-o", required=True, metavar="DIR", help="the output folder")
    parser.add_argument("--format", action="append", metavar="FORMAT",
                        help="output format, repeatable or comma-separated: rttm, json, npz (default rttm); with "
                        "--asr json, diarized_json, srt, vtt, text, rttm (default json)")
    add_backend_options(parser, DEFAULT_BACKEND)
    add_speaker_options(parser)
    add_postprocessing_options(parser)
    add_known_speaker_options(parser)
    add_asr_options(parser.add_argument_group("transcription"), switch=True)
    runs = parser.add_argument_group("where it runs")
    runs.add_argument("--workers", type=int, metavar="N",
                      help="worker processes, each loading the models once (default 1: this process); with --ray, "
                      "Ray actors (default: as many as the cluster's CPUs hold)")
    runs.add_argument("--threads", type=int, metavar="T",
                      help="compute threads per worker (default: the cores shared out; 1 on Ray)")
    runs.add_argument("--oversubscribe", action="store_true", help="allow workers x threads above the cores")
    runs.add_argument("--ray", metavar="auto|ADDRESS",
                      help="run on Ray actors: 'auto' (a running instance, else a new local one) or a cluster "
                      "address; needs the [ray] extra")
    runs.add_argument("--worker-memory", type=float, metavar="GB", help="memory each Ray actor reserves")
    runs.add_argument("--retries", type=int, default=2, metavar="N",
                      help="further attempts for a file whose worker crashed or died (default 2)")
    runs.add_argument("--max-duration", type=float, metavar="SECONDS", help="fail files longer than this")
    scoring = parser.add_argument_group("corpus scoring (DER per file, per group, macro average)")
    scoring.add_argument("--reference", metavar="DIR_OR_RTTM",
                         help="reference RTTM file or folder of them (a manifest's 'reference' column also works)")
    scoring.add_argument("--uem", metavar="DIR_OR_UEM", help="the regions to score")
    scoring.add_argument("--group-by", default="dir", metavar="COLUMN",
                         help="'dir' (the first folder below the inputs' root, the default) or a manifest column")
    scoring.add_argument("--collar", type=float, default=0.0, metavar="SECONDS",
                         help="forgiveness on each side of each reference boundary (as audar eval)")
    scoring.add_argument("--skip-overlap", action="store_true", help="do not score overlapping reference speech")
    add_progress_options(parser, "the progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the batch, print its summary (and scores); 1 if any file failed."""
    from ..batch import BatchInputs, check_scoring, load_references, load_uems, run_batch, score_batch

    job = job_from_args(args)
    references = load_references(args.reference) if args.reference else None
    uems = load_uems(args.uem) if args.uem else None
    scored = references is not None or uems is not None or BatchInputs(args.inputs).references_given()
    if scored:
        job = job.with_format("rttm")
        check_scoring(BatchInputs(args.inputs), references, args.group_by)  # before hours of work, not after
    memory = None if args.worker_memory is None else int(args.worker_memory * 2**30)
    with batch_progress(args) as progress:
        summary = run_batch(args.inputs, args.output, job, workers=args.workers, ray=args.ray, memory=memory,
                            retries=args.retries, progress=progress)
    print(f"{summary.files} files: {summary.done} done, {summary.skipped} skipped (already done), "
          f"{summary.failed} failed" + (f" (see {Path(args.output) / 'failures.jsonl'})" if summary.failed else ""))
    if summary.done:
        print(f"{summary.seconds / 3600:.3f} h of audio in {summary.elapsed:.1f} s: real-time factor "
              f"{summary.real_time_factor:.4f} ({summary.seconds / max(summary.elapsed, 1e-9):.1f}x real time), "
              f"{summary.work / summary.seconds:.4f} per worker; peak worker memory "
              f"{summary.peak_memory / 2**30:.2f} GiB")
    if scored:
        score = score_batch(BatchInputs(args.inputs), args.output, references, uems, args.group_by, args.collar,
                            args.skip_overlap)
        if score.files:
            score.write_csv(Path(args.output) / "der.csv")
            print(score.table(), end="")
            print(f"(per file and group in {Path(args.output) / 'der.csv'})")
        if score.unscored:
            print(f"{len(score.unscored)} files with a reference have no result to score (failed)")
        if not score.files and not score.unscored:
            print("no file had a reference to score against")
    return 1 if summary.failed else 0


def job_from_args(args: argparse.Namespace) -> BatchJob:
    """The :class:`~audar_plugins.batch.BatchJob` the options describe, with paths made absolute (a Ray actor
    may run in another working directory)."""
    from ..batch import AsrSettings, BatchJob, threads_per_worker

    asr = None
    if args.asr is not None:
        asr = AsrSettings(_absolute(args.asr) or None, args.language, args.compute_type, args.beam_size)
    elif args.language is not None:
        raise InvalidOptionError("--language is for transcription: add --asr")
    formats = tuple(name.strip() for given in args.format or () for name in given.split(",") if name.strip())
    threads = args.threads
    if args.ray is None:
        threads = threads_per_worker(args.workers or 1, args.threads, args.oversubscribe)
    counts = {name: getattr(args, name) for name in ("num_speakers", "min_speakers", "max_speakers")
              if getattr(args, name) is not None}
    return BatchJob(
        formats=formats or (("json",) if asr else ("rttm",)),
        backend=args.backend,
        backend_options={name: _absolute(value) for name, value in backend_options_from_args(args).items()},
        speakers=counts,
        postprocessing=postprocessing_from_args(args),
        speaker_clips={name: tuple(map(os.path.abspath, clips)) for name, clips in speaker_clips(args).items()},
        voices=None if args.voices is None else os.path.abspath(args.voices),
        asr=asr,
        max_duration=args.max_duration,
        threads=threads,
    )


def _absolute(value: str) -> str:
    """``value`` as an absolute path when it names an existing file or folder, else as given (a model name)."""
    return os.path.abspath(value) if value and os.path.exists(value) else value
