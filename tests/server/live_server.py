"""A real uvicorn server on a free loopback port, in a background thread, for the gateway tests.

Every server's log is watched (:data:`SERVER_LOG`): the suite fails a test after which the
server logged a warning, an error or a traceback (``conftest.py``), unless the test says it
expects server errors and checks them itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time

WATCHED_LOGGERS = ("uvicorn", "audar_plugins", "starlette", "fastapi")


class ServerLog(logging.Handler):
    """Keeps the records of level WARNING or above, or carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or record.exc_info:
            self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records

    def watch(self) -> None:
        """Attach to the server's loggers (uvicorn replaces its handlers each time a server is configured)."""
        for name in WATCHED_LOGGERS:
            logger = logging.getLogger(name)
            if self not in logger.handlers:
                logger.addHandler(self)


SERVER_LOG = ServerLog()


def wait_until(condition, timeout: float = 30.0, what: str = "the condition") -> None:
    """Return once ``condition()`` holds; fail the test if it does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.02)


class Reader:
    """A realtime client's events: received on a thread of its own, each with the time it arrived."""

    def __init__(self, socket, until: str = "audar.stream.ended") -> None:
        self.socket = socket
        self.events: list[tuple[float, dict]] = []
        self.until = until
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from websockets import ConnectionClosed

        try:
            for message in self.socket:
                event = json.loads(message)
                self.events.append((time.monotonic(), event))
                if event["type"] == self.until:
                    return
        except ConnectionClosed:
            return

    def wait(self, timeout: float = 120) -> list[dict]:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"no {self.until} event within {timeout} s"
        return [event for _, event in self.events]

    def of(self, kind: str) -> list[dict]:
        return [event for _, event in self.events if event["type"] == kind]


class LiveServer:
    """``LiveServer(app)`` starts serving at once; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, app) -> None:
        import uvicorn

        from audar_plugins.server.app import uvicorn_options

        options = uvicorn_options(app.state.settings)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **options))
        SERVER_LOG.watch()
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
