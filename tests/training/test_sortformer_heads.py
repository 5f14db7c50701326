"""Head expansion 4 -> 8 speakers: exact old slots, the card's parameter count, a model that diarizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audar_plugins.backends.sortformer import SortformerBackend
from audar_plugins.backends.sortformer.architecture import build_random_model
from audar_plugins.backends.sortformer_core.presets import PRESETS
from audar_plugins.errors import InvalidOptionError
from audar_plugins.training.heads import (
    count_parameters,
    expand_checkpoint,
    expand_speaker_heads,
)

# A wider output matrix may be multiplied in another order: equal up to float32 rounding.
UNCHANGED = dict(rtol=0, atol=1e-6)


def forward(model, audio: np.ndarray) -> np.ndarray:
    """NeMo's streaming forward at the card preset with a 188-frame cache, for both speaker counts."""
    from audar_plugins.backends.sortformer.shared_model import SharedSortformer

    config = PRESETS["card"].for_speakers(4)
    return SharedSortformer(model).reference_forward(torch.from_numpy(audio), config).numpy()


def test_the_full_size_v2_model_gains_exactly_2312_parameters():
    model = build_random_model(4, "full")
    assert count_parameters(model) == pytest.approx(117.7e6, rel=1e-3)
    widened = expand_speaker_heads(model, 8)
    assert count_parameters(widened) - count_parameters(model) == 2312


@pytest.fixture(scope="module")
def tiny_model(tiny_sortformer):
    from audar_plugins.backends.sortformer.checkpoint import load_sortformer

    return load_sortformer(tiny_sortformer)


def test_old_speakers_are_unchanged_before_noise(tiny_model, speech):
    audio = np.ascontiguousarray(speech[: 12 * 16000])  # before the speaker cache is first compressed
    before = forward(tiny_model, audio)
    after = forward(expand_speaker_heads(tiny_model, 8, noise_std=0.0), audio)
    assert after.shape == (before.shape[0], 8)
    np.testing.assert_allclose(after[:, :4], before, **UNCHANGED)
    np.testing.assert_allclose(after[:, 4:], before, **UNCHANGED)  # copies, without noise


def test_noise_breaks_the_symmetry_and_silent_slots_stay_off(tiny_model, speech):
    audio = np.ascontiguousarray(speech[: 12 * 16000])
    before = forward(tiny_model, audio)
    noisy = forward(expand_speaker_heads(tiny_model, 8, noise_std=0.05, seed=3), audio)
    np.testing.assert_allclose(noisy[:, :4], before, **UNCHANGED)
    assert 1e-4 < np.abs(noisy[:, 4:] - before).max() < 0.5
    silent = forward(expand_speaker_heads(tiny_model, 8, silent=True), audio)
    np.testing.assert_allclose(silent[:, :4], before, **UNCHANGED)
    assert silent[:, 4:].max() < 1e-6


def test_the_saved_8_speaker_model_loads_and_diarizes(tiny_sortformer, speech, tmp_path):
    target = tmp_path / "tiny-8spk.nemo"
    old, new = expand_checkpoint(tiny_sortformer, target, speakers=8, noise_std=0.05)
    assert new - old == 8 * (16 + 1) - 4 * (16 + 1) + 8 * (32 + 1) - 4 * (32 + 1)  # tiny heads: 16 and 32 wide
    backend = SortformerBackend(target)
    assert backend.num_speakers == 8 and backend.preset.spkcache_len == 264
    assert backend.model.cfg.sortformer_modules.spkcache_len == 264
    activity = backend.diarize(speech)
    assert activity.probabilities.shape == (backend._shared.output_frames(len(speech)), 8)
    assert activity.labels[-1] == "speaker_7"
    live = backend.open_session()
    blocks = [live.push(speech[s : s + 5000]) for s in range(0, len(speech), 5000)] + [live.flush()]
    streamed = np.concatenate([block.probabilities for block in blocks])
    assert np.abs(streamed - activity.probabilities).max() <= 1e-5


@pytest.mark.parametrize("speakers", [4, 3, 9, 8.0, True])
def test_bad_speaker_counts(tiny_model, speakers):
    with pytest.raises(InvalidOptionError, match="speakers"):
        expand_speaker_heads(tiny_model, speakers)
