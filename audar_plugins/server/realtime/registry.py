"""The realtime sessions of one server: a cap on open and parked sessions together, and the parked streams.

A slot is held from the handshake until the connection ends, whatever ends it (a refused
query, a bad resume token, a dropped client, a server error): :meth:`SessionRegistry.slot`
gives it back in one place. A parked stream holds its memory until it is resumed or
expires, so it counts toward the cap as an open session does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SessionRegistry"]


@dataclass
class SessionRegistry:
    """Live connections and parked streams waiting to be resumed, at most ``limit`` together."""

    limit: int
    park_seconds: float
    active: int = 0
    parked: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)  # resume tokens of open connections

    def expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, (deadline, _) in self.parked.items() if deadline < now]:
            del self.parked[token]

    def has_room(self, resuming: str | None = None) -> bool:
        """Whether a new connection fits; one resuming ``resuming`` takes the place its stream holds."""
        self.expire()
        held = self.active + len(self.parked)
        if resuming is not None and (resuming in self.parked or resuming in self.live):
            held -= 1
        return held < self.limit

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place for one connection until the block ends, however it ends."""
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1

    def park(self, token: str, state: dict[str, Any]) -> None:
        self.expire()
        self.parked[token] = (time.monotonic() + self.park_seconds, state)

    async def take(self, token: str, wait: float = 5.0) -> dict[str, Any] | None:
        """The parked stream of ``token``, waiting a little for a connection still closing to park it."""
        deadline = time.monotonic() + wait
        while token in self.live and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self.expire()
        entry = self.parked.pop(token, None)
        return None if entry is None else entry[1]
