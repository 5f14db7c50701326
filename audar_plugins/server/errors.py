"""Every error the server answers, in OpenAI's shape, decided in one place.

    {"error": {"message": "...", "type": "invalid_request_error", "param": "file", "code": "invalid_audio"}}

:class:`APIError` is what server code raises; :func:`error_for` turns any exception into one
(our :class:`~audar_plugins.errors.AudarError` family -> 400 with its message; anything
unexpected -> 500 without a traceback, which is logged instead); :func:`install_error_handlers`
makes FastAPI answer every error, its own 404/405/422 included, through them. The realtime
WebSocket sends the same ``error`` object inside its ``error`` event (:meth:`APIError.body`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ..errors import AudarError, AudioError, InvalidOptionError

__all__ = ["APIError", "error_for", "error_response", "install_error_handlers"]

logger = logging.getLogger(__name__)

TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
         405: "invalid_request_error", 413: "invalid_request_error", 429: "rate_limit_error"}
"""HTTP status -> OpenAI error type (OpenAI calls client mistakes, 401 included, invalid_request_error)."""


@dataclass
class APIError(Exception):
    """An error answered to the client as ``{"error": {...}}`` with ``status``."""

    message: str
    status: int = 400
    param: str | None = None
    code: str | None = None
    type: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if self.type is None:
            self.type = TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")

    def body(self) -> dict[str, Any]:
        """The ``{"error": {...}}`` object."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower()


def error_for(error: BaseException) -> APIError:
    """The :class:`APIError` to answer for ``error``."""
    if isinstance(error, APIError):
        return error
    if isinstance(error, AudarError):
        param = "file" if isinstance(error, AudioError) else None
        code = "invalid_value" if isinstance(error, InvalidOptionError) else _snake(type(error).__name__)
        return APIError(str(error), 400, param, code)
    logger.error("unexpected error while serving a request", exc_info=error)
    return APIError("the server failed while handling this request; the error is in its log", 500,
                    code="internal_error")


def error_response(error: BaseException):
    """A ``JSONResponse`` for ``error``."""
    from fastapi.responses import JSONResponse

    api_error = error_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if api_error.status == 401 else None
    return JSONResponse(api_error.body(), status_code=api_error.status, headers=headers)


def install_error_handlers(app) -> None:
    """Answer every error of ``app`` in OpenAI's shape (never FastAPI's ``detail`` format)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def http_error(request, error: HTTPException):
        message = error.detail if isinstance(error.detail, str) else "request failed"
        if error.status_code == 404:
            message = f"no route {request.method} {request.url.path}"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code)
        return error_response(APIError(message, error.status_code, code=code))

    async def validation_error(request, error: RequestValidationError):
        problems = error.errors()
        first = problems[0] if problems else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "form")]
        message = f"{'.'.join(location) or 'request'}: {first.get('msg', 'invalid value')}"
        return error_response(APIError(message, 400, location[-1] if location else None, "invalid_value"))

    async def any_error(request, error: Exception):
        return error_response(error)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(APIError, any_error)
    app.add_exception_handler(AudarError, any_error)
    # not add_exception_handler(Exception): Starlette re-raises after answering those, and
    # uvicorn then drops the connection, sometimes before the client has read the answer
    app.add_middleware(UnexpectedErrorMiddleware)


class UnexpectedErrorMiddleware:
    """ASGI middleware answering any other exception with a 500 (logged, no traceback sent).

    A client that leaves mid-request (an upload aborted mid-body) is a normal end, logged
    at debug level: there is nobody to answer.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        from starlette.requests import ClientDisconnect

        try:
            await self.app(scope, receive, watched_send)
        except ClientDisconnect:
            logger.debug("client left during %s %s", scope.get("method"), scope.get("path"))
        except Exception as error:
            if started:  # a streamed answer is under way: its status can no longer change
                raise
            await error_response(error)(scope, receive, send)
