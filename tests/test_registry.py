"""Backends are discovered through real entry points of installed distributions.

``tests/plugin_example`` is a separate distribution, installed into the test
environment by the test requirements; nothing here patches the registry.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import audar_plugins
from audar_plugins import Backend, available_backends, load_backend
from audar_plugins.errors import BackendLoadError, BackendNotFoundError, InvalidOptionError


@pytest.fixture(scope="module", autouse=True)
def _plugin_installed():
    if "example-constant" not in available_backends():
        pytest.fail("tests/plugin_example is not installed: pip install -r requirements-test.txt")


def test_builtin_and_third_party_backends_are_listed():
    backends = available_backends()
    assert backends["embedded"] == "audar_plugins.backends.embedded:EmbeddedBackend"
    assert backends["example-constant"] == "audar_plugin_example:ConstantBackend"
    assert list(backends) == sorted(backends)


def test_third_party_backend_loads_with_options_and_diarizes():
    backend = load_backend("example-constant", threshold=0.01)
    assert isinstance(backend, Backend)
    assert backend.threshold == 0.01
    tone = np.concatenate([np.zeros(8000), 0.5 * np.sin(np.arange(16000) / 5), np.zeros(8000)]).astype(np.float32)
    result = audar_plugins.diarize(tone, backend=backend)
    assert [(s.start, s.end) for s in result.annotation.itersegments()] == [(0.5, 1.5)]
    assert result.backend == "example-constant"


def test_diarize_accepts_a_backend_name():
    result = audar_plugins.diarize(np.zeros(16000, dtype=np.float32) + 0.1, backend="example-constant")
    assert result.annotation.labels() == ["speaker_0"]


def test_unknown_name_lists_what_is_installed():
    with pytest.raises(BackendNotFoundError) as caught:
        load_backend("no-such-backend")
    message = str(caught.value)
    assert "no-such-backend" in message and "embedded" in message and "example-constant" in message
    assert isinstance(caught.value, LookupError)


def test_broken_registrations_raise_backend_load_error():
    with pytest.raises(BackendLoadError, match="failed to import"):
        load_backend("example-broken")
    with pytest.raises(BackendLoadError, match="did not produce a Backend"):
        load_backend("example-not-a-backend")
    with pytest.raises(BackendLoadError, match="rejected its options"):
        load_backend("example-constant", colour="blue")


def test_backend_option_validation_errors_pass_through():
    with pytest.raises(InvalidOptionError):
        load_backend("example-fake", num_speakers=0)
    with pytest.raises(InvalidOptionError, match="unknown option"):
        load_backend("ge2e", windw=2.0)


def test_cli_lists_backends():
    listing = subprocess.run(
        [sys.executable, "-m", "audar_plugins.cli", "backends"], check=True, capture_output=True, text=True
    ).stdout
    lines = {line.split()[0]: line for line in listing.splitlines()}
    assert "(default)" in lines["embedded"]
    assert "audar_plugin_example:ConstantBackend" in lines["example-constant"]
