"""Shared fixtures: the real test audio in ../shared/data and backends loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(os.environ.get("AUDAR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "falcon-3-speakers.wav"


@pytest.fixture(scope="session")
def data() -> Path:
    """The folder of real recordings; tests using it skip, with the reason, where it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"test audio folder {DATA} not found (set AUDAR_DATA)")
    return DATA


@pytest.fixture(scope="session")
def embedded():
    """The CPU default backend, models loaded once."""
    from audar_plugins.backends.embedded import EmbeddedBackend

    return EmbeddedBackend()
