"""Uploaded audio: the body size cap, the ``file`` form field, and decoding under the length cap.

The body is counted as it arrives (:class:`UploadLimitMiddleware`): a ``Content-Length`` over
the cap is refused before a byte is read, and a chunked body the moment it crosses the cap,
so a 2 GB upload never sits in memory or on disk. The multipart parser keeps an upload in
memory up to 1 MB and beyond that in an anonymous temporary file it creates itself. The
client's file name is only a name (an RTTM file id): no path from a request is ever opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from ..audio import load_audio
from ..errors import AudioTooLongError
from .errors import APIError, error_response

__all__ = ["Upload", "UploadLimitMiddleware", "UploadTooLargeError", "decode_upload"]


class UploadTooLargeError(APIError):
    """The request body is larger than ``max_upload_bytes``."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than this server's limit of {limit:,} bytes", 413,
                         "file", "file_too_large")


class UploadLimitMiddleware:
    """ASGI middleware refusing request bodies over ``max_bytes`` with 413, without reading them."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await error_response(UploadTooLargeError(self.max_bytes))(scope, receive, send)
            return
        received = 0

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLargeError(self.max_bytes)
            return message

        await self.app(scope, counted_receive, send)


@dataclass(frozen=True)
class Upload:
    """The ``file`` field: its bytes (a seekable binary file) and the name the client gave it."""

    file: BinaryIO
    filename: str

    @property
    def stem(self) -> str:
        """The name without folders or extension, for RTTM file ids (``/etc/passwd`` -> ``passwd``)."""
        base = os.path.basename(self.filename.replace("\\", "/"))
        return os.path.splitext(base)[0] or "audio"


class _Named:
    """``file`` reporting ``name`` in decoding errors (a spooled temporary file has none)."""

    def __init__(self, file: BinaryIO, name: str) -> None:
        self._file = file
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._file, attribute)


def decode_upload(upload: Upload, max_seconds: float) -> np.ndarray:
    """16 kHz mono float32 samples of ``upload``; raises 400 for empty or too long audio.

    The length is checked on the header before decoding where the format states it, and
    otherwise decoding stops as soon as the audio passes ``max_seconds``. Decoding errors
    name the upload by the client's file name. Runs on a worker thread (decoding is CPU work).
    """
    file = upload.file
    file.seek(0, os.SEEK_END)
    if file.tell() == 0:
        raise APIError("the uploaded file is empty", 400, "file", "empty_file")
    file.seek(0)
    try:
        return load_audio(_Named(file, upload.filename or "upload"), max_seconds=max_seconds)
    except AudioTooLongError as error:
        raise APIError(_too_long(error.seconds, max_seconds), 400, "file", "audio_too_long") from error


def _too_long(seconds: float | None, limit: float) -> str:
    if seconds is None:  # decoding stopped at the limit: the header states no length
        return f"the audio is longer than {limit:g} s, the most this server accepts"
    return f"the audio is {seconds:.1f} s long; this server accepts at most {limit:g} s"
