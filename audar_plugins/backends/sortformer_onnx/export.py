"""``audar export-onnx IN.nemo OUT_DIR``: what one Sortformer streaming step needs, as ONNX (needs NeMo).

Three graphs, batch size 1, dynamic length (:mod:`.graphs` writes them out):

* ``pre_encode.onnx``: log-mel frames ``(1, T, n_mels)`` -> pre-encoded embeddings ``(1, ceil(T/8), d)``
  (the Conformer's convolutional subsampling);
* ``positions.onnx``: ``frames (T,)`` -> the relative positions every Conformer layer attends
  with, ``(layers, heads, d_k, 2T-1)``; run once per sequence length;
* ``encode.onnx``: ``[speaker cache | FIFO | chunk]`` embeddings ``(T, d)`` and those positions
  -> speaker probabilities ``(T, speakers)`` (Conformer, projection, Transformer, sigmoid heads).

Between them, and after, the runtime does in NumPy what NeMo does in Python: the
concatenation, the cache and FIFO update (:mod:`.state`). ``frontend.npz`` holds the
checkpoint's mel filterbank and window (:mod:`.frontend`) and ``settings.json`` the rest
(:mod:`~audar_plugins.backends.sortformer_core.export_settings`, which the runtime reads too).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ...errors import MissingDependencyError
from ..sortformer_core.export_settings import export_settings

__all__ = ["export_onnx"]

OPSET = 17


PRECISIONS = ("fp32", "int8")
LENGTH_AXES = {"features": {1: "frames"}, "embeddings": {0: "steps"}, "frames": {0: "steps"},
               "positions": {3: "positions"}}


def export_onnx(checkpoint: str | Path, directory: str | Path, int8: bool = True) -> Path:
    """Export ``checkpoint`` (a Streaming Sortformer ``.nemo``) into ``directory``; returns it.

    With ``int8``, also ``*.int8.onnx``: the matrix products dynamically quantized to 8 bits
    (weights per output channel, activations per call), for ``precision="int8"``.
    """
    import torch

    from ..sortformer.checkpoint import load_sortformer
    from .graphs import Encode, Positions, PreEncode

    model = load_sortformer(checkpoint, "cpu")
    model.eval()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    settings = export_settings(model)

    features = torch.randn(1, 8 * 13 + 16, settings["n_mels"])
    embeddings = torch.randn(60, settings["d_model"])
    encode, positions = Encode(model).eval(), Positions(model).eval()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes

        def export(module, inputs: dict, outputs: dict, name: str) -> None:
            torch.onnx.export(module, tuple(inputs.values()), str(directory / f"{name}.onnx"),
                              input_names=list(inputs), output_names=list(outputs), opset_version=OPSET,
                              dynamic_axes={**{key: LENGTH_AXES[key] for key in inputs}, **outputs}, dynamo=False)

        export(PreEncode(model).eval(), {"features": features}, {"embeddings": {1: "steps"}}, "pre_encode")
        export(positions, {"frames": embeddings[:, 0]}, {"positions": {3: "positions"}}, "positions")
        export(encode, {"embeddings": embeddings, "positions": positions(embeddings[:, 0])},
               {"probabilities": {0: "steps"}}, "encode")
    featurizer = model.preprocessor.featurizer
    np.savez(directory / "frontend.npz", filterbank=featurizer.fb[0].cpu().numpy().astype(np.float32),
             window=featurizer.window.cpu().numpy().astype(np.float32))
    if int8:
        _quantize(directory)
        settings["precisions"] = list(PRECISIONS)
    else:
        settings["precisions"] = ["fp32"]
    (directory / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    return directory


def _quantize(directory: Path) -> None:
    """``NAME.int8.onnx`` beside each graph: MatMul weights int8 per channel (``Conv`` stays float:
    onnxruntime has no CPU kernel for int8-weight convolutions). ``reduce_range`` keeps the 7-bit
    weights that CPUs without VNNI need to avoid overflow in their 16-bit accumulation."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as error:
        raise MissingDependencyError("onnx", "nemo", "int8 export") from error
    for name in ("pre_encode", "encode"):  # positions run once per length: they stay exact
        graph = onnx.load(str(directory / f"{name}.onnx"))
        _bypass_weight_identities(graph.graph)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(graph, directory / f"{name}.int8.onnx", op_types_to_quantize=["MatMul"],
                             per_channel=True, reduce_range=True, weight_type=QuantType.QInt8)


def _bypass_weight_identities(graph) -> None:
    """Feed weights to their products directly. The exporter stores equal weights once, behind
    ``Identity`` nodes (layers that still hold the same values, as in a fresh model), and the
    quantizer only quantizes a product whose weight is an initializer."""
    initializers = {tensor.name for tensor in graph.initializer}
    aliases = {node.output[0]: node.input[0] for node in graph.node
               if node.op_type == "Identity" and node.input[0] in initializers}
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name in aliases:
                node.input[index] = aliases[name]
