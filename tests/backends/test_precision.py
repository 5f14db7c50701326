"""Reduced precision: which one a CPU gets, and the Sortformer backend's torch path in int8 and bf16."""

from __future__ import annotations

import numpy as np
import pytest

from audar_plugins.backends.precision import NATIVE_BF16, cpu_features, resolve_precision
from audar_plugins.errors import InvalidOptionError

AVX2 = {"AVX", "AVX2", "FMA3"}
SAPPHIRE_RAPIDS = AVX2 | {"AVX512F", "AVX512VNNI", "AVX512BF16", "AMX_BF16"}


@pytest.mark.parametrize(("requested", "available", "features", "expected"), [
    ("reduced", ("fp32", "int8", "bf16"), AVX2, "int8"),
    ("reduced", ("fp32", "int8", "bf16"), SAPPHIRE_RAPIDS, "bf16"),
    ("reduced", ("fp32", "int8"), SAPPHIRE_RAPIDS, "int8"),
    ("fp32", ("fp32",), AVX2, "fp32"),
    ("bf16", ("fp32", "int8", "bf16"), SAPPHIRE_RAPIDS, "bf16"),
])
def test_the_precision_a_cpu_gets(requested, available, features, expected):
    assert resolve_precision(requested, available, features) == expected


@pytest.mark.parametrize(("requested", "available", "features", "message"), [
    ("bf16", ("fp32", "int8", "bf16"), AVX2, "AVX-512 BF16 or AMX"),
    ("int8", ("fp32",), AVX2, "not available"),
    ("fp16", ("fp32", "int8"), AVX2, "one of"),
])
def test_precisions_a_cpu_or_backend_lacks_are_refused(requested, available, features, message):
    with pytest.raises(InvalidOptionError, match=message):
        resolve_precision(requested, available, features)


def test_cpu_features_agree_with_the_kernel():
    flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split(":", 1)[1].split()
    assert ("AVX2" in cpu_features()) == ("avx2" in flags)
    assert ("AVX512BF16" in cpu_features()) == ("avx512_bf16" in flags)


@pytest.fixture(scope="module")
def sortformer_fp32(tiny_sortformer):
    from audar_plugins.backends.sortformer import SortformerBackend

    return SortformerBackend(tiny_sortformer)


def test_int8_torch_path_quantizes_the_linear_layers_and_stays_close(tiny_sortformer, sortformer_fp32, speech):
    import torch

    from audar_plugins.backends.sortformer import SortformerBackend

    int8 = SortformerBackend(tiny_sortformer, precision="int8")
    kinds = {type(module) for module in int8.model.modules()}
    assert torch.ao.nn.quantized.dynamic.Linear in kinds and torch.nn.Linear not in kinds
    difference = np.abs(int8.diarize(speech).probabilities - sortformer_fp32.diarize(speech).probabilities)
    assert 0 < difference.max() < 0.1 and difference.mean() < 0.01
    # a session's snapshot moves between precisions of one checkpoint
    session = sortformer_fp32.open_session()
    session.push(speech[:48_000])
    assert int8.restore_session(session.snapshot()).emitted_frames == session.emitted_frames


def test_int8_needs_the_backends_own_copy(sortformer_fp32):
    from audar_plugins.backends.sortformer import SortformerBackend

    with pytest.raises(InvalidOptionError, match="own copy"):
        SortformerBackend(sortformer_fp32.model, precision="int8")


def test_bf16_torch_path_runs_where_the_cpu_computes_in_bf16(tiny_sortformer, sortformer_fp32, speech):
    from audar_plugins.backends.sortformer import SortformerBackend

    if not any(name in cpu_features() for name in NATIVE_BF16):
        with pytest.raises(InvalidOptionError, match="bfloat16"):
            SortformerBackend(tiny_sortformer, precision="bf16")
        return
    bf16 = SortformerBackend(tiny_sortformer, precision="bf16")
    difference = np.abs(bf16.diarize(speech).probabilities - sortformer_fp32.diarize(speech).probabilities)
    assert 0 < difference.max() < 0.1 and difference.mean() < 0.01
