"""The OpenAI-compatible gateway (``audar serve``): ``pip install 'audar-plugins[server]'``.

    from audar_plugins.server import Settings, create_app
    app = create_app(Settings(asr_model="tiny.en"))       # any ASGI server; or `audar serve --asr tiny.en`

Routes: ``POST /v1/audio/transcriptions`` (OpenAI's form, plus ``diarize`` and speaker
counts), ``POST /v1/audio/diarizations``, ``GET /v1/models``, ``GET /health`` and the
``/v1/realtime`` WebSocket. FastAPI and uvicorn are imported only by :mod:`.app` and below.
"""

from __future__ import annotations

from typing import Any

from ..errors import MissingDependencyError
from .settings import Settings

__all__ = ["Settings", "create_app", "serve"]

SERVER_PACKAGES = ("fastapi", "starlette", "uvicorn", "multipart", "python_multipart")


def __getattr__(name: str) -> Any:
    if name not in ("create_app", "serve"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from . import app
    except ImportError as error:
        if (error.name or "").split(".")[0] in SERVER_PACKAGES:
            raise MissingDependencyError(error.name or "fastapi", "server", "the HTTP gateway") from error
        raise
    return getattr(app, name)
