"""Sortformer's training loss, ATS + PIL, by optimal assignment instead of permutation enumeration.

NeMo (2.6-3.0) picks the label permutation that best matches the predictions by scoring all
``n!`` of them at once (a ``(batch, frames, n!, n)`` tensor: 8! = 40,320). The score of a
permutation is a sum over output slots of ``sum_t pred[t, slot] * label[t, speaker]``, so it
is a linear assignment problem: the Hungarian algorithm on an ``n x n`` matrix per sample
finds the same optimum.

- **PIL** (permutation-invariant): the assignment of label speakers to output slots that
  maximises the match score.
- **ATS** (arrival-time sort): slots take speakers in order of their first active frame; only
  speakers that arrive on the same frame (and the silent ones) may swap, and among those the
  best-matching assignment wins, again by the Hungarian algorithm within each tie group.

The binary cross-entropy itself is the model's own (``model.loss``, NeMo's ``BCELoss``), so a
checkpoint's loss settings are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidOptionError

if TYPE_CHECKING:
    import torch

__all__ = ["LossWeights", "SortformerLoss", "arrival_targets", "first_active_frames", "permutation_targets"]

ACTIVE = 0.5
"""A label frame at or above this counts as speech when finding arrival times (NeMo's threshold)."""


@dataclass(frozen=True)
class LossWeights:
    """``ats * ATS + pil * PIL``, normalised to sum to 1 as NeMo does."""

    ats: float = 0.5
    pil: float = 0.5

    def __post_init__(self) -> None:
        if not (self.ats >= 0 and self.pil >= 0 and self.ats + self.pil > 0):
            raise InvalidOptionError(f"loss weights must be >= 0 and not both 0, got ATS {self.ats}, PIL {self.pil}")

    @property
    def normalised(self) -> tuple[float, float]:
        total = self.ats + self.pil
        return self.ats / total, self.pil / total


def match_scores(predictions: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """``(batch, slot, speaker)``: how well output slot ``s`` matches label speaker ``k``, summed over frames."""
    import torch

    with torch.no_grad():
        scores = torch.einsum("bts,btk->bsk", predictions.detach().double(), labels.detach().double())
    return scores.cpu().numpy()


def first_active_frames(labels: torch.Tensor) -> np.ndarray:
    """``(batch, speaker)``: each speaker's first frame at or above :data:`ACTIVE`; the frame count if never."""
    active = (labels.detach() >= ACTIVE).cpu().numpy()
    first = active.argmax(axis=1)
    first[~active.any(axis=1)] = labels.shape[1]
    return first


def permutation_targets(labels: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """The labels with their speakers reordered to best match the predictions (PIL targets)."""
    from scipy.optimize import linear_sum_assignment

    order = np.empty(labels.shape[::2], dtype=np.int64)
    for sample, scores in enumerate(match_scores(predictions, labels)):
        _, order[sample] = linear_sum_assignment(scores, maximize=True)
    return _reorder(labels, order)


def arrival_targets(labels: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """The labels with their speakers in order of arrival (ATS targets); ties go to the best match."""
    from scipy.optimize import linear_sum_assignment

    arrivals = first_active_frames(labels)
    order = np.empty(labels.shape[::2], dtype=np.int64)
    for sample, scores in enumerate(match_scores(predictions, labels)):
        by_arrival = np.argsort(arrivals[sample], kind="stable")
        slots_by_time = arrivals[sample][by_arrival]
        for arrival in np.unique(slots_by_time):
            slots = np.flatnonzero(slots_by_time == arrival)
            speakers = by_arrival[slots]
            _, chosen = linear_sum_assignment(scores[np.ix_(slots, speakers)], maximize=True)
            order[sample, slots] = speakers[chosen]
    return _reorder(labels, order)


def _reorder(labels: torch.Tensor, order: np.ndarray) -> torch.Tensor:
    import torch

    index = torch.as_tensor(order, device=labels.device).unsqueeze(1).expand(-1, labels.shape[1], -1)
    return torch.gather(labels, 2, index)


class SortformerLoss:
    """``ats * BCE(preds, ATS targets) + pil * BCE(preds, PIL targets)`` for any speaker count.

    ``bce`` is called as ``bce(probs=, labels=, target_lens=)``, NeMo's ``BCELoss`` signature;
    pass the model's own ``model.loss``.
    """

    def __init__(self, bce: Callable[..., torch.Tensor], weights: LossWeights = LossWeights()) -> None:
        self.bce = bce
        self.weights = weights

    def __call__(self, predictions: torch.Tensor, labels: torch.Tensor,
                 lengths: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"loss", "ats_loss", "pil_loss"}`` for predictions and labels ``(batch, frames, speakers)``.

        Labels longer than the predictions are cut to them, as NeMo does.
        """
        if labels.shape[0] != predictions.shape[0] or labels.shape[2] != predictions.shape[2]:
            raise InvalidOptionError(
                f"labels {tuple(labels.shape)} do not fit predictions {tuple(predictions.shape)}: "
                "batch and speaker counts must match"
            )
        labels = labels.to(predictions.dtype)[:, : predictions.shape[1]]
        lengths = lengths.clamp(max=predictions.shape[1])
        ats_loss = self.bce(probs=predictions, labels=arrival_targets(labels, predictions), target_lens=lengths)
        pil_loss = self.bce(probs=predictions, labels=permutation_targets(labels, predictions), target_lens=lengths)
        ats, pil = self.weights.normalised
        return {"loss": ats * ats_loss + pil * pil_loss, "ats_loss": ats_loss, "pil_loss": pil_loss}
