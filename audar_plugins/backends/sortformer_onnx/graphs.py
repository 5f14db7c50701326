"""NeMo's Sortformer streaming step, written out for export at batch size 1 (needs torch and NeMo).

The same arithmetic as NeMo's modules, on their own weights, minus what costs time in
ONNX Runtime and changes nothing at batch size 1:

* 2-D ``(frames, features)`` tensors, so every linear layer is one matrix product with its bias;
* no length masks (all true at batch size 1, so NeMo's masked fills and mask additions are identities);
* the Conformer's pointwise convolutions as matrix products (which int8 export can then quantize),
  and its batch norm folded into the depthwise convolution;
* the relative positions projected once per sequence length (:class:`Positions`), not at every
  step: they depend on the length only.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import BackendLoadError

__all__ = ["Encode", "Positions", "PreEncode"]


def _batch_lengths(tensor: torch.Tensor) -> torch.Tensor:
    """``(1,)`` lengths equal to the time axis, computed from the data so the trace keeps them dynamic."""
    return (tensor[:, :, 0] * 0 + 1).sum(dim=1).long()


class PreEncode(nn.Module):
    """Log-mel frames ``(1, T, n_mels)`` -> pre-encoded embeddings ``(1, ceil(T/8), d)`` (NeMo's own module)."""

    def __init__(self, model) -> None:
        super().__init__()
        self.encoder = model.encoder

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        embeddings, _ = self.encoder.pre_encode(x=features, lengths=_batch_lengths(features))
        return embeddings


class Positions(nn.Module):
    """A length's relative positions, projected by every Conformer layer: ``frames (T,)`` ->
    ``(layers, heads, d_k, 2T-1)``, the keys NeMo's ``linear_pos`` makes of them."""

    table: torch.Tensor  # buffers
    weights: torch.Tensor

    def __init__(self, model) -> None:
        super().__init__()
        self.register_buffer("table", model.encoder.pos_enc.pe[0].clone())
        attentions = [layer.self_attn for layer in model.encoder.layers]
        self.register_buffer("weights", torch.stack([attention.linear_pos.weight.T for attention in attentions]))
        self.heads, self.d_k = attentions[0].h, attentions[0].d_k

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        length = frames.shape[0]
        center = self.table.shape[0] // 2 + 1
        positions = self.table[center - length : center + length - 1]  # positions T-1 ... -(T-1)
        projected = torch.matmul(positions, self.weights)  # (layers, 2T-1, d)
        return projected.reshape(projected.shape[0], -1, self.heads, self.d_k).permute(0, 2, 3, 1)


def _linear(x: torch.Tensor, layer: Any) -> torch.Tensor:  # NeMo's layers: torch.nn.Linear or alike
    return _product(x, layer.weight, layer.bias)


def _product(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ weight.T + bias`` as ONNX ``MatMul`` (on the weight, transposed at export) and ``Add``:
    ONNX Runtime fuses the pair into one ``Gemm`` in float, and int8 export quantizes the ``MatMul``."""
    product = torch.matmul(x, weight.T)
    return product if bias is None else product + bias


class _ConformerLayer(nn.Module):
    layer: Any  # NeMo's ConformerLayer
    depthwise_weight: torch.Tensor  # buffers
    depthwise_bias: torch.Tensor

    def __init__(self, layer) -> None:
        super().__init__()
        self.layer = layer
        conv = layer.conv
        if conv.pointwise_activation != "glu_" or conv.norm_type != "batch_norm":
            raise BackendLoadError("cannot export this checkpoint: its Conformer convolution is not GLU + batch norm")
        norm = conv.batch_norm
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        depthwise = conv.depthwise_conv
        self.register_buffer("depthwise_weight", depthwise.weight * scale[:, None, None])
        bias = depthwise.bias if depthwise.bias is not None else torch.zeros_like(norm.running_mean)
        self.register_buffer("depthwise_bias", (bias - norm.running_mean) * scale + norm.bias)
        self.padding = (depthwise._left_padding, depthwise._right_padding)

    def _feed_forward(self, x: torch.Tensor, norm: nn.Module, module: Any) -> torch.Tensor:
        x = norm(x)
        return _linear(module.activation(_linear(x, module.linear1)), module.linear2)

    def _attention(self, x: torch.Tensor, positions: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        attention = self.layer.self_attn
        frames, heads, d_k = x.shape[0], attention.h, attention.d_k
        q = _linear(x, attention.linear_q).reshape(frames, heads, d_k)
        k = _linear(x, attention.linear_k).reshape(frames, heads, d_k).permute(1, 2, 0)
        v = _linear(x, attention.linear_v).reshape(frames, heads, d_k).transpose(0, 1)
        content = torch.matmul((q + attention.pos_bias_u).transpose(0, 1), k)  # (heads, T, T)
        position = torch.matmul((q + attention.pos_bias_v).transpose(0, 1), positions)  # (heads, T, 2T-1)
        scores = (content + torch.gather(position, 2, shift)) / attention.s_d_k
        mixed = torch.matmul(torch.softmax(scores, dim=-1), v)
        return _linear(mixed.transpose(0, 1).reshape(frames, heads * d_k), attention.linear_out)

    def _convolution(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.layer.conv
        pointwise1 = conv.pointwise_conv1
        x = F.glu(_product(x, pointwise1.weight[:, :, 0], pointwise1.bias), dim=1)
        x = F.conv1d(F.pad(x.T[None], self.padding), self.depthwise_weight, self.depthwise_bias,
                     groups=self.depthwise_weight.shape[0])[0].T
        x = x * torch.sigmoid(x)
        pointwise2 = conv.pointwise_conv2
        return _product(x, pointwise2.weight[:, :, 0], pointwise2.bias)

    def forward(self, x: torch.Tensor, positions: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        x = x + self._feed_forward(x, layer.norm_feed_forward1, layer.feed_forward1) * layer.fc_factor
        x = x + self._attention(layer.norm_self_att(x), positions, shift)
        x = x + self._convolution(layer.norm_conv(x))
        x = x + self._feed_forward(x, layer.norm_feed_forward2, layer.feed_forward2) * layer.fc_factor
        return layer.norm_out(x)


def _transformer_layer(block, x: torch.Tensor) -> torch.Tensor:
    """NeMo's post-LayerNorm Transformer block without its (all-zero) attention mask."""
    attention = block.first_sub_layer
    frames, heads, size = x.shape[0], attention.num_attention_heads, attention.attn_head_size
    q = _linear(x, attention.query_net).reshape(frames, heads, size).transpose(0, 1) / attention.attn_scale
    k = _linear(x, attention.key_net).reshape(frames, heads, size).permute(1, 2, 0) / attention.attn_scale
    v = _linear(x, attention.value_net).reshape(frames, heads, size).transpose(0, 1)
    mixed = torch.matmul(torch.softmax(torch.matmul(q, k), dim=-1), v)
    x = block.layer_norm_1(_linear(mixed.transpose(0, 1).reshape(frames, heads * size), attention.out_projection) + x)
    feed_forward = block.second_sub_layer
    x = _linear(feed_forward.act_fn(_linear(x, feed_forward.dense_in)), feed_forward.dense_out) + x
    return block.layer_norm_2(x)


class Encode(nn.Module):
    """``[speaker cache | FIFO | chunk]`` embeddings ``(T, d)`` and :class:`Positions` of ``T`` ->
    speaker probabilities ``(T, speakers)``: Conformer, projection, Transformer, sigmoid heads."""

    def __init__(self, model) -> None:
        super().__init__()
        if any(block.pre_ln for block in model.transformer_encoder.layers):
            raise BackendLoadError("cannot export this checkpoint: its Transformer is pre-LayerNorm")
        self.model = model
        self.conformer = nn.ModuleList(_ConformerLayer(layer) for layer in model.encoder.layers)
        self.xscale = model.encoder.pos_enc.xscale or 1.0

    def forward(self, embeddings: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        x = embeddings * self.xscale
        frames, heads = x.shape[0], positions.shape[1]
        # NeMo's rel_shift as one gather: query i takes relative positions T-1-i ... -i
        steps = torch.arange(frames)
        shift = (steps[None, :] - steps[:, None] + (frames - 1)).expand(heads, frames, frames)
        for index, layer in enumerate(self.conformer):
            x = layer(x, positions[index], shift)
        modules = self.model.sortformer_modules
        if modules.encoder_proj is not None:
            x = _linear(x, modules.encoder_proj)
        for block in self.model.transformer_encoder.layers:
            x = _transformer_layer(block, x)
        hidden = _linear(F.relu(_linear(F.relu(x), modules.first_hidden_to_hidden)), modules.single_hidden_to_spks)
        return torch.sigmoid(hidden)
