"""``audar finetune``: the model card's training recipe on a Sortformer ``.nemo``."""

from __future__ import annotations

import argparse
import os

__all__ = ["add_parser", "run"]


def add_parser(subcommands: argparse._SubParsersAction) -> None:
    """Add ``finetune`` to the ``audar`` subcommands."""
    from ..training.finetune import FinetuneOptions

    defaults = FinetuneOptions()
    parser = subcommands.add_parser(
        "finetune", help="fine-tune a Sortformer .nemo (frozen encoder, ATS + PIL loss)",
        description="Fine-tune on a NeMo manifest (audar data writes them) with the FastConformer encoder "
        "frozen, a loss of ATS + PIL by optimal assignment (8 speakers fit in memory), AdamW and a cosine "
        "schedule after warm-up. Every --check-every steps the dev manifest's loss and DER are printed and a "
        "checkpoint is written to --work-dir; running the same command again resumes from it. For 8 speakers, "
        "train at 4, widen with audar expand-heads, and fine-tune the result.")
    parser.add_argument("model", metavar="MODEL.nemo", help="the Sortformer to start from")
    parser.add_argument("--train", required=True, metavar="MANIFEST", help="training manifest")
    parser.add_argument("--dev", required=True, metavar="MANIFEST", help="validation manifest")
    parser.add_argument("--output", "-o", required=True, metavar="OUT.nemo")
    parser.add_argument("--work-dir", required=True, metavar="DIR", help="checkpoints and the dev history")
    parser.add_argument("--max-steps", type=int, default=defaults.max_steps, metavar="N")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, metavar="N")
    parser.add_argument("--lr", type=float, default=defaults.learning_rate, metavar="X", help="peak learning rate")
    parser.add_argument("--min-lr", type=float, default=defaults.min_learning_rate, metavar="X")
    parser.add_argument("--weight-decay", type=float, default=defaults.weight_decay, metavar="X")
    parser.add_argument("--warmup-steps", type=int, default=defaults.warmup_steps, metavar="N")
    parser.add_argument("--check-every", type=int, default=defaults.check_every, metavar="N",
                        help=f"steps between dev evaluations and checkpoints (default {defaults.check_every})")
    parser.add_argument("--ats-weight", type=float, default=defaults.loss_weights.ats, metavar="W")
    parser.add_argument("--pil-weight", type=float, default=defaults.loss_weights.pil, metavar="W")
    parser.add_argument("--unfreeze", action="store_true", help="train the encoder too")
    parser.add_argument("--segment", type=float, default=defaults.segment, metavar="SECONDS",
                        help=f"longest training sample (default {defaults.segment:g})")
    parser.add_argument("--gradient-clip", type=float, default=defaults.gradient_clip, metavar="X",
                        help="gradient norm limit, 0 for none")
    parser.add_argument("--keep", choices=("best", "last"), default=defaults.keep,
                        help="the output's weights: those of the lowest dev DER (default), or the last step's")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--progress", action="store_true", help="show Lightning's progress bar")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train, save the model, and print the dev history."""
    if not args.progress:  # NeMo's forward draws a bar per dev batch; read by tqdm when it is first imported
        os.environ.setdefault("TQDM_DISABLE", "1")
    from ..training.finetune import FinetuneOptions, finetune
    from ..training.loss import LossWeights

    options = FinetuneOptions(
        max_steps=args.max_steps, batch_size=args.batch_size, learning_rate=args.lr, min_learning_rate=args.min_lr,
        weight_decay=args.weight_decay, warmup_steps=args.warmup_steps, check_every=args.check_every,
        loss_weights=LossWeights(args.ats_weight, args.pil_weight), frozen=() if args.unfreeze else ("encoder",),
        segment=args.segment, gradient_clip=args.gradient_clip, keep=args.keep, seed=args.seed)
    result = finetune(args.model, args.train, args.dev, args.output, args.work_dir, options, progress=args.progress)
    if result.resumed_from_step:
        print(f"resumed from step {result.resumed_from_step}")
    print("step  dev loss  dev DER %")
    for row in result.history:
        print(f"{row['step']:>4}  {row['dev_loss']:8.4f}  {100 * row['dev_der']:9.2f}")
    print(f"{result.model}: saved, with the weights of step {result.kept_step}")
    return 0
