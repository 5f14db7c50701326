"""Find backends by name through the ``audar_plugins.backends`` entry-point group.

A distribution registers a backend in its ``pyproject.toml``::

    [project.entry-points."audar_plugins.backends"]
    my-backend = "my_package.module:MyBackend"

``MyBackend(**options)`` must return an object implementing
:class:`audar_plugins.backends.base.Backend`. Then
``load_backend("my-backend", **options)`` and ``audar diarize --backend
my-backend`` find it, with no import of ``my_package`` until it is asked for.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .backends.base import Backend
from .errors import AudarError, BackendLoadError, BackendNotFoundError

__all__ = ["ENTRY_POINT_GROUP", "available_backends", "backend_accepts", "backend_distribution", "load_backend"]

ENTRY_POINT_GROUP = "audar_plugins.backends"
DEFAULT_BACKEND = "embedded"


def _entry_points() -> dict[str, EntryPoint]:
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def available_backends() -> dict[str, str]:
    """Installed backends: name -> ``"module:attribute"`` it loads, sorted by name."""
    return {name: entry.value for name, entry in sorted(_entry_points().items())}


def backend_accepts(name: str, option: str) -> bool:
    """Whether the backend registered as ``name`` names the keyword ``option`` (False when it cannot be imported)."""
    import inspect

    entry = _entry_points().get(name)
    if entry is None:
        return False
    try:
        parameters = inspect.signature(entry.load()).parameters
    except Exception:  # load_backend reports a broken backend, with its cause
        return False
    return option in parameters


def backend_distribution(name: str) -> str | None:
    """``"distribution==version"`` of the installed package that registers ``name``, or None."""
    entry = _entry_points().get(name)
    distribution = getattr(entry, "dist", None)
    return None if distribution is None else f"{distribution.metadata['Name']}=={distribution.version}"


def load_backend(name: str = DEFAULT_BACKEND, **options: Any) -> Backend:
    """Construct the backend registered as ``name`` with ``options``.

    Raises
    ------
    BackendNotFoundError
        No installed distribution registers ``name``; the message lists those that exist.
    BackendLoadError
        The backend is registered but importing or constructing it failed.
    """
    entry = _entry_points().get(name)
    if entry is None:
        installed = ", ".join(available_backends()) or "none"
        raise BackendNotFoundError(f"no backend named {name!r}; installed backends: {installed}")
    try:
        factory = entry.load()
    except AudarError:
        raise
    except Exception as error:
        raise BackendLoadError(f"backend {name!r} ({entry.value}) failed to import: {error}") from error
    try:
        backend = factory(**options)
    except AudarError:
        raise
    except TypeError as error:
        raise BackendLoadError(f"backend {name!r} rejected its options {sorted(options)}: {error}") from error
    except Exception as error:  # a device that is not there, a checkpoint the framework refuses, ...
        raise BackendLoadError(f"backend {name!r} failed to load: {type(error).__name__}: {error}") from error
    if not isinstance(backend, Backend):
        raise BackendLoadError(f"{entry.value} did not produce a Backend (got {type(backend).__name__})")
    return backend
