"""Widen a Sortformer's speaker heads (4 -> 8 speakers), as Audar-Diarization-V1 was made.

The two speaker heads (``hidden_to_spks`` 384 -> n and ``single_hidden_to_spks``
192 -> n) get new rows copied from the trained ones (slot ``k`` takes slot
``k % old``), with Gaussian noise scaled to each head's weight spread to break
the symmetry before fine-tuning. ``silent=True`` instead leaves the new slots
off (zero weights, bias -20: probability about 2e-9), so the widened model
behaves like the original until it is trained. The speaker cache is raised to
the size published models use for the new count (188 -> 264 for 8).
"""

from __future__ import annotations

import copy
from pathlib import Path

from ..backends.sortformer_core.presets import speaker_cache_length
from ..errors import InvalidOptionError

__all__ = ["HEAD_LAYERS", "expand_checkpoint", "expand_speaker_heads"]

HEAD_LAYERS = ("sortformer_modules.hidden_to_spks", "sortformer_modules.single_hidden_to_spks")
MAX_SPEAKERS = 8  # NeMo <= 3.0 enumerates all speaker permutations in memory: 8! is the practical limit
SILENT_BIAS = -20.0


def expand_speaker_heads(model, speakers: int = 8, noise_std: float = 0.01, silent: bool = False, seed: int = 0):
    """A new model like ``model`` with ``speakers`` output slots; the old slots are kept exactly.

    ``noise_std`` is relative to each head's weight standard deviation; 0 makes
    the new slots exact copies.
    """
    import torch
    from omegaconf import open_dict

    old = int(model.sortformer_modules.n_spk)
    if isinstance(speakers, bool) or not isinstance(speakers, int) or not old < speakers <= MAX_SPEAKERS:
        raise InvalidOptionError(f"speakers must be an integer in ({old}, {MAX_SPEAKERS}], got {speakers!r}")
    if not noise_std >= 0:
        raise InvalidOptionError(f"noise_std must be non-negative, got {noise_std}")

    config = copy.deepcopy(model.cfg)
    with open_dict(config):
        config.max_num_of_spks = speakers
        config.sortformer_modules.num_spks = speakers
        config.sortformer_modules.spkcache_len = max(
            int(config.sortformer_modules.get("spkcache_len", 0)), speaker_cache_length(speakers)
        )
        for split in ("train_ds", "validation_ds", "test_ds"):
            if config.get(split) is not None and "num_spks" in config[split]:
                config[split].num_spks = speakers
    widened = type(model)(cfg=config).to(model.device).eval()

    generator = torch.Generator().manual_seed(seed)
    state = model.state_dict()
    for layer in HEAD_LAYERS:
        weight, bias = state[f"{layer}.weight"], state[f"{layer}.bias"]
        source = torch.arange(speakers) % old
        new_weight, new_bias = weight[source].clone(), bias[source].clone()
        if silent:
            new_weight[old:] = 0.0
            new_bias[old:] = SILENT_BIAS
        elif noise_std > 0:
            scale = noise_std * float(weight.float().std())
            noise = torch.randn(new_weight[old:].shape, generator=generator) * scale
            new_weight[old:] += noise.to(new_weight.dtype).to(new_weight.device)
        state[f"{layer}.weight"], state[f"{layer}.bias"] = new_weight, new_bias
    widened.load_state_dict(state, strict=True)
    return widened


def expand_checkpoint(source: str | Path, target: str | Path, speakers: int = 8, noise_std: float = 0.01,
                      silent: bool = False, seed: int = 0) -> tuple[int, int]:
    """Widen the heads of the ``.nemo`` at ``source`` and save ``target``; return (old, new) parameter counts."""
    from ..backends.sortformer.checkpoint import load_sortformer

    model = load_sortformer(source)
    widened = expand_speaker_heads(model, speakers, noise_std=noise_std, silent=silent, seed=seed)
    widened.save_to(str(target))
    return count_parameters(model), count_parameters(widened)


def count_parameters(model) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
