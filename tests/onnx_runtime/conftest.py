"""The torch-free suite: sortformer-onnx in an environment with ``audar-plugins[onnx]`` only.

``nox -s onnx_runtime`` makes the exports with the main suite's environment
(``make_exports.py``), then runs this folder in one where torch and NeMo are not
installed, pointing ``AUDAR_ONNX_EXPORTS`` at them. The main suite does not collect it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def exports() -> Path:
    folder = os.environ.get("AUDAR_ONNX_EXPORTS")
    if not folder:
        pytest.fail("AUDAR_ONNX_EXPORTS is not set: run this suite with `nox -s onnx_runtime`")
    return Path(folder)
