"""The ``audar`` command: diarize files, list backends, score results."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from .cli_options import add_backend_options, add_speaker_options, load_backend_from_args
from .errors import AudarError

__all__ = ["main"]

LONG_INPUT_SECONDS = 60.0
"""Inputs at least this long get a progress bar on an interactive terminal."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 some input failed, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except AudarError as error:
        print(f"audar: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    from .formats import FORMATS
    from .registry import DEFAULT_BACKEND

    parser = argparse.ArgumentParser(prog="audar", description="Speaker diarization: who spoke when.")
    parser.add_argument("--version", action="version", version=f"audar-plugins {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    diarize = commands.add_parser("diarize", help="find who spoke when in audio files")
    diarize.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3, ...)")
    add_backend_options(diarize, DEFAULT_BACKEND)
    add_speaker_options(diarize)
    _add_postprocessing_options(diarize)
    _add_output_options(diarize, FORMATS)
    diarize.add_argument(
        "--plot", metavar="PATH",
        help="draw the speaker timeline to PATH (.png or .svg); with several inputs, PATH-<name>.png each",
    )
    progress = diarize.add_mutually_exclusive_group()
    progress.add_argument("--progress", action="store_true", help="always show a progress bar")
    progress.add_argument("--quiet", action="store_true", help="never show a progress bar")
    diarize.set_defaults(run=_diarize)

    stream = commands.add_parser(
        "stream",
        help="feed a file to a live session in pushes, as a microphone would",
        description="Diarize FILE through a backend's live streaming session, pushing N ms at a "
        "time, and print the result in the same formats as `audar diarize`, so that live and "
        "offline output can be compared from the shell.",
    )
    stream.add_argument("file", metavar="FILE", help="audio file")
    add_backend_options(stream, "sortformer")
    stream.add_argument("--push-ms", type=float, default=100.0, metavar="N", help="milliseconds per push (default 100)")
    _add_postprocessing_options(stream)
    _add_output_options(stream, FORMATS)
    stream.set_defaults(run=_stream)

    expand = commands.add_parser(
        "expand-heads",
        help="widen a Sortformer checkpoint's speaker heads (e.g. 4 -> 8 speakers)",
        description="Copy the trained speaker slots into new ones, plus Gaussian noise scaled to "
        "each head's weight spread (or, with --silent, leave the new slots off), raise the speaker "
        "cache for the new count, and save a loadable .nemo.",
    )
    expand.add_argument("source", metavar="IN.nemo")
    expand.add_argument("target", metavar="OUT.nemo")
    expand.add_argument("--speakers", type=int, default=8, metavar="N", help="speaker slots after expansion (default 8)")
    expand.add_argument("--noise-std", type=float, default=0.01, metavar="X",
                        help="noise on the new slots, relative to the head's weight std (default 0.01)")
    expand.add_argument("--silent", action="store_true", help="new slots start switched off (weights 0, bias -20)")
    expand.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    expand.set_defaults(run=_expand_heads)

    export = commands.add_parser(
        "export-onnx",
        help="export a Streaming Sortformer .nemo for the sortformer-onnx backend (needs NeMo)",
        description="Write OUT_DIR: pre_encode.onnx and encode.onnx (one streaming step's graphs), the "
        "checkpoint's mel filterbank and window, and its settings; the sortformer-onnx backend then runs it "
        "with onnxruntime and NumPy only.",
    )
    export.add_argument("source", metavar="IN.nemo")
    export.add_argument("target", metavar="OUT_DIR")
    export.set_defaults(run=_export_onnx)

    from .serve_command import add_serve_command
    from .transcribe_command import add_transcribe_command

    add_transcribe_command(commands)
    add_serve_command(commands)

    pyannote = commands.add_parser(
        "pyannote-config",
        help="write a pyannote.audio pipeline directory that runs a backend",
        description="Write DIR/config.yaml so that pyannote.audio's Pipeline.from_pretrained(DIR) "
        "(4.x; 3.x takes DIR/config.yaml), `pyannote-audio apply` and WhisperX's --diarize_model "
        "run the chosen backend. Post-processing options become the pipeline's hyper-parameters.",
    )
    pyannote.add_argument("directory", metavar="DIR", help="directory to write config.yaml into")
    add_backend_options(pyannote, DEFAULT_BACKEND)
    pyannote.add_argument("--copy-model", action="store_true",
                          help="copy the checkpoint into DIR and refer to it as $model/NAME (pyannote.audio 4.x)")
    _add_postprocessing_options(pyannote)
    pyannote.set_defaults(run=_pyannote_config)

    backends = commands.add_parser("backends", help="list the registered backends")
    backends.set_defaults(run=_backends)

    evaluate = commands.add_parser(
        "eval",
        help="diarization error rate of RTTM results against a reference",
        description="Score hypothesis RTTM files against a reference RTTM with pyannote.metrics.",
    )
    evaluate.add_argument("hypotheses", nargs="+", metavar="HYP.rttm", help="results to score")
    evaluate.add_argument("--reference", required=True, metavar="REF.rttm", help="reference RTTM")
    evaluate.add_argument("--uem", metavar="U", help="UEM file: the regions to score (default: everything)")
    evaluate.add_argument(
        "--collar", type=float, default=0.0, metavar="SECONDS",
        help="forgiveness in seconds on EACH side of every reference boundary, as dscore and "
        "md-eval read it: --collar 0.25 ignores 0.5 s around each boundary (pyannote.metrics' "
        "own collar is the total width, so it receives twice this value). Default: 0",
    )
    evaluate.add_argument("--skip-overlap", action="store_true", help="do not score overlapping reference speech")
    evaluate.add_argument("--json", action="store_true", help="print the scores as JSON")
    evaluate.set_defaults(run=_eval)
    return parser


def _add_postprocessing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("post-processing (default: the backend's own)")
    group.add_argument("--onset", type=float, metavar="X", help="probability that starts speech")
    group.add_argument("--offset", type=float, metavar="X", help="probability below which speech ends")
    group.add_argument("--pad-onset", type=float, metavar="S", help="seconds added before each segment")
    group.add_argument("--pad-offset", type=float, metavar="S", help="seconds added after each segment")
    group.add_argument("--min-duration-on", type=float, metavar="S", help="drop speech shorter than S")
    group.add_argument("--min-duration-off", type=float, metavar="S", help="fill gaps shorter than S")


def _add_output_options(parser: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    choices = (*formats, "npz")
    parser.add_argument("--format", choices=choices, default="rttm",
                        help="rttm, json (segments) or npz (frame probabilities, frame duration, labels)")
    parser.add_argument(
        "--output", metavar="PATH",
        help="output file, or a directory for one file per input (default: standard output)",
    )


def _postprocessing(args: argparse.Namespace) -> dict[str, float]:
    """The post-processing flags given (``--onset`` ...), by Binarization field name."""
    import dataclasses

    from .activity import Binarization

    names = (field.name for field in dataclasses.fields(Binarization))
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _binarization(args: argparse.Namespace, backend):
    import dataclasses

    return dataclasses.replace(backend.binarization, **_postprocessing(args))


class _Writer:
    """Writes each input's result in the chosen format to a file, a directory or standard output."""

    def __init__(self, args: argparse.Namespace, inputs: int) -> None:
        self.format = args.format
        self.inputs = inputs
        self.directory = _output_directory(args.output)
        self.output = args.output if self.directory is None else None
        if self.format == "npz" and self.output is None and self.directory is None and sys.stdout.isatty():
            raise AudarError("npz is binary: give --output FILE.npz (or a directory), or redirect standard output")
        if self.format == "npz" and inputs > 1 and self.directory is None:
            raise AudarError("npz holds one input: give --output DIR/ for several inputs")

    @contextlib.contextmanager
    def open(self) -> Iterator[_Writer]:
        if self.format == "npz" or self.directory is not None:
            self.stream = None
            yield self
            return
        with _output_stream(self.output) as stream:
            self.stream = stream
            yield self

    def write(self, result, uri: str) -> None:
        from .formats import to_json_line, write, write_npz

        if self.directory is not None:
            target = self.directory / f"{uri}.{self.format}"
            if self.format == "npz":
                write_npz(result.activity, target)
            else:
                with open(target, "w", encoding="utf-8") as file:
                    write(result.annotation, file, self.format)
        elif self.format == "npz":
            if self.output is None:
                write_npz(result.activity, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            else:
                write_npz(result.activity, self.output)
        elif self.format == "json" and self.inputs > 1:
            # several documents in one stream: JSON Lines, each naming its file
            self.stream.write(to_json_line(result.annotation, uri))
        else:
            write(result.annotation, self.stream, self.format)
        if self.stream is not None:
            self.stream.flush()


def _diarize(args: argparse.Namespace) -> int:
    from .formats import safe_uri
    from .pipeline import diarize

    writer = _Writer(args, len(args.files))
    backend = load_backend_from_args(args)
    binarization = _binarization(args, backend)
    status = 0
    with writer.open():
        for path in args.files:
            uri = safe_uri(Path(path).stem)
            try:
                with _progress_bar(uri, args) as progress:
                    result = diarize(
                        path,
                        backend=backend,
                        num_speakers=args.num_speakers,
                        min_speakers=args.min_speakers,
                        max_speakers=args.max_speakers,
                        binarization=binarization,
                        uri=uri,
                        progress=progress,
                    )
            except AudarError as error:
                print(f"audar: error: {path}: {error}", file=sys.stderr)
                status = 1
                continue
            writer.write(result, uri)
            if args.plot:
                from .plotting import plot_timeline

                plot_timeline(result.annotation, _plot_path(args.plot, uri, len(args.files)), result.activity.end)
    return status


def _stream(args: argparse.Namespace) -> int:
    from .activity import SpeakerActivity
    from .audio import SAMPLE_RATE, load_audio
    from .backends.base import StreamingBackend
    from .formats import safe_uri
    from .pipeline import Diarization

    if not 1 <= args.push_ms <= 3_600_000:
        raise AudarError(f"--push-ms must be between 1 and 3600000, got {args.push_ms}")
    writer = _Writer(args, 1)
    backend = load_backend_from_args(args)
    if not isinstance(backend, StreamingBackend):
        raise AudarError(f"backend {args.backend!r} has no live sessions")
    binarization = _binarization(args, backend)
    audio = load_audio(args.file)
    session = backend.open_session()
    push = max(1, round(args.push_ms * SAMPLE_RATE / 1000))
    blocks = [session.push(audio[start : start + push]) for start in range(0, len(audio), push)]
    blocks.append(session.flush())
    activity = SpeakerActivity.concatenate(blocks)
    uri = safe_uri(Path(args.file).stem)
    result = Diarization(activity, activity.to_annotation(binarization, uri), binarization, backend.name)
    with writer.open():
        writer.write(result, uri)
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from .backends.sortformer_onnx.export import export_onnx

    directory = export_onnx(args.source, args.target)
    sizes = sum(path.stat().st_size for path in directory.iterdir()) / 1e6
    print(f"{directory}: {sizes:.1f} MB; use it with --backend sortformer-onnx --model {directory}")
    return 0


def _expand_heads(args: argparse.Namespace) -> int:
    from .training.heads import expand_checkpoint

    before, after = expand_checkpoint(args.source, args.target, speakers=args.speakers,
                                      noise_std=args.noise_std, silent=args.silent, seed=args.seed)
    print(f"{args.target}: {args.speakers} speakers, {after:,} parameters ({after - before:+,})")
    return 0


def _pyannote_config(args: argparse.Namespace) -> int:
    from .adapters.pyannote_config import write_pyannote_config

    path = write_pyannote_config(args.directory, args.backend, model=args.model, device=args.device,
                                 preset=args.preset, postprocessing=_postprocessing(args), copy_model=args.copy_model)
    print(path)
    return 0


def _output_directory(output: str | None) -> Path | None:
    if output is None:
        return None
    path = Path(output)
    if path.is_dir() or output.endswith(os.sep):
        path.mkdir(parents=True, exist_ok=True)
        return path
    return None


@contextlib.contextmanager
def _output_stream(output: str | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    try:
        file = open(output, "w", encoding="utf-8")
    except OSError as error:
        raise AudarError(f"cannot write {output!r}: {error.strerror}") from error
    with file:
        yield file


def _plot_path(plot: str, uri: str, inputs: int) -> str:
    if inputs == 1:
        return plot
    stem, suffix = os.path.splitext(plot)
    return f"{stem}-{uri}{suffix}"


@contextlib.contextmanager
def _progress_bar(name: str, args: argparse.Namespace) -> Iterator:
    """A progress callback drawing a tqdm bar for long inputs on a terminal (or with --progress)."""
    if args.quiet or not (args.progress or sys.stderr.isatty()):
        yield None
        return
    from tqdm import tqdm

    state: dict = {}

    def progress(done: float, total: float) -> None:
        if "bar" not in state:
            if total < LONG_INPUT_SECONDS and not args.progress:
                state["bar"] = None
            else:
                state["bar"] = tqdm(total=round(total, 1), desc=name, unit="s", unit_scale=False, leave=False)
        bar = state["bar"]
        if bar is not None:
            bar.update(round(done, 1) - bar.n)
            if done >= total:
                bar.refresh()

    try:
        yield progress
    finally:
        if state.get("bar") is not None:
            state["bar"].close()


def _backends(args: argparse.Namespace) -> int:
    from .registry import DEFAULT_BACKEND, available_backends

    backends = available_backends()
    width = max((len(name) for name in backends), default=0)
    for name, target in backends.items():
        marker = "  (default)" if name == DEFAULT_BACKEND else ""
        print(f"{name:<{width}}  {target}{marker}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .evaluation import diarization_error_rate
    from .formats import read_rttm, read_uem

    references = read_rttm(args.reference)
    hypotheses = {}
    for path in args.hypotheses:
        for uri, annotation in read_rttm(path).items():
            if uri in hypotheses:
                raise AudarError(f"{uri!r} appears in more than one hypothesis file")
            hypotheses[uri] = annotation
    uems = read_uem(args.uem) if args.uem else None
    report = diarization_error_rate(references, hypotheses, uems, collar=args.collar, skip_overlap=args.skip_overlap)
    rows = [(uri, c) for uri, c in report.files.items()] + [("TOTAL", report.total)]
    if args.json:
        print(json.dumps({
            "collar": args.collar,
            "skip_overlap": args.skip_overlap,
            "files": {
                uri: {"der": c.der, "false_alarm": c.false_alarm, "missed": c.missed,
                      "confusion": c.confusion, "total": c.total}
                for uri, c in rows
            },
        }, indent=2))
        return 0
    width = max(len(uri) for uri, _ in rows)
    print(f"{'file':<{width}}  {'DER%':>6}  {'FA%':>6}  {'miss%':>6}  {'conf%':>6}  {'speech s':>8}")
    for uri, c in rows:
        share = (lambda value: 100 * value / c.total) if c.total else (lambda value: 0.0)
        print(f"{uri:<{width}}  {100 * c.der:6.2f}  {share(c.false_alarm):6.2f}  {share(c.missed):6.2f}  "
              f"{share(c.confusion):6.2f}  {c.total:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
