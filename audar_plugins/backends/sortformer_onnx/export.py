"""``audar export-onnx IN.nemo OUT_DIR``: what one Sortformer streaming step needs, as ONNX (needs NeMo).

Two graphs, batch size 1, dynamic length:

* ``pre_encode.onnx``: log-mel frames ``(1, T, n_mels)`` -> pre-encoded embeddings ``(1, ceil(T/8), d)``
  (the Conformer's convolutional subsampling);
* ``encode.onnx``: ``[speaker cache | FIFO | chunk]`` embeddings ``(1, T, d)`` -> speaker
  probabilities ``(1, T, speakers)`` (Conformer, projection, Transformer, sigmoid heads).

Between them, and after, the runtime does in NumPy what NeMo does in Python: the
concatenation, the cache and FIFO update (:mod:`.state`). ``frontend.npz`` holds the
checkpoint's mel filterbank and window (:mod:`.frontend`) and ``settings.json`` the rest.
With batch size 1 every length mask is all-true, so the graphs leave the masks out.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import MissingDependencyError

__all__ = ["SETTINGS_VERSION", "export_onnx"]

SETTINGS_VERSION = 1
OPSET = 17


PRECISIONS = ("fp32", "int8")


def export_onnx(checkpoint: str | Path, directory: str | Path, int8: bool = True) -> Path:
    """Export ``checkpoint`` (a Streaming Sortformer ``.nemo``) into ``directory``; returns it.

    With ``int8``, also ``*.int8.onnx``: the matrix products dynamically quantized to 8 bits
    (weights per output channel, activations per call), for ``precision="int8"``.
    """
    import torch

    from ..sortformer.checkpoint import load_sortformer
    from ..sortformer.shared_model import _fingerprint

    model = load_sortformer(checkpoint, "cpu")
    model.eval()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    settings = _settings(model)
    settings["fingerprint"] = _fingerprint(model)

    features = torch.randn(1, 8 * 13 + 16, settings["n_mels"])
    embeddings = torch.randn(1, 60, settings["d_model"])
    pre_encode, encode = _step_graphs(model)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(pre_encode, (features,), str(directory / "pre_encode.onnx"),
                          input_names=["features"], output_names=["embeddings"], opset_version=OPSET,
                          dynamic_axes={"features": {1: "frames"}, "embeddings": {1: "steps"}}, dynamo=False)
        torch.onnx.export(encode, (embeddings,), str(directory / "encode.onnx"),
                          input_names=["embeddings"], output_names=["probabilities"], opset_version=OPSET,
                          dynamic_axes={"embeddings": {1: "steps"}, "probabilities": {1: "steps"}}, dynamo=False)
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
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as error:
        raise MissingDependencyError("onnx", "onnx", "int8 export") from error
    for name in ("pre_encode", "encode"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(directory / f"{name}.onnx", directory / f"{name}.int8.onnx", op_types_to_quantize=["MatMul"],
                             per_channel=True, reduce_range=True, weight_type=QuantType.QInt8)


def _settings(model) -> dict[str, Any]:
    from ...errors import BackendLoadError

    config = model.preprocessor._cfg
    modules = model.sortformer_modules
    checks = {
        "normalize": str(config.get("normalize", "NA")) in ("NA", "None"),
        "frame_splicing": int(config.get("frame_splicing", 1)) == 1,
        "log_zero_guard_type": str(config.get("log_zero_guard_type", "add")) == "add",
        "streaming_mode": bool(model.streaming_mode),
        "async_streaming": not bool(model.async_streaming),
    }
    unsupported = [name for name, ok in checks.items() if not ok]
    if unsupported:
        raise BackendLoadError(f"cannot export this checkpoint for the ONNX runtime: unsupported {unsupported}")
    return {
        "version": SETTINGS_VERSION,
        "sample_rate": int(config.get("sample_rate", 16000)),
        "n_mels": int(config.features),
        "n_fft": int(config.get("n_fft", 512)),
        "hop_length": round(float(config.window_stride) * int(config.get("sample_rate", 16000))),
        "preemphasis": float(config.get("preemph", 0.97)),
        "log_guard": float(2.0**-24),
        "subsampling": int(model.encoder.subsampling_factor),
        "d_model": int(modules.fc_d_model),
        "num_speakers": int(modules.n_spk),
    }


def _batch_lengths(tensor):
    """``(1,)`` lengths equal to the time axis, computed from the data so the trace keeps them dynamic."""
    return (tensor[:, :, 0] * 0 + 1).sum(dim=1).long()


def _step_graphs(model):
    """The two traced modules, ``(pre_encode, encode)``, over ``model``'s own submodules."""
    import torch

    class PreEncode(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = model.encoder

        def forward(self, features):
            embeddings, _ = self.encoder.pre_encode(x=features, lengths=_batch_lengths(features))
            return embeddings

    class Encode(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, embeddings):
            encoded, lengths = self.model.frontend_encoder(
                processed_signal=embeddings, processed_signal_length=_batch_lengths(embeddings), bypass_pre_encode=True)
            return self.model.forward_infer(emb_seq=encoded, emb_seq_length=lengths)

    return PreEncode(), Encode()
