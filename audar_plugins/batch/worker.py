"""One batch worker: the models loaded once, then one file at a time to finished output bytes.

The same :class:`BatchWorker` runs in the ``audar batch`` process, in each process of the local
pool and in each Ray actor; it writes nothing itself, so a file's outputs are the same bytes
whichever way it ran (the driver writes them, see :mod:`.outputs`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import resource
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..audio import SAMPLE_RATE, load_audio
from ..backends.base import SpeakerCount
from ..errors import AudarError
from .inputs import BatchItem
from .job import AsrSettings, BatchJob

if TYPE_CHECKING:
    import numpy as np

    from ..speakers import SpeakerMatch

__all__ = ["BatchWorker", "Content", "Outcome", "Task", "start_worker"]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Task:
    """A file to work on; ``known_sha256`` is the content its current outputs were made from, if any."""

    item: BatchItem
    known_sha256: str | None = None
    attempt: int = 1


@dataclass(frozen=True)
class Content:
    """A file's SHA-256 and the stat it was read under."""

    sha256: str
    size: int
    mtime_ns: int
    ctime_ns: int


@dataclass(frozen=True)
class Outcome:
    """What became of a task.

    Attributes
    ----------
    outputs
        Format -> the output file's bytes; empty on failure or when ``unchanged``.
    content
        The input file's digest and stat, once it was read.
    seconds, elapsed
        Audio seconds, and seconds of work on them.
    error
        Why the file failed, or None.
    retry
        Whether another attempt may succeed (a crash or a lost worker, not a bad file).
    unchanged
        The content is the ``known_sha256`` of the task: the existing outputs stand.
    speakers
        Known-speaker matches, one per speaker.
    peak_memory
        The worker process's peak resident memory so far, in bytes.
    """

    outputs: Mapping[str, bytes] = field(default_factory=dict)
    content: Content | None = None
    seconds: float = 0.0
    elapsed: float = 0.0
    error: str | None = None
    retry: bool = False
    unchanged: bool = False
    speakers: tuple[SpeakerMatch, ...] = ()
    peak_memory: int = 0


class BatchWorker:
    """The models of ``job`` (loaded here), applied to one file per :meth:`process` call.

    Raises :class:`~audar_plugins.errors.AudarError` when the backend, the recognizer or the
    known speakers cannot be loaded.
    """

    def __init__(self, job: BatchJob) -> None:
        from ..registry import backend_accepts, load_backend

        self.job = job
        options = dict(job.backend_options)
        if job.threads is not None:
            for variable in _THREAD_VARIABLES:  # read by torch and BLAS when they are first imported
                os.environ[variable] = str(job.threads)
            if "threads" not in options and backend_accepts(job.backend, "threads"):
                options["threads"] = job.threads
        self.backend = load_backend(job.backend, **options)
        if job.threads is not None and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(job.threads)
        self.binarization = dataclasses.replace(self.backend.binarization, **job.postprocessing)
        self.known = None
        if job.speaker_clips or job.voices:
            from ..speakers import encoder_for, gather_voiceprints

            self.known = gather_voiceprints(job.voices, job.speaker_clips, encoder_for(self.backend))
        self.recognizer = None
        if job.asr is not None:
            from ..adapters.faster_whisper import load_recognizer

            threads = {} if job.threads is None else {"cpu_threads": job.threads}
            self.recognizer = load_recognizer(job.asr.model, job.asr.compute_type, **threads)

    def process(self, task: Task) -> Outcome:
        """Work on one file; a failure is an outcome with ``error``, never an exception."""
        started = time.perf_counter()
        try:
            content = _content(task.item.path)
        except FileNotFoundError:
            return self._failed(f"no such file: {task.item.path}")
        except OSError as error:  # a network file system's hiccup, say
            return self._failed(f"cannot read {task.item.path}: {error.strerror}", retry=True)
        if content.sha256 == task.known_sha256:
            return Outcome(content=content, unchanged=True, peak_memory=_peak_memory())
        try:
            waveform = load_audio(task.item.path, max_seconds=self.job.max_duration)
            outputs, speakers = self._outputs(waveform, task.item)
        except AudarError as error:  # a bad file or option: the same bytes fail the same way, no retry
            return self._failed(str(error), content)
        except Exception as error:  # a bug or a resource problem: worth another attempt, and the batch goes on
            return self._failed(f"{type(error).__name__}: {error}", content, retry=True)
        return Outcome(outputs, content, waveform.shape[0] / SAMPLE_RATE, time.perf_counter() - started,
                       speakers=speakers, peak_memory=_peak_memory())

    def _outputs(self, waveform: np.ndarray, item: BatchItem) -> tuple[dict[str, bytes], tuple[SpeakerMatch, ...]]:
        counts = item.speakers or self.job.speakers  # a manifest row with any count gives all three
        speakers = SpeakerCount(counts.get("num_speakers"), counts.get("min_speakers"), counts.get("max_speakers"))
        if self.recognizer is not None and self.job.asr is not None:
            return self._transcript_outputs(waveform, item, speakers, self.job.asr)
        from ..formats import write, write_npz
        from ..pipeline import diarize

        result = diarize(waveform, backend=self.backend, num_speakers=speakers.num_speakers,
                         min_speakers=speakers.min_speakers, max_speakers=speakers.max_speakers,
                         binarization=self.binarization, uri=item.uri, known_speakers=self.known)
        outputs = {}
        for format in self.job.formats:
            if format == "npz":
                buffer = io.BytesIO()
                write_npz(result.activity, buffer)
                outputs[format] = buffer.getvalue()
            else:
                text = io.StringIO()
                write(result.annotation, text, format)
                outputs[format] = text.getvalue().encode("utf-8")
        return outputs, result.speakers

    def _transcript_outputs(self, waveform: np.ndarray, item: BatchItem, speakers: SpeakerCount, asr: AsrSettings,
                            ) -> tuple[dict[str, bytes], tuple[SpeakerMatch, ...]]:
        from ..formats import render
        from ..transcription import transcribe

        transcript = transcribe(waveform, self.recognizer, self.backend, speakers, language=asr.language,
                                known_speakers=self.known, beam_size=asr.beam_size)
        outputs = {format: render(transcript, format, uri=item.uri).encode("utf-8") for format in self.job.formats}
        return outputs, transcript.speaker_matches

    @staticmethod
    def _failed(error: str, content: Content | None = None, retry: bool = False) -> Outcome:
        return Outcome(content=content, error=error, retry=retry, peak_memory=_peak_memory())


def start_worker(job: BatchJob) -> tuple[BatchWorker | None, str | None]:
    """A worker, or the reason none could start (for pool processes and actors, which report it)."""
    try:
        return BatchWorker(job), None
    except AudarError as error:
        return None, str(error)
    except Exception as error:  # reported by the driver as a BackendLoadError: no file could succeed
        return None, f"{type(error).__name__}: {error}"


def _content(path: str) -> Content:
    """A file's digest, the stat taken before reading."""
    stat = os.stat(path)
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return Content(digest.hexdigest(), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _peak_memory() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports kibibytes
