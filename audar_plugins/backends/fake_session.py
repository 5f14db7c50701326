"""A live session of the fake backend: its script, frame by frame, as the audio arrives.

A frame is final once the audio covering its whole 80 ms has arrived; :meth:`FakeSession.flush`
adds the last partial frame. Speakers appear as columns in order of arrival, so the
concatenated blocks equal :meth:`FakeBackend.diarize` on the same audio, however it is cut.
"""

from __future__ import annotations

from typing import Any

from ..activity import SpeakerActivity, default_labels
from ..audio import SAMPLE_RATE, stream_samples
from ..errors import SessionClosedError, SnapshotError
from .snapshot import pack, unpack

__all__ = ["FakeSession"]

_SNAPSHOT_KIND = "fake-session"
_SNAPSHOT_VERSION = 1


class FakeSession:
    """One live stream of a :class:`~audar_plugins.backends.fake.FakeBackend`.

    Create sessions with :meth:`FakeBackend.open_session`; resume one with
    :meth:`FakeBackend.restore_session`. ``labels`` grows as speakers arrive.
    """

    sample_rate = SAMPLE_RATE

    def __init__(self, backend, count: int) -> None:
        self._backend = backend
        self._count = count
        self.frame_duration = backend.frame_duration
        self._received = 0  # samples pushed
        self._emitted = 0  # frames returned
        self.closed = False

    @property
    def labels(self) -> tuple[str, ...]:
        return default_labels(self._backend.arrived(self._emitted, self._count))

    @property
    def num_speakers(self) -> int:
        return len(self.labels)

    @property
    def emitted_frames(self) -> int:
        return self._emitted

    @property
    def received_seconds(self) -> float:
        return self._received / SAMPLE_RATE

    @property
    def latency(self) -> float:
        """Seconds of audio buffered before a frame is final: one frame."""
        return self.frame_duration

    def push(self, audio: Any, sample_rate: int = SAMPLE_RATE) -> SpeakerActivity:
        """Add mono 16 kHz audio (any length); return the frames whose whole 80 ms has arrived.

        Bad audio raises an :class:`~audar_plugins.errors.AudioError` and leaves the session as it was.
        """
        self._check_open()
        self._received += stream_samples(audio, sample_rate).size
        return self._emit(self._received // self._backend.frame_samples)

    def flush(self) -> SpeakerActivity:
        """End the stream: return the remaining frames, a last partial one included."""
        self._check_open()
        block = self._emit(self._backend.frame_count(self._received))
        self.closed = True
        return block

    def _check_open(self) -> None:
        if self.closed:
            raise SessionClosedError("this session was flushed; open a new one for more audio")

    def _emit(self, until: int) -> SpeakerActivity:
        first = self._emitted
        until = max(until, first)
        width = self._backend.arrived(until, self._count)
        probabilities = self._backend.script(first, until, self._count)[:, :width]
        self._emitted = until
        return SpeakerActivity(probabilities, self.frame_duration, first * self.frame_duration, self.labels)

    # -- snapshot and restore ----------------------------------------------------------------

    def snapshot(self) -> bytes:
        """The session's state as bytes; :meth:`FakeBackend.restore_session` resumes it exactly."""
        self._check_open()
        header = {"version": _SNAPSHOT_VERSION, "script": _script(self._backend), "count": self._count,
                  "received": self._received, "emitted": self._emitted}
        return pack(_SNAPSHOT_KIND, header, {})

    @classmethod
    def restore(cls, backend, data: bytes) -> FakeSession:
        """A session continuing the one ``data`` was taken from, on ``backend``'s script."""
        header, _ = unpack(_SNAPSHOT_KIND, data)
        if header.get("version") != _SNAPSHOT_VERSION:
            raise SnapshotError(f"snapshot version {header.get('version')} is not {_SNAPSHOT_VERSION}")
        if header.get("script") != _script(backend):
            raise SnapshotError("the snapshot was taken with another fake script; restore it on the same settings")
        try:
            session = cls(backend, int(header["count"]))
            session._received = int(header["received"])
            session._emitted = int(header["emitted"])
        except (KeyError, TypeError, ValueError) as error:
            raise SnapshotError(f"incomplete session snapshot: {error!r}") from None
        if not 0 <= session._emitted <= backend.frame_count(session._received) or session._count < 1:
            raise SnapshotError("inconsistent fake session snapshot")
        return session


def _script(backend) -> dict[str, float]:
    """The settings that decide a session's output, besides its speaker count."""
    return {"turn_duration": backend.turn_duration, "overlap": backend.overlap,
            "frame_duration": backend.frame_duration}
