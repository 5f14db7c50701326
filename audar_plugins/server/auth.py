"""The optional API key: ``Authorization: Bearer KEY`` on every ``/v1`` request when one is set.

``/health`` stays open (for load balancers). WebSocket handshakes are left to the realtime
route, which checks them with :func:`authorized`: browsers cannot set headers on a WebSocket,
so there the key may also come as OpenAI's subprotocol ``openai-insecure-api-key.KEY``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from .errors import APIError, error_response

__all__ = ["ApiKeyMiddleware", "authorized", "bearer_token"]

SUBPROTOCOL_PREFIX = "openai-insecure-api-key."
PROTECTED_PREFIX = "/v1/"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def authorized(api_key: str | None, authorization: str | None, subprotocols: Iterable[str] = ()) -> bool:
    """Whether a request may proceed: no key is configured, or it presents the key."""
    if api_key is None:
        return True
    offered = [bearer_token(authorization)]
    offered += [protocol.removeprefix(SUBPROTOCOL_PREFIX) for protocol in subprotocols
                if protocol.startswith(SUBPROTOCOL_PREFIX)]
    expected = api_key.encode()
    return any(token is not None and hmac.compare_digest(token.encode(), expected) for token in offered)


class ApiKeyMiddleware:
    """ASGI middleware answering 401 to ``/v1`` HTTP requests without the configured key."""

    def __init__(self, app, api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope, receive, send) -> None:
        if self.api_key is not None and scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIX):
            header = dict(scope["headers"]).get(b"authorization")
            authorization = header.decode("latin-1") if header is not None else None
            if not authorized(self.api_key, authorization):
                message = ("missing API key: send it as 'Authorization: Bearer KEY'" if authorization is None
                           else "incorrect API key provided")
                await error_response(APIError(message, 401, code="invalid_api_key"))(scope, receive, send)
                return
        await self.app(scope, receive, send)
