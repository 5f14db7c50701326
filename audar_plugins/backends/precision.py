"""Which arithmetic a backend runs in: ``fp32``, or an opt-in reduced precision the CPU supports.

``"int8"``: matrix products dynamically quantized (8-bit weights per output channel,
activations quantized per call); every x86-64 CPU with AVX2 runs it natively.
``"bf16"``: bfloat16 matrix products, only on CPUs that compute in bfloat16
(AVX-512 BF16 or AMX); elsewhere it would be emulated, slower than fp32, so it is refused.
``"reduced"``: the faster of the two that this CPU and backend support.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from functools import cache
from pathlib import Path

from ..errors import InvalidOptionError

__all__ = ["PRECISIONS", "cpu_features", "resolve_precision"]

PRECISIONS = ("fp32", "int8", "bf16", "reduced")
NATIVE_BF16 = ("AVX512BF16", "AMX_BF16")


@cache
def cpu_features() -> frozenset[str]:
    """The instruction-set extensions this CPU reports, upper case (NumPy's detection, and on
    Linux the kernel's flags for AMX, which NumPy does not list)."""
    features: set[str] = set()
    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # NumPy 1.x
        umath = importlib.import_module("numpy.core._multiarray_umath")
    features.update(name for name, present in umath.__cpu_features__.items() if present)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                features.update(flag.upper() for flag in line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return frozenset(features)


def resolve_precision(requested: str, available: Collection[str], features: Collection[str] | None = None) -> str:
    """The precision to run: ``requested``, checked against the CPU and the backend's ``available`` ones."""
    if requested not in PRECISIONS:
        raise InvalidOptionError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    features = cpu_features() if features is None else features
    native_bf16 = any(name in features for name in NATIVE_BF16)
    if requested == "reduced":
        requested = "bf16" if native_bf16 and "bf16" in available else "int8"
    if requested == "bf16" and not native_bf16:
        raise InvalidOptionError("precision 'bf16' needs a CPU that computes in bfloat16 (AVX-512 BF16 or AMX); "
                                 "this one would emulate it, slower than fp32: use 'int8' or 'reduced'")
    if requested not in available:
        raise InvalidOptionError(f"precision {requested!r} is not available here (this backend has "
                                 f"{', '.join(available)})")
    return requested
