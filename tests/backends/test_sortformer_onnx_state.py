"""The NumPy speaker cache and FIFO update against NeMo's own, step by step on the same inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audar_plugins.backends.sortformer_onnx.state import CacheSettings, CacheState, compress_cache, streaming_update


def random_preds(rng, frames: int, speakers: int) -> np.ndarray:
    """Speaker probabilities shaped like a model's: runs of one speaker, some overlap and silence."""
    preds = rng.uniform(0.0, 0.3, (frames, speakers))
    speaker = rng.integers(0, speakers)
    for start in range(0, frames, 5):
        if rng.random() < 0.3:
            speaker = rng.integers(0, speakers)
        if rng.random() < 0.8:
            preds[start : start + 5, speaker] = rng.uniform(0.55, 1.0, min(5, frames - start))
    return preds.astype(np.float32)


@pytest.mark.parametrize("preset", ["card", "nv-1.04s", "nv-0.32s"])
def test_the_update_equals_nemo_step_by_step(sortformer, preset):
    config = sortformer.streaming_config(preset)
    modules = sortformer.model.sortformer_modules
    speakers, dimension = int(modules.n_spk), int(modules.fc_d_model)
    settings = CacheSettings(config.spkcache_len, config.fifo_len, config.spkcache_update_period, speakers)
    rng = np.random.default_rng(7)
    ours = CacheState(dimension)
    with sortformer._shared.configured(config):
        theirs = modules.init_streaming_state(batch_size=1, async_streaming=False, device=torch.device("cpu"))
        compressions = 0
        # enough steps for the cache to fill and be compressed a few times
        steps = (config.fifo_len + config.spkcache_len + 2 * config.spkcache_update_period) // config.chunk_len + 5
        for step in range(steps):
            left = min(config.chunk_left_context, step)
            right = config.chunk_right_context
            chunk = rng.standard_normal((left + config.chunk_len + right, dimension)).astype(np.float32)
            total = ours.spkcache.shape[0] + ours.fifo.shape[0] + chunk.shape[0]
            preds = random_preds(rng, total, speakers)
            had = theirs.spkcache_preds is not None and theirs.spkcache.shape[1] == config.spkcache_len
            theirs, expected = modules.streaming_update(theirs, torch.from_numpy(chunk)[None],
                                                        torch.from_numpy(preds)[None], left, right)
            got = streaming_update(settings, ours, chunk, preds, left, right)
            compressions += int(theirs.spkcache_preds is not None and not had)
            np.testing.assert_array_equal(got, expected[0].numpy())
            np.testing.assert_array_equal(ours.fifo, theirs.fifo[0].numpy())
            np.testing.assert_allclose(ours.spkcache, theirs.spkcache[0].numpy(), rtol=0, atol=1e-6)
            if theirs.spkcache_preds is None:
                assert ours.spkcache_preds is None
            else:
                np.testing.assert_array_equal(ours.spkcache_preds, theirs.spkcache_preds[0].numpy())
            np.testing.assert_allclose(ours.mean_silence, theirs.mean_sil_emb[0].numpy(), rtol=1e-6, atol=1e-7)
            assert ours.silence_frames == int(theirs.n_sil_frames[0])
    assert ours.spkcache.shape[0] == config.spkcache_len  # the cache filled and was compressed
    assert compressions >= 1


def test_ties_keep_the_earlier_frame():
    """Our documented rule where NeMo's torch.topk leaves the choice open."""
    settings = CacheSettings(spkcache_len=16, fifo_len=4, update_period=4, num_speakers=2)
    preds = np.zeros((24, 2), dtype=np.float32)
    preds[:, 0] = 1.0  # every frame scores the same for speaker 0; speaker 1 never speaks
    embeddings = np.arange(24, dtype=np.float32)[:, None] * np.ones((1, 3), dtype=np.float32)
    kept, kept_preds = compress_cache(settings, embeddings, preds, np.full(3, -1.0, dtype=np.float32))
    # 16 slots: 3 silence slots per speaker; the 8 newest frames are boosted; of the equal
    # older frames, the 2 places left go to the earliest
    assert list(kept[:10, 0]) == [0, 1, *range(16, 24)]
    assert (kept[10:] == -1.0).all() and (kept_preds[10:] == 0).all()
