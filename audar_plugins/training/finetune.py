"""Fine-tune a Sortformer ``.nemo`` as the model card's recipe did, on NeMo's data loader and Lightning.

- The FastConformer encoder (with its pre-encoder) is frozen by default, and kept in eval mode
  so its batch-norm statistics and dropout stay as they were: its weights come out bit-identical.
- The loss is ``ATS + PIL`` (:class:`~audar_plugins.training.loss.SortformerLoss`) on the
  model's own BCE, by assignment, so 8 speakers train in the memory 4 do.
- AdamW, with NeMo's ``CosineAnnealing`` schedule after a linear warm-up.
- Every ``check_every`` steps, the dev manifest's loss and DER (collar 0, overlap scored,
  against the RTTM frames the data loader made) are logged, and a checkpoint is written.
- A rerun with the same work folder resumes from the last checkpoint and ends in the same
  state as a run that was never interrupted: data order and every random draw (dropout,
  NeMo's random causal attention) are functions of the seed and the step.

NeMo's own ``AudioToSpeechE2ESpkDiarDataset`` reads the manifests (see :mod:`.manifests`).
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends.sortformer_core.presets import StreamingConfig
from ..errors import InvalidOptionError, TrainingDataError
from .loss import LossWeights, SortformerLoss
from .manifests import DEFAULT_SEGMENT, check_manifest

if TYPE_CHECKING:
    import torch

__all__ = ["FinetuneOptions", "FinetuneResult", "finetune", "frame_der"]

logger = logging.getLogger(__name__)

FRAME = 0.08
"""Seconds per Sortformer output frame."""

TRAINING_STREAMING = StreamingConfig(chunk_len=188, chunk_right_context=1, fifo_len=0, spkcache_update_period=188)
"""The streaming settings NeMo's v2 recipe trains with (``streaming_sortformer_diarizer_4spk-v2.yaml``): 15 s
chunks, so a 90 s sample is six streaming steps. Inference presets are set per session and are not changed."""

LAST_CHECKPOINT = "last.ckpt"
HISTORY = "history.jsonl"


@dataclass(frozen=True)
class FinetuneOptions:
    """The recipe's knobs; the defaults are the model card's phase-1 settings scaled to one machine."""

    max_steps: int = 2000
    batch_size: int = 4
    learning_rate: float = 1e-4
    min_learning_rate: float = 1e-6
    weight_decay: float = 1e-3
    warmup_steps: int = 100
    check_every: int = 100
    """Steps between dev-set evaluations and checkpoints."""
    loss_weights: LossWeights = field(default_factory=LossWeights)
    frozen: tuple[str, ...] = ("encoder",)
    """Top-level modules of the model whose weights do not train (``()`` to train everything)."""
    segment: float = DEFAULT_SEGMENT
    """Longest training sample in seconds (NeMo's ``session_len_sec``)."""
    streaming: StreamingConfig = TRAINING_STREAMING
    """The streaming settings of streaming models during training and dev evaluation."""
    gradient_clip: float = 1.0
    keep: str = "best"
    """Which weights the output gets: ``"best"``, those of the evaluation with the lowest dev DER
    (the starting model's included), or ``"last"``."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("max_steps", "batch_size", "check_every"):
            if getattr(self, name) < 1:
                raise InvalidOptionError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_steps < self.max_steps:
            raise InvalidOptionError(f"warmup_steps must be in [0, max_steps), got {self.warmup_steps}")
        if not 0 <= self.min_learning_rate <= self.learning_rate:
            raise InvalidOptionError("learning rates must satisfy 0 <= min_learning_rate <= learning_rate")
        if self.keep not in ("best", "last"):
            raise InvalidOptionError(f"keep must be 'best' or 'last', got {self.keep!r}")
        if not self.segment > 0 or not self.gradient_clip >= 0 or not self.weight_decay >= 0:
            raise InvalidOptionError("segment must be > 0; gradient_clip and weight_decay >= 0")


@dataclass(frozen=True)
class FinetuneResult:
    """Where the model went and how the dev set went, one row per evaluation."""

    model: Path
    history: list[dict[str, float]]
    resumed_from_step: int
    kept_step: int
    """The step whose weights the output holds (0: the starting model's)."""


def finetune(
    checkpoint: str | os.PathLike,
    train_manifest: str | os.PathLike,
    dev_manifest: str | os.PathLike,
    output: str | os.PathLike,
    work_dir: str | os.PathLike,
    options: FinetuneOptions = FinetuneOptions(),
    progress: bool = False,
) -> FinetuneResult:
    """Fine-tune ``checkpoint`` on ``train_manifest`` and save the result as the ``.nemo`` ``output``.

    Everything is checked before training starts: the checkpoint must be a Sortformer, and the
    manifests' audio and RTTMs usable with its speaker count. Checkpoints go to ``work_dir``; if
    it already holds one, training resumes from it.
    """
    from ..backends.sortformer.checkpoint import load_sortformer, read_checkpoint

    info = read_checkpoint(Path(checkpoint))
    for manifest in (train_manifest, dev_manifest):
        check_manifest(manifest, info.num_speakers)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    _check_same_run(work_dir, checkpoint, train_manifest, dev_manifest, options)
    model = load_sortformer(Path(checkpoint))
    for name in options.frozen:
        if not hasattr(model, name):
            raise InvalidOptionError(f"the model has no module {name!r} to freeze")

    module = _lightning_module()(model, str(train_manifest), str(dev_manifest), options)
    trainer = _trainer(work_dir, options, progress)
    last = work_dir / LAST_CHECKPOINT
    with _streaming_settings(model, options.streaming.for_speakers(model.sortformer_modules.n_spk)):
        if not last.exists():
            (work_dir / HISTORY).unlink(missing_ok=True)
            trainer.validate(module, verbose=False)  # the starting point, as step 0 of the history
        trainer.fit(module, ckpt_path=str(last) if last.exists() else None)
    history = [json.loads(line) for line in (work_dir / HISTORY).read_text().splitlines()]
    kept = int(trainer.global_step)
    if options.keep == "best":
        best = min(history, key=lambda row: (row["dev_der"], row["step"]))["step"]
        if best != kept:
            model.load_state_dict(_weights_at(best, work_dir, checkpoint))
            kept = best
    model.eval()
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    model.save_to(str(output))
    return FinetuneResult(Path(output), history, module.resumed_from_step, kept)


def _weights_at(step: int, work_dir: Path, start: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The model's weights after ``step`` (0: the starting checkpoint's)."""
    import torch

    from ..backends.sortformer.checkpoint import load_sortformer

    if step == 0:
        return load_sortformer(Path(start)).state_dict()
    state = torch.load(work_dir / f"best-step{step}.ckpt", map_location="cpu", weights_only=False)["state_dict"]
    return {name.removeprefix("model."): value for name, value in state.items()}


def _check_same_run(work_dir: Path, checkpoint, train_manifest, dev_manifest, options: FinetuneOptions) -> None:
    """A work folder belongs to one run: resuming with other inputs or settings would mix two."""
    settings = {"checkpoint": str(Path(checkpoint).resolve()), "train": str(Path(train_manifest).resolve()),
                "dev": str(Path(dev_manifest).resolve()), "options": json.loads(json.dumps(asdict(options)))}
    record = work_dir / "run.json"
    if record.exists() and (work_dir / LAST_CHECKPOINT).exists():
        previous = json.loads(record.read_text())
        if previous != settings:
            changed = sorted(key for key in settings if previous.get(key) != settings[key])
            raise InvalidOptionError(f"{work_dir} holds a run with other {', '.join(changed)}; "
                                     "use another work folder, or remove it to start over")
    record.write_text(json.dumps(settings, indent=2))


@contextmanager
def _streaming_settings(model, config: StreamingConfig) -> Iterator[None]:
    """The model's streaming settings set to ``config`` for a while, then put back as the checkpoint had them."""
    modules = model.sortformer_modules
    saved = {name: getattr(modules, name) for name in config.as_dict()}
    for name, value in config.as_dict().items():
        setattr(modules, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(modules, name, value)


def _trainer(work_dir: Path, options: FinetuneOptions, progress: bool):
    import lightning.pytorch as pl

    # last.ckpt to resume from, and the checkpoint of lowest dev DER (the earliest of equals)
    saver = pl.callbacks.ModelCheckpoint(dirpath=work_dir, filename="best-step{step}", auto_insert_metric_name=False,
                                         every_n_epochs=1, monitor="dev_der", mode="min", save_top_k=1,
                                         save_last=True, enable_version_counter=False)
    return pl.Trainer(
        accelerator="cpu", devices=1, max_steps=options.max_steps, max_epochs=-1,
        check_val_every_n_epoch=1, num_sanity_val_steps=0, gradient_clip_val=options.gradient_clip or None,
        callbacks=[saver], logger=False, enable_progress_bar=progress, enable_model_summary=False,
        default_root_dir=str(work_dir), deterministic=False,
    )


def frame_der(predictions: np.ndarray, targets: np.ndarray, threshold: float = 0.5) -> tuple[float, float]:
    """``(errors, reference speech)`` in seconds for one sample's frames, by pyannote.metrics (collar 0,
    overlap scored, the optimal speaker mapping)."""
    from pyannote.core import Segment, Timeline

    from ..activity import Binarization, SpeakerActivity
    from ..evaluation import diarization_error_rate

    binarization = Binarization(onset=threshold, offset=threshold)
    hypothesis = SpeakerActivity(predictions, FRAME).to_annotation(binarization, uri="sample")
    reference = SpeakerActivity(targets, FRAME).to_annotation(binarization, uri="sample")
    uem = Timeline([Segment(0, targets.shape[0] * FRAME)], uri="sample")
    total = diarization_error_rate({"sample": reference}, {"sample": hypothesis}, {"sample": uem}).total
    return total.false_alarm + total.missed + total.confusion, total.total


class StepSampler:
    """Sample indices for ``steps`` batches per Lightning epoch, continuing one seeded stream of
    shuffled passes over the data: batch ``g`` is the same whatever epoch boundaries or resumes
    came before, so a resumed run sees the data an uninterrupted one does."""

    def __init__(self, size: int, batch_size: int, steps: int, seed: int) -> None:
        self.size, self.batch_size, self.steps, self.seed = size, batch_size, steps, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.steps * self.batch_size

    def __iter__(self) -> Iterator[int]:
        first = self.epoch * len(self)
        order, current = np.empty(0, dtype=np.int64), -1
        for position in range(first, first + len(self)):
            data_pass, within = divmod(position, self.size)
            if data_pass != current:
                order, current = np.random.default_rng([self.seed, data_pass]).permutation(self.size), data_pass
            yield int(order[within])


def _record(history: Path, row: dict[str, float]) -> None:
    """Add an evaluation to the history, replacing those of this step and later: a resumed run evaluates
    again what the interrupted one evaluated after its last checkpoint."""
    rows = [json.loads(line) for line in history.read_text().splitlines()] if history.exists() else []
    rows = [kept for kept in rows if kept["step"] < row["step"]] + [row]
    history.write_text("".join(json.dumps(kept) + "\n" for kept in rows))


def _seed_step(seed: int, step: int) -> None:
    """Every random draw of a training step (dropout, NeMo's causal-attention coin) from (seed, step)."""
    import torch

    torch.manual_seed(seed * 1_000_003 + step)
    random.seed(seed * 1_000_003 + step)


def _lightning_module():
    """The LightningModule class (built on first use: Lightning and torch import only for training)."""
    import lightning.pytorch as pl
    import torch

    class SortformerFinetuning(pl.LightningModule):
        """Trains the wrapped NeMo Sortformer; NeMo's data loader, our loss, AdamW and NeMo's schedule."""

        def __init__(self, model, train_manifest: str, dev_manifest: str, options: FinetuneOptions) -> None:
            super().__init__()
            self.model = model
            self.options = options
            self.criterion = SortformerLoss(model.loss, options.loss_weights)
            self.train_manifest, self.dev_manifest = train_manifest, dev_manifest
            for name in options.frozen:
                getattr(model, name).requires_grad_(False)
            self.resumed_from_step = 0
            self._dev_losses: list[tuple[float, int]] = []
            self._dev_errors: list[tuple[float, float]] = []

        def train(self, mode: bool = True):
            super().train(mode)
            for name in self.options.frozen:  # frozen parts keep their batch-norm statistics and no dropout
                getattr(self.model, name).eval()
            return self

        def _loader(self, manifest: str, training: bool):
            from omegaconf import OmegaConf

            config = OmegaConf.create({
                "manifest_filepath": manifest, "sample_rate": 16000, "num_spks": self.model.sortformer_modules.n_spk,
                "session_len_sec": self.options.segment, "soft_label_thres": 0.5, "soft_targets": False,
                "batch_size": self.options.batch_size, "num_workers": 0, "shuffle": False,
            })
            self.model.setup_validation_data(config)  # NeMo builds its dataset from the config
            dataset = self.model._validation_dl.dataset
            self.model._validation_dl = None
            if len(dataset) == 0:
                raise TrainingDataError(f"{manifest} has no usable entries")
            sampler = StepSampler(len(dataset), self.options.batch_size, self.options.check_every,
                                  self.options.seed) if training else None
            return torch.utils.data.DataLoader(dataset, batch_size=self.options.batch_size, sampler=sampler,
                                               collate_fn=dataset.eesd_train_collate_fn, num_workers=0)

        def train_dataloader(self):
            return self._loader(self.train_manifest, training=True)

        def val_dataloader(self):
            return self._loader(self.dev_manifest, training=False)

        def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
            self.resumed_from_step = int(checkpoint["global_step"])  # read from the checkpoint Lightning loads

        def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
            _seed_step(self.options.seed, self.global_step)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            audio, audio_lengths, targets, target_lengths = batch
            predictions = self.model(audio_signal=audio, audio_signal_length=audio_lengths)
            losses = self.criterion(predictions, targets, target_lengths)
            self.log_dict({f"train_{k}": v for k, v in losses.items()}, on_step=True, batch_size=audio.shape[0])
            return losses["loss"]

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            audio, audio_lengths, targets, target_lengths = batch
            predictions = self.model(audio_signal=audio, audio_signal_length=audio_lengths)
            loss = float(self.criterion(predictions, targets, target_lengths)["loss"])
            self._dev_losses.append((loss, len(target_lengths)))
            for sample, length in enumerate(target_lengths.tolist()):
                length = min(length, predictions.shape[1])
                self._dev_errors.append(frame_der(predictions[sample, :length].float().numpy(),
                                                  targets[sample, :length].float().numpy()))

        def on_validation_epoch_end(self) -> None:
            losses, errors = self._dev_losses, self._dev_errors
            self._dev_losses, self._dev_errors = [], []
            if not losses:
                return
            loss = sum(value * count for value, count in losses) / sum(count for _, count in losses)
            speech = sum(row[1] for row in errors)
            der = sum(row[0] for row in errors) / speech if speech else 0.0
            self.log_dict({"dev_loss": loss, "dev_der": der})
            optimizers = self.trainer.optimizers
            row = {"step": int(self.global_step), "dev_loss": loss, "dev_der": der,
                   "learning_rate": float(optimizers[0].param_groups[0]["lr"]) if optimizers else 0.0}
            logger.info("step %(step)d: dev loss %(dev_loss).4f, DER %(dev_der).4f", row)
            _record(Path(self.trainer.default_root_dir) / HISTORY, row)

        def configure_optimizers(self):
            from nemo.core.optim.lr_scheduler import CosineAnnealing

            trainable = [p for p in self.model.parameters() if p.requires_grad]
            optimizer = torch.optim.AdamW(trainable, lr=self.options.learning_rate,
                                          weight_decay=self.options.weight_decay)
            schedule = CosineAnnealing(optimizer, max_steps=self.options.max_steps,
                                       warmup_steps=self.options.warmup_steps, min_lr=self.options.min_learning_rate)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    return SortformerFinetuning

