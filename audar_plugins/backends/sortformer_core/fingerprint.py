"""A short digest that tells Sortformer checkpoints apart, for session snapshots and exports.

Both runtimes record it: the NeMo backend from its loaded model, the ONNX export in its
``settings.json``, so a snapshot restores only on the model it was taken with. It reads
the float weights, so a model quantized afterwards keeps its fingerprint.
"""

from __future__ import annotations

import hashlib

__all__ = ["model_fingerprint"]


def model_fingerprint(model) -> str:
    """16 hex digits from a NeMo ``SortformerEncLabelModel``'s speaker heads and first convolution."""
    digest = hashlib.sha256()
    modules = model.sortformer_modules
    for tensor in (modules.single_hidden_to_spks.weight, modules.single_hidden_to_spks.bias,
                   next(model.encoder.pre_encode.parameters())):
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]
