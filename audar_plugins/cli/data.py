"""``audar data``: NeMo training manifests, from annotated recordings or simulated conversations.

- ``audar data slice AUDIO... --reference RTTM -o train.json``: cut annotated recordings into
  90 s training segments.
- ``audar data simulate SPEAKERS... -o DIR``: mix single-speaker recordings into conversations
  of 2-8 speakers with exact references.
- ``audar data check MANIFEST --speakers N``: what ``audar finetune`` checks before training.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidOptionError

__all__ = ["add_parser", "run_check", "run_simulate", "run_slice"]


def add_parser(subcommands: argparse._SubParsersAction) -> None:
    """Add ``data`` and its three actions to the ``audar`` subcommands."""
    from ..training.manifests import DEFAULT_SEGMENT

    parser = subcommands.add_parser(
        "data", help="write NeMo training manifests: sliced recordings or simulated conversations",
        description="Training data for audar finetune, as NeMo diarization manifests (JSON Lines: "
        "audio_filepath, offset, duration, rttm_filepath, num_speakers).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    slicer = actions.add_parser("slice", help="cut annotated recordings into training segments",
                                description="One manifest line per segment of each recording; each "
                                "recording's reference is written as RTTM_DIR/<uri>.rttm.")
    slicer.add_argument("audio", nargs="+", metavar="AUDIO", help="audio files or folders of them")
    slicer.add_argument("--reference", required=True, metavar="DIR_OR_RTTM",
                        help="RTTM file or folder of them; uris are the audio files' names without extension")
    slicer.add_argument("--output", "-o", required=True, metavar="MANIFEST")
    slicer.add_argument("--rttm-dir", metavar="DIR", help="where the per-recording RTTMs go "
                        "(default: a folder 'rttm' beside the manifest)")
    slicer.add_argument("--segment", type=float, default=DEFAULT_SEGMENT, metavar="SECONDS",
                        help=f"segment length (default {DEFAULT_SEGMENT:g})")
    slicer.add_argument("--min-segment", type=float, default=5.0, metavar="SECONDS",
                        help="keep a shorter last segment if at least this long (default 5)")
    slicer.set_defaults(run=run_slice)

    simulator = actions.add_parser("simulate", help="mix single-speaker recordings into conversations",
                                   description="Each folder of audio files is one speaker; a folder of "
                                   "such folders (LibriSpeech's layout) is one speaker per subfolder.")
    simulator.add_argument("speakers", nargs="+", metavar="FOLDER")
    simulator.add_argument("--output", "-o", required=True, metavar="DIR", help="where the WAV and RTTM files go")
    simulator.add_argument("--manifest", metavar="FILE", help="default: DIR/manifest.json")
    simulator.add_argument("--conversations", type=int, default=100, metavar="N", help="default 100")
    simulator.add_argument("--num-speakers", type=_range(int), default=(2, 4), metavar="MIN-MAX",
                           help="speakers per conversation (default 2-4, at most 8)")
    simulator.add_argument("--recordings", type=_range(int), default=(1, 2), metavar="MIN-MAX",
                           help="recordings of each speaker per conversation (default 1-2)")
    simulator.add_argument("--overlap-probability", type=float, default=0.2, metavar="P",
                           help="chance that a speaker change overlaps the previous turn (default 0.2)")
    simulator.add_argument("--overlap-ratio", type=float, metavar="R",
                           help="aim for this share of overlapped speech instead: overlap at every change while "
                           "below it (how high it can go depends on the turns and --overlap; the share "
                           "reached is printed)")
    simulator.add_argument("--overlap", type=_range(float), default=(0.2, 0.8), metavar="MIN-MAX",
                           help="seconds of each overlap (default 0.2-0.8)")
    simulator.add_argument("--gap", type=_range(float), default=(0.15, 0.8), metavar="MIN-MAX",
                           help="seconds of silence between turns that do not overlap (default 0.15-0.8)")
    simulator.add_argument("--room", action="store_true", help="reverberation and background noise")
    simulator.add_argument("--rt60", type=_range(float), default=(0.15, 0.5), metavar="MIN-MAX",
                           help="with --room: reverberation time in seconds (default 0.15-0.5)")
    simulator.add_argument("--snr", type=_range(float), default=(10.0, 30.0), metavar="MIN-MAX",
                           help="with --room: signal-to-noise ratio in dB (default 10-30)")
    simulator.add_argument("--seed", type=int, default=0)
    simulator.add_argument("--prefix", default="sim", help="file names: PREFIX00000.wav, ... (default sim)")
    simulator.set_defaults(run=run_simulate)

    checker = actions.add_parser("check", help="check a manifest as audar finetune does before training")
    checker.add_argument("manifest", metavar="MANIFEST")
    checker.add_argument("--speakers", type=int, default=8, metavar="N", help="the model's outputs (default 8)")
    checker.set_defaults(run=run_check)


def _range(kind: Callable[[str], Any]) -> Callable[[str], tuple[Any, Any]]:
    """An argparse type for ``MIN-MAX`` (or one value, both ends)."""

    def parse(text: str) -> tuple[Any, Any]:
        low, _, high = text.partition("-")
        try:
            return kind(low), kind(high or low)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected MIN-MAX or a single value, got {text!r}") from None

    return parse


def run_slice(args: argparse.Namespace) -> int:
    """Write the manifest of the recordings' segments."""
    from ..batch import BatchInputs, load_references
    from ..training.manifests import pair_recordings, slice_recordings, write_manifest

    references = load_references(args.reference)
    files = [item.path for item in BatchInputs(args.audio)]
    audio = pair_recordings(files, references)
    rttm_dir = Path(args.rttm_dir) if args.rttm_dir else Path(args.output).resolve().parent / "rttm"
    entries = slice_recordings(audio, references, rttm_dir, args.segment, args.min_segment)
    count = write_manifest(entries, args.output)
    hours = sum(entry.duration for entry in entries) / 3600
    print(f"{args.output}: {count} segments of {len(audio)} recordings, {hours:.2f} h, "
          f"up to {max(entry.num_speakers for entry in entries)} speakers per segment")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    """Write the conversations and their manifest."""
    from ..simulation import ConversationOptions, RoomOptions
    from ..training.manifests import write_manifest
    from ..training.synthetic import CorpusOptions, find_speakers, simulate_corpus

    if not args.room and (args.rt60 != (0.15, 0.5) or args.snr != (10.0, 30.0)):
        raise InvalidOptionError("--rt60 and --snr need --room")
    options = CorpusOptions(
        conversations=args.conversations, speakers=args.num_speakers, recordings_per_speaker=args.recordings,
        conversation=ConversationOptions(gap=args.gap, overlap_probability=args.overlap_probability,
                                         overlap=args.overlap, overlap_ratio=args.overlap_ratio),
        room=RoomOptions(rt60=args.rt60, snr_db=args.snr) if args.room else None)
    summary = simulate_corpus(find_speakers(args.speakers), args.output, options, args.seed, args.prefix)
    manifest = args.manifest or str(Path(args.output) / "manifest.json")
    write_manifest(summary.entries, manifest)
    print(f"{manifest}: {len(summary.entries)} conversations, {summary.hours:.2f} h, "
          f"{100 * summary.overlap_ratio:.1f} % of speech overlapped")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Check the manifest and print what it holds."""
    from ..training.manifests import check_manifest

    entries = check_manifest(args.manifest, args.speakers)
    hours = sum(entry.duration for entry in entries) / 3600
    print(f"{args.manifest}: {len(entries)} segments, {hours:.2f} h, ok for a {args.speakers}-speaker model")
    return 0
