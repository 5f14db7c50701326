"""Torch devices named by users: checked once, with a clear error for ones this machine lacks."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidOptionError

__all__ = ["resolve_device"]


def resolve_device(device: Any = "cpu", half: bool = False):
    """A ``torch.device`` that exists on this machine; half precision only on CUDA."""
    import torch

    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InvalidOptionError(f"device={device!r} is not a torch device: {error}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InvalidOptionError(
            f"device={device!r} asks for CUDA, but this machine has none "
            f"(torch {torch.__version__}, CUDA available: no); use device='cpu'"
        )
    if half and resolved.type != "cuda":
        raise InvalidOptionError("half precision is offered on CUDA only; on CPU use full precision")
    return resolved
