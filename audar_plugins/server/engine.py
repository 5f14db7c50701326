"""The models of one server process, loaded once, and the threads their CPU work runs on.

    engine = Engine.load(settings)                    # at startup: one backend, one WhisperModel
    activity = await engine.run(engine.backend.diarize, waveform)
    block = await engine.run(session.push, chunk, lane="live")

Both models are shared by every request: the backends are safe to call from several threads
(the embedded backend keeps no state between calls; Sortformer locks its settings) and so is
speech recognizer (a :class:`~audar_plugins.transcription.Recognizer`; faster-whisper's
``WhisperModel`` is built with ``num_workers`` equal to the thread count, so that concurrent
calls run in parallel). CPU work never runs on the event loop. Jobs wait in a
first-in, first-out queue when every thread is busy: a busy server is slower, never failing.
Each lane has threads of its own: ``"batch"`` for HTTP file jobs, ``"live"`` for realtime pushes
and ``"live_asr"`` for realtime items, so a short push or a spoken turn is never queued behind
a long file transcription, and a push never waits for a turn's transcription.

torch runs a team of intra-op threads for each thread that calls it, so the cores are split
between the workers (unless ``OMP_NUM_THREADS`` says otherwise): two callers with two threads
each on two cores fought over them, and 8 realtime sessions fell 8 s behind
(``benchmarks/realtime_load.py``); with one thread each they keep up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..backends.base import Backend
from ..transcription import Recognizer
from .settings import Settings

if TYPE_CHECKING:
    from ..speakers import VoiceEncoder, Voiceprint

__all__ = ["Engine"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
Lane = Literal["batch", "live", "live_asr"]


class Engine:
    """One diarization backend, an optional ASR model and the thread pools that run them.

    Attributes
    ----------
    settings
        The :class:`Settings` it was built with.
    backend
        The diarization backend (``backend.name``, ``backend.diarize``, and for streaming
        backends ``open_session``/``restore_session``).
    recognizer
        The speech recognizer (:class:`~audar_plugins.transcription.Recognizer`), or ``None``
        when the server runs without ASR.
    """

    def __init__(self, settings: Settings, backend: Backend, recognizer: Recognizer | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self.recognizer = recognizer
        self.voiceprints: list[Voiceprint] = []  # the server's known speakers (settings.voices)
        self.binarization = backend.binarization  # the diarization route's; settings.params puts tuned values over it
        if settings.params is not None:
            from ..training.tuning import read_params

            self.binarization = dataclasses.replace(backend.binarization, **read_params(settings.params))
        self._lanes = {lane: ThreadPoolExecutor(settings.workers, thread_name_prefix=f"audar-{lane}")
                       for lane in ("batch", "live", "live_asr")}

    @classmethod
    def load(cls, settings: Settings) -> Engine:
        """Load the backend and (when ``settings.asr_model`` is set) the ASR model."""
        from ..registry import load_backend

        backend = load_backend(settings.backend, **settings.backend_options)
        share_cores(settings.workers)
        recognizer = None
        if settings.asr_model is not None:
            recognizer = load_asr(settings.asr_model, settings.compute_type, settings.workers)
        logger.info("serving backend %r%s", backend.name,
                    f" and ASR model {settings.asr_model!r}" if recognizer is not None else " without ASR")
        engine = cls(settings, backend, recognizer)
        if settings.voices is not None:
            engine.load_voices(settings.voices)
        return engine

    def load_voices(self, folder: str) -> None:
        """Know the speakers of a folder of voiceprints (``audar enroll``) in every request."""
        from ..speakers import known_voiceprints
        from ..speakers.naming import check_encoder

        self.voiceprints = known_voiceprints(folder, self.encoder)
        check_encoder(self.voiceprints, self.encoder)
        logger.info("%d known speaker(s) from the voices folder", len(self.voiceprints))

    @cached_property
    def encoder(self) -> VoiceEncoder:
        """The speaker encoder that names voices (the backend's own CAM++ when it has one)."""
        from ..speakers import encoder_for

        return encoder_for(self.backend)

    async def run(self, function: Callable[..., T], *args: Any, lane: Lane = "batch", **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` on a worker thread of ``lane`` (see the module docstring)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._lanes[lane], functools.partial(function, *args, **kwargs))

    def submit(self, function: Callable[..., T], *args: Any, lane: Lane = "batch", **kwargs: Any):
        """Start ``function`` on a worker thread of ``lane``; returns its ``concurrent.futures.Future``."""
        return self._lanes[lane].submit(function, *args, **kwargs)

    def close(self) -> None:
        """Finish queued jobs and stop the threads."""
        for pool in self._lanes.values():
            pool.shutdown(wait=True, cancel_futures=True)


def threads_per_worker(workers: int) -> int:
    """Each of ``workers`` concurrent callers' share of the cores, at least one thread."""
    return max(1, (os.cpu_count() or 1) // workers)


def share_cores(workers: int) -> None:
    """Give torch, when a backend uses it, its share of the cores for each of ``workers`` callers."""
    if "torch" in sys.modules and "OMP_NUM_THREADS" not in os.environ:
        sys.modules["torch"].set_num_threads(threads_per_worker(workers))


def load_asr(model: str, compute_type: str, workers: int) -> Recognizer:
    """faster-whisper ``model`` for ``workers`` concurrent callers, splitting the cores between them."""
    from ..adapters.faster_whisper import load_recognizer

    threads = threads_per_worker(workers)
    return load_recognizer(model, compute_type, cpu_threads=threads, num_workers=workers)
