"""A live session of the fake backend: its script, frame by frame, as the audio arrives.

A frame is final once the audio covering its whole 80 ms has arrived; :meth:`FakeSession.flush`
adds the last partial frame. Speakers appear as columns in order of arrival, so the
concatenated blocks equal :meth:`FakeBackend.diarize` on the same audio, however it is cut.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..activity import SpeakerActivity, default_labels
from ..errors import SnapshotError
from .session import BaseSession

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11; the package supports 3.10

__all__ = ["FakeSession"]


class FakeSession(BaseSession):
    """One live stream of a :class:`~audar_plugins.backends.fake.FakeBackend`.

    Create sessions with :meth:`FakeBackend.open_session`; resume one with
    :meth:`FakeBackend.restore_session`. ``labels`` grows as speakers arrive.
    """

    snapshot_kind = "fake-session"
    snapshot_version = 2
    snapshot_mismatch = "the snapshot was taken with another fake script; restore it on the same settings"

    def __init__(self, backend, count: int) -> None:
        super().__init__(backend.frame_duration, _script(backend))
        self._backend = backend
        self._count = count

    @property
    def labels(self) -> tuple[str, ...]:
        return default_labels(self._backend.arrived(self._emitted, self._count))

    @property
    def latency(self) -> float:
        """Seconds of audio buffered before a frame is final: one frame."""
        return self.frame_duration

    def _push(self, samples: np.ndarray) -> SpeakerActivity:
        return self._emit(self._received // self._backend.frame_samples)

    def _flush(self) -> SpeakerActivity:
        return self._emit(self._backend.frame_count(self._received))

    def _emit(self, until: int) -> SpeakerActivity:
        first = self._emitted
        until = max(until, first)
        width = self._backend.arrived(until, self._count)
        return self._block(self._backend.script(first, until, self._count)[:, :width], default_labels(width))

    # -- snapshot and restore ----------------------------------------------------------------

    def _snapshot_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"count": self._count}, {}

    @classmethod
    def _reopen(cls, backend, header: dict[str, Any]) -> Self:
        return cls(backend, int(header["count"]))

    def _restore_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if not 0 <= self._emitted <= self._backend.frame_count(self._received) or self._count < 1:
            raise SnapshotError("inconsistent fake session snapshot")


def _script(backend) -> dict[str, float]:
    """The settings that decide a session's output, besides its speaker count."""
    return {"turn_duration": backend.turn_duration, "overlap": backend.overlap,
            "frame_duration": backend.frame_duration}
