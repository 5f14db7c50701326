"""``audar tune``: the post-processing of lowest DER on a dev set, for any backend."""

from __future__ import annotations

import argparse
import dataclasses

from ..errors import AudarError, InvalidOptionError
from .options import add_backend_options, add_speaker_options, load_backend_from_args
from .progress import add_progress_options

__all__ = ["add_parser", "run"]


def add_parser(subcommands: argparse._SubParsersAction) -> None:
    """Add ``tune`` to the ``audar`` subcommands."""
    from ..registry import DEFAULT_BACKEND

    parser = subcommands.add_parser(
        "tune",
        help="search the post-processing (onset, offset, pads, durations) of lowest DER on a dev set",
        description="Diarize each dev file once, then try post-processing settings (Optuna's TPE, the "
        "backend's own first) by binarizing the same frame probabilities again, and write the best to "
        "a file that --params reads (audar diarize, batch, serve, pyannote-config). With --test, the "
        "same two settings are scored on separate files too.",
    )
    parser.add_argument("dev", nargs="+", metavar="DEV", help="dev audio files, folders or manifests")
    parser.add_argument("--reference", required=True, metavar="DIR_OR_RTTM", help="references of the dev files")
    parser.add_argument("--uem", metavar="DIR_OR_UEM", help="the regions of the dev files to score")
    parser.add_argument("--test", nargs="+", metavar="TEST", help="test files, scored with the result, not tuned on")
    parser.add_argument("--test-reference", metavar="DIR_OR_RTTM", help="references of the test files "
                        "(default: --reference)")
    parser.add_argument("--test-uem", metavar="DIR_OR_UEM", help="the regions of the test files (default: --uem)")
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="where to write the parameters (JSON)")
    parser.add_argument("--trials", type=int, default=100, metavar="N", help="settings tried (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="the search's seed (default 0)")
    parser.add_argument("--collar", type=float, default=0.0, metavar="SECONDS",
                        help="forgiveness on each side of each reference boundary (as audar eval)")
    parser.add_argument("--skip-overlap", action="store_true", help="do not score overlapping reference speech")
    add_backend_options(parser, DEFAULT_BACKEND)
    add_speaker_options(parser)
    add_progress_options(parser, "progress")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Tune on the dev files, score on the test files, write the parameters and print the DERs."""
    from ..batch import load_references, load_uems
    from ..training.tuning import score, tune_binarization, write_params

    backend = load_backend_from_args(args)
    references = load_references(args.reference)
    uems = load_uems(args.uem) if args.uem else None
    dev = diarize_all(args.dev, references, backend, args)
    result = tune_binarization(dev, {uri: references[uri] for uri in dev}, backend.binarization, uems, args.trials,
                               args.collar, args.skip_overlap, args.seed)
    print(f"dev, {len(dev)} files: DER {100 * result.default.der:.2f} % with {backend.name}'s post-processing, "
          f"{100 * result.best.der:.2f} % tuned ({result.trials} trials)")
    test = None
    if args.test:
        test_references = load_references(args.test_reference) if args.test_reference else references
        test_uems = load_uems(args.test_uem) if args.test_uem else uems
        activities = diarize_all(args.test, test_references, backend, args)
        kept = {uri: test_references[uri] for uri in activities}
        test = (score(activities, kept, backend.binarization, test_uems, args.collar, args.skip_overlap),
                score(activities, kept, result.binarization, test_uems, args.collar, args.skip_overlap))
        print(f"test, {len(activities)} files: DER {100 * test[0].der:.2f} % with {backend.name}'s "
              f"post-processing, {100 * test[1].der:.2f} % tuned")
    write_params(args.output, result, backend.name, test)
    tuned = ", ".join(f"{name} {value:.3f}" for name, value in dataclasses.asdict(result.binarization).items())
    print(f"{tuned}\nwritten to {args.output}")
    return 0


def diarize_all(inputs: list[str], references, backend, args: argparse.Namespace) -> dict:
    """uri -> the backend's activity, for each input file that has a reference."""
    from ..backends.base import SpeakerCount
    from ..batch import BatchInputs
    from ..formats import safe_uri
    from .progress import progress_display

    speakers = SpeakerCount(args.num_speakers, args.min_speakers, args.max_speakers)
    activities = {}
    for item in BatchInputs(inputs):
        if item.uri not in references:
            continue
        if item.uri in activities:
            raise InvalidOptionError(f"two inputs have the uri {item.uri!r}: one reference cannot tell them apart")
        try:
            with progress_display(safe_uri(item.uri), args) as display:
                activities[item.uri] = backend.diarize(item.path, speakers,
                                                       None if display is None else display.update)
        except AudarError as error:
            raise AudarError(f"{item.path}: {error}") from None
    if not activities:
        raise InvalidOptionError(f"none of {', '.join(inputs)} has a reference (by uri) in the references given")
    return activities
