"""Every docstring example in the package runs: a ``>>>`` example is a test, or it is not written as one."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "audar_plugins"
WITH_EXAMPLES = sorted(
    ".".join(part for part in path.relative_to(PACKAGE.parent).with_suffix("").parts if part != "__init__")
    for path in PACKAGE.rglob("*.py")
    if ">>>" in path.read_text(encoding="utf-8")
)


def test_the_modules_with_examples_are_found():
    assert "audar_plugins.backends.base" in WITH_EXAMPLES and len(WITH_EXAMPLES) >= 5


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
