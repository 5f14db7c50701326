"""The base of every streaming backend's live session: the lifecycle and the snapshot envelope.

A session takes 16 kHz mono audio in pushes of any length and returns the frames that
became final; :meth:`BaseSession.flush` ends the stream and returns the rest. This class
owns what every backend's session does the same way: checking each push
(:func:`~audar_plugins.audio.stream_samples`), counting the samples received and the frames
returned, refusing audio after the flush, and one versioned snapshot envelope (kind,
version, model fingerprint) around the backend's own state. A backend's session
implements the steps in between:

* ``_push(samples) -> SpeakerActivity`` and ``_flush() -> SpeakerActivity``: the frames
  that became final, starting at :attr:`emitted_frames` (:meth:`_block` builds one);
* ``_snapshot_state() -> (header, arrays)``: the backend's state, JSON and numpy arrays;
* ``_reopen(owner, header)`` (a class method): a fresh session of the snapshot's settings
  on ``owner`` (what the backend hands its sessions: a model, a runtime, itself);
* ``_restore_state(header, arrays)``: the state of :meth:`_snapshot_state` back in place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..activity import SpeakerActivity
from ..audio import SAMPLE_RATE, stream_samples
from ..errors import SessionClosedError, SnapshotError
from .snapshot import pack, unpack

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11; the package supports 3.10

__all__ = ["BaseSession"]


class BaseSession(ABC):
    """One live stream; see the module docstring for what a backend's session adds.

    Parameters
    ----------
    frame_duration
        Seconds per output frame.
    fingerprint
        A JSON value that tells the models (or settings) apart whose sessions must not be
        restored on each other: a snapshot restores only where it is equal.

    Attributes
    ----------
    snapshot_kind, snapshot_version
        The snapshot's tag and format version (class attributes of each backend's session).
    snapshot_mismatch
        The message of the :class:`~audar_plugins.errors.SnapshotError` for another model's snapshot.
    closed
        ``True`` once :meth:`flush` has run.
    """

    sample_rate: ClassVar[int] = SAMPLE_RATE
    snapshot_kind: ClassVar[str]
    snapshot_version: ClassVar[int]
    snapshot_mismatch: ClassVar[str] = "the snapshot was taken with a different model"

    def __init__(self, frame_duration: float, fingerprint: Any) -> None:
        self.frame_duration = frame_duration
        self.closed = False
        self._fingerprint = fingerprint
        self._received = 0  # samples pushed
        self._emitted = 0  # frames returned
        self._labels: tuple[str, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """The speakers so far, one per column of the blocks (sessions whose speakers arrive
        over time compute it)."""
        return self._labels

    @property
    def num_speakers(self) -> int:
        return len(self.labels)

    @property
    def emitted_frames(self) -> int:
        """Frames returned so far; the next block starts at ``emitted_frames * frame_duration``."""
        return self._emitted

    @property
    def received_seconds(self) -> float:
        """Seconds of audio pushed so far."""
        return self._received / SAMPLE_RATE

    def push(self, audio: Any, sample_rate: int = SAMPLE_RATE) -> SpeakerActivity:
        """Add mono 16 kHz audio (any length); return the frames that became final (possibly none).

        Bad audio raises an :class:`~audar_plugins.errors.AudioError` and leaves the session as it was.
        """
        self._check_open()
        samples = stream_samples(audio, sample_rate)
        self._received += samples.size
        return self._advance(self._push(samples))

    def flush(self) -> SpeakerActivity:
        """End the stream: return the remaining frames. The session accepts no more audio."""
        self._check_open()
        block = self._advance(self._flush())
        self.closed = True
        return block

    def snapshot(self) -> bytes:
        """The session's state as bytes; the backend's ``restore_session`` resumes it, here or in
        another process, and the continuation equals what this session would have returned."""
        self._check_open()
        header, arrays = self._snapshot_state()
        envelope = {"version": self.snapshot_version, "model": self._fingerprint, "received": self._received,
                    "emitted": self._emitted}
        return pack(self.snapshot_kind, {**header, **envelope}, arrays)

    @classmethod
    def restore(cls, owner: Any, data: bytes) -> Self:
        """A session on ``owner`` continuing the one ``data`` was taken from.

        Raises :class:`~audar_plugins.errors.SnapshotError` for anything but this kind's
        snapshot, of this version, of the same model, and complete.
        """
        header, arrays = unpack(cls.snapshot_kind, data)
        version = header.get("version")
        if version != cls.snapshot_version:
            raise SnapshotError(f"snapshot version {version} is not {cls.snapshot_version}: it was taken by another "
                                "release of audar-plugins; open a new session")
        try:
            session = cls._reopen(owner, header)
            if header.get("model") != session._fingerprint:
                raise SnapshotError(cls.snapshot_mismatch)
            session._received = _whole(header["received"])
            session._emitted = _whole(header["emitted"])
            session._restore_state(header, arrays)
        except SnapshotError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise SnapshotError(f"incomplete session snapshot: {error!r}") from None
        return session

    # -- for the backends' sessions ------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise SessionClosedError("this session was flushed; open a new one for more audio")

    def _block(self, probabilities: np.ndarray, labels: tuple[str, ...], **extra: Any) -> SpeakerActivity:
        """The next block: ``probabilities`` from frame :attr:`emitted_frames` on."""
        return SpeakerActivity(probabilities, self.frame_duration, self._emitted * self.frame_duration, labels,
                               **extra)

    def _advance(self, block: SpeakerActivity) -> SpeakerActivity:
        """``block``, counted as returned."""
        self._emitted += block.num_frames
        return block

    @abstractmethod
    def _push(self, samples: np.ndarray) -> SpeakerActivity:
        """Take checked 16 kHz float32 ``samples`` (already counted); return the frames that became final."""

    @abstractmethod
    def _flush(self) -> SpeakerActivity:
        """The stream ended: return every remaining frame."""

    @abstractmethod
    def _snapshot_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The backend's state: a JSON-able header and named arrays. The envelope's keys
        (``version``, ``model``, ``received``, ``emitted``) are taken."""

    @classmethod
    @abstractmethod
    def _reopen(cls, owner: Any, header: dict[str, Any]) -> Self:
        """A new session on ``owner`` with the settings a snapshot's ``header`` records."""

    @abstractmethod
    def _restore_state(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Put back the state :meth:`_snapshot_state` saved (missing or bad values may raise
        ``KeyError``, ``TypeError`` or ``ValueError``: they become a :class:`SnapshotError`)."""


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a count must be a whole number >= 0, got {value!r}")
    return value
