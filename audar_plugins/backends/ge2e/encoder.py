"""The GE2E speaker encoder (Wan et al., 2018) on the weights the resemblyzer wheel carries.

resemblyzer's own module imports librosa and webrtcvad and relies on
deprecated SciPy paths, so its weights are loaded into this small module
instead: a 3-layer LSTM (40 -> 256) over 40-band mel power spectra at 10 ms
frames, a linear layer, ReLU and L2 normalisation. The mel front end is
librosa's ``melspectrogram`` (n_fft 400, hop 160, Slaney mel scale and
normalisation, zero-padded centred frames) in NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import MissingDependencyError
from ..devices import resolve_device
from ..embedded.weights import ge2e_weights

__all__ = ["MelSpectrogram", "GE2EEncoder", "MEL_HOP", "PARTIAL_FRAMES"]

SAMPLE_RATE = 16_000
N_FFT = 400
MEL_HOP = 160
N_MELS = 40
PARTIAL_FRAMES = 160
"""Frames per window the encoder was trained on (1.6 s)."""


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_filterbank(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """Triangular Slaney-normalised filters, shape ``(n_mels, n_fft // 2 + 1)``."""
    fft_hz = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, np.newaxis] - fft_hz[np.newaxis, :]
    lower = -ramps[:-2] / widths[:-1, np.newaxis]
    upper = ramps[2:] / widths[1:, np.newaxis]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, np.newaxis]
    return weights.astype(np.float32)


class MelSpectrogram:
    """Mel power spectra at 10 ms, computed block by block to bound memory."""

    def __init__(self) -> None:
        self._window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
        self._filters = mel_filterbank()

    def frames_for(self, n_samples: int) -> int:
        """Number of frames of a signal of ``n_samples`` (centred framing)."""
        return 1 + n_samples // MEL_HOP

    def __call__(
        self, waveform: np.ndarray, first: int = 0, last: int | None = None, block_frames: int = 6000
    ) -> np.ndarray:
        """Frames ``first`` to ``last`` (exclusive; default: to the end) of the whole signal's
        spectrogram, shape ``(frames, 40)`` float32, equal to librosa's ``melspectrogram(...).T``.

        Only the samples those frames need are read, so a long signal can be
        processed piece by piece without holding its whole spectrogram."""
        total = self.frames_for(waveform.shape[0])
        last = total if last is None else min(last, total)
        output = np.empty((max(0, last - first), N_MELS), dtype=np.float32)
        for start_frame in range(first, last, block_frames):
            count = min(block_frames, last - start_frame)
            # frame k is centred on sample k * hop: it covers [k * hop - n_fft / 2, k * hop + n_fft / 2)
            begin = start_frame * MEL_HOP - N_FFT // 2
            end = (start_frame + count - 1) * MEL_HOP + N_FFT // 2
            segment = waveform[max(0, begin) : max(0, min(end, waveform.shape[0]))].astype(np.float32, copy=False)
            segment = np.pad(segment, (max(0, -begin), max(0, end - max(begin, waveform.shape[0]))))
            frames = np.lib.stride_tricks.sliding_window_view(segment, N_FFT)[::MEL_HOP]
            spectrum = np.fft.rfft(frames * self._window, axis=1)
            power = spectrum.real**2 + spectrum.imag**2
            output[start_frame - first : start_frame - first + count] = power.astype(np.float32) @ self._filters.T
        return output


class GE2EEncoder:
    """256-dimensional, L2-normalised speaker embeddings of mel windows.

    Runs with torch's own thread setting (``torch.set_num_threads``).
    """

    dimension = 256

    def __init__(self, device: Any = "cpu") -> None:
        try:
            import torch
        except ImportError:
            raise MissingDependencyError("torch", "cpu", "speaker embeddings") from None

        self._torch = torch
        state = torch.load(ge2e_weights(), map_location="cpu", weights_only=True)["model_state"]
        self._lstm = torch.nn.LSTM(N_MELS, 256, 3, batch_first=True)
        self._linear = torch.nn.Linear(256, 256)
        self._lstm.load_state_dict({k[len("lstm.") :]: v for k, v in state.items() if k.startswith("lstm.")})
        self._linear.load_state_dict({k[len("linear.") :]: v for k, v in state.items() if k.startswith("linear.")})
        self._lstm.eval()
        self._linear.eval()
        self.to(resolve_device(device))

    def to(self, device) -> GE2EEncoder:
        """Run on ``device`` (a ``torch.device``) from now on."""
        self._lstm.to(device)
        self._linear.to(device)
        self.device = device
        return self

    def __call__(self, windows: np.ndarray, batch_size: int = 128) -> np.ndarray:
        """Embed ``windows`` of shape ``(n, frames, 40)``; returns ``(n, 256)`` float32."""
        torch = self._torch
        output = np.empty((windows.shape[0], self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for first in range(0, windows.shape[0], batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(windows[first : first + batch_size])).to(self.device)
                _, (hidden, _) = self._lstm(batch)
                raw = torch.relu(self._linear(hidden[-1]))
                norm = torch.linalg.vector_norm(raw, dim=1, keepdim=True).clamp_min(1e-12)
                output[first : first + batch.shape[0]] = (raw / norm).cpu().numpy()
        return output
