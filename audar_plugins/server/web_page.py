"""The web page at ``GET /``: live and file modes, static files shipped in the package (``static/``).

Everything comes from this origin and nothing runs inline, which a strict Content-Security-Policy
enforces on the page and its files. The page itself needs no key: it sends the one typed into it
to the ``/v1`` routes, as any client would.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SECURITY_HEADERS", "STATIC", "add_web_page"]

STATIC = Path(__file__).resolve().parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join([
        "default-src 'none'",
        "script-src 'self'",  # modules and the AudioWorklet, from files only
        "style-src 'self'",
        "connect-src 'self'",  # the routes and the realtime WebSocket of this origin
        "media-src 'self' blob:",  # the chosen recording, played from memory
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def add_web_page(app) -> None:
    """``GET /`` (the page) and ``/static/*`` (its files) on ``app``, each with :data:`SECURITY_HEADERS`."""
    from fastapi.responses import FileResponse

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=SECURITY_HEADERS)

    app.mount("/static", _secure_static_files()(directory=STATIC), name="static")


def _secure_static_files() -> type:
    """Starlette's StaticFiles, each response carrying :data:`SECURITY_HEADERS`."""
    from fastapi.staticfiles import StaticFiles

    class SecureStaticFiles(StaticFiles):
        async def get_response(self, path, scope):
            response = await super().get_response(path, scope)
            response.headers.update(SECURITY_HEADERS)
            if path.endswith(".js"):  # modules need a JavaScript type; the platform's table may say otherwise
                response.headers["content-type"] = "text/javascript; charset=utf-8"
            return response

    return SecureStaticFiles
