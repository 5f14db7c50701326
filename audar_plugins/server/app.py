"""The application: ``create_app(settings)`` for any ASGI server, ``serve(settings)`` to run it on uvicorn.

``app.state.settings`` holds the :class:`~.settings.Settings` and ``app.state.engine`` the
:class:`~.engine.Engine` (models and worker threads), loaded once when the server starts,
or given ready-made (tests share models that way).
"""

from __future__ import annotations

import contextlib
import logging

from .. import __version__
from .auth import ApiKeyMiddleware
from .engine import Engine
from .errors import install_error_handlers
from .realtime import add_realtime_routes
from .routes import router
from .settings import Settings
from .uploads import UploadLimitMiddleware
from .web_page import add_web_page

__all__ = ["create_app", "serve", "uvicorn_options"]

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, engine: Engine | None = None):
    """A FastAPI app serving ``settings``; ``engine`` (already loaded) skips loading models at startup."""
    from fastapi import FastAPI

    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        owned = engine is None
        app.state.engine = Engine.load(settings) if owned else engine
        try:
            yield
        finally:
            if owned:
                app.state.engine.close()

    app = FastAPI(title="audar-plugins gateway", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    if engine is not None:
        app.state.engine = engine
    install_error_handlers(app)
    app.include_router(router)
    add_realtime_routes(app)
    if settings.web_page:
        add_web_page(app)
    # outermost first: the key is checked before a byte of the body is read
    app.add_middleware(UploadLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key)
    return app


def serve(settings: Settings) -> None:
    """Load the models and serve on ``settings.host:settings.port`` until interrupted."""
    import uvicorn

    if settings.host not in ("127.0.0.1", "localhost", "::1") and settings.api_key is None:
        logger.warning("serving on %s without an API key: anyone who can reach it can use it", settings.host)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                **uvicorn_options(settings))


def uvicorn_options(settings: Settings) -> dict:
    """The uvicorn options the gateway needs, beyond address and logging (the tests' server uses them too)."""
    return {
        # uvicorn drops a connection over ws_max_size; below it, /v1/realtime answers an oversized
        # message with an error event and the session goes on
        "ws_max_size": max(16 * 2**20, 4 * settings.max_message_bytes),
        # websockets-sansio (uvicorn's default) logs an ERROR after every refused handshake
        # (uvicorn pull request 3138); wsproto does not
        "ws": "wsproto",
    }
