"""ATS + PIL by assignment: equal to NeMo's own enumerating loss at 4 speakers, and no factorial at 8."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from audar_plugins.errors import InvalidOptionError
from audar_plugins.training.loss import LossWeights, SortformerLoss, arrival_targets, permutation_targets


def random_batch(speakers: int, batch: int = 6, frames: int = 120, seed: int = 0):
    """Random predictions, and labels with silent speakers, ties in arrival and padded samples."""
    generator = torch.Generator().manual_seed(seed)
    predictions = torch.rand(batch, frames, speakers, generator=generator).requires_grad_(True)
    labels = (torch.rand(batch, frames, speakers, generator=generator) < 0.3).float()
    lengths = torch.randint(frames // 2, frames + 1, (batch,), generator=generator)
    for sample in range(batch):
        labels[sample, lengths[sample]:] = 0
        silent = int(torch.randint(0, speakers - 1, (1,), generator=generator))
        labels[sample, :, speakers - silent:] = 0
        labels[sample, : int(torch.randint(0, 20, (1,), generator=generator))] = 0
    labels[0, 5, :2] = 1  # two speakers arrive on the same frame
    labels[0, :5] = 0
    return predictions, labels, lengths


@pytest.fixture(scope="module")
def nemo_model():
    from audar_plugins.backends.sortformer.architecture import build_random_model

    model = build_random_model(4, "tiny")
    model._optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # only read for its learning rate
    return model


@pytest.mark.parametrize("seed", range(5))
def test_equals_nemos_own_training_loss_and_gradient_at_4_speakers(nemo_model, seed):
    predictions, labels, lengths = random_batch(4, seed=seed)
    expected = nemo_model._get_aux_train_evaluations(predictions, labels, lengths)
    (expected_gradient,) = torch.autograd.grad(expected["loss"], predictions)

    ours = SortformerLoss(nemo_model.loss, LossWeights(0.5, 0.5))(predictions, labels, lengths)
    (gradient,) = torch.autograd.grad(ours["loss"], predictions)
    for name in ("loss", "ats_loss", "pil_loss"):
        torch.testing.assert_close(ours[name], expected[name], rtol=0, atol=0)
    torch.testing.assert_close(gradient, expected_gradient, rtol=0, atol=0)


@pytest.mark.parametrize("speakers", [4, 6])
def test_targets_equal_nemos_enumeration(speakers):
    import itertools

    from nemo.collections.asr.parts.utils.asr_multispeaker_utils import get_ats_targets, get_pil_targets

    permutations = torch.tensor(list(itertools.permutations(range(speakers))))
    for seed in range(3):
        predictions, labels, _ = random_batch(speakers, seed=seed, frames=60)
        predictions = predictions.detach()
        assert torch.equal(permutation_targets(labels, predictions), get_pil_targets(labels, predictions, permutations))
        assert torch.equal(arrival_targets(labels, predictions), get_ats_targets(labels, predictions, permutations))


def test_arrival_targets_put_speakers_in_order_of_first_speech():
    labels = torch.zeros(1, 10, 3)
    labels[0, 7:, 0] = 1
    labels[0, 2:5, 1] = 1
    labels[0, 4:, 2] = 1
    targets = arrival_targets(labels, torch.rand(1, 10, 3))
    assert torch.equal(targets[0], labels[0][:, [1, 2, 0]])


def test_weights_are_normalised_and_checked():
    assert LossWeights(1, 3).normalised == (0.25, 0.75)
    with pytest.raises(InvalidOptionError):
        LossWeights(0, 0)
    with pytest.raises(InvalidOptionError):
        LossWeights(-1, 1)


_PEAK_SCRIPT = """
import resource, sys, torch
from audar_plugins.training.loss import SortformerLoss
speakers = int(sys.argv[1])
torch.manual_seed(0)
predictions = torch.rand(4, 1125, speakers, requires_grad=True)  # four 90 s samples
labels = (torch.rand(4, 1125, speakers) < 0.3).float()
lengths = torch.full((4,), 1125)
def bce(probs, labels, target_lens):  # NeMo's BCELoss without NeMo's import time
    return torch.nn.functional.binary_cross_entropy(probs, labels)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
SortformerLoss(bce)(predictions, labels, lengths)["loss"].backward()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def test_peak_memory_at_8_speakers_does_not_grow_with_the_permutation_count():
    # NeMo's enumeration needs a (4, 1125, 40320, 8) float tensor here: 5.8 GB, several times over.
    peaks = {}
    for speakers in (4, 8):
        output = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(speakers)], capture_output=True,
                                text=True, check=True, timeout=300)
        peaks[speakers] = float(output.stdout.strip().splitlines()[-1])
    assert peaks[8] < 64, peaks  # MB beyond the inputs
