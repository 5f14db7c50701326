"""Fixtures for the adapter suites, which run in environments holding pyannote.audio (and WhisperX).

They run with ``python -m pytest tests/adapters`` inside those environments (``nox`` builds
them); the main suite does not collect this folder because the main environment cannot hold
pyannote.audio beside its CPU torch.
"""

from __future__ import annotations

import os

os.environ["PYANNOTE_METRICS_ENABLED"] = "0"  # pyannote 4 telemetry is on by default; tests stay offline

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from audar_plugins.cli import main as audar  # noqa: E402


@pytest.fixture(scope="session")
def embedded_config(tmp_path_factory) -> Path:
    """A pipeline directory for the CPU default backend, written by ``audar pyannote-config``."""
    directory = tmp_path_factory.mktemp("embedded-pipeline")
    assert audar(["pyannote-config", str(directory), "--backend", "embedded"]) == 0
    return directory


@pytest.fixture(scope="session")
def pipeline(embedded_config):
    """The embedded backend as a pyannote pipeline, loaded the way pyannote users load one."""
    from pyannote.audio import Pipeline

    return Pipeline.from_pretrained(str(embedded_config / "config.yaml"))
