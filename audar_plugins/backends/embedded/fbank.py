"""Kaldi's 80-bin log-mel filterbank, CAM++'s input, from kaldi-native-fbank (no torch needed).

Settings are Kaldi's defaults (25 ms frames every 10 ms, povey window, pre-emphasis 0.97,
DC offset removed per frame, no energy term) with 80 bins and no dither, as CAM++ was
trained. Each frame depends on its own 400 samples only, so the frames of a stretch of
audio that starts on the 10 ms grid equal the same frames of the whole recording: one pass
over a block serves every embedding cut from it. Per-utterance mean normalisation is the
embedding's business (:func:`normalized`).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ...errors import MissingDependencyError

__all__ = ["FRAME_SAMPLES", "HOP_SAMPLES", "fbank", "normalized"]

FRAME_SAMPLES = 400
HOP_SAMPLES = 160
NUM_BINS = 80


@cache
def _options():
    try:
        import kaldi_native_fbank as knf
    except ImportError:
        raise MissingDependencyError("kaldi-native-fbank", "cpu", "speaker embeddings") from None
    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0  # its default is 3e-5
    options.frame_opts.samp_freq = 16_000
    options.mel_opts.num_bins = NUM_BINS
    return knf, options


def fbank(samples: np.ndarray) -> np.ndarray:
    """Frames ``(1 + (n - 400) // 160, 80)`` float32 of mono 16 kHz ``samples`` (none under 400 samples)."""
    knf, options = _options()
    computer = knf.OnlineFbank(options)
    computer.accept_waveform(16_000, np.ascontiguousarray(samples, dtype=np.float32))
    computer.input_finished()
    count = computer.num_frames_ready
    if count == 0:
        return np.zeros((0, NUM_BINS), dtype=np.float32)
    return np.stack([computer.get_frame(index) for index in range(count)]).astype(np.float32, copy=False)


def normalized(frames: np.ndarray) -> np.ndarray:
    """``frames`` minus their mean over time (CAM++'s per-utterance normalisation)."""
    return frames - frames.mean(axis=0, keepdims=True)
