"""``run_batch()``: every input file through a job, on a runner, with nothing lost and nothing done twice.

The driver reads the inputs lazily and keeps at most one task per worker submitted, so the
size of the input list never reaches memory or the runner. For each file it either skips it
(outputs complete for the same options and content), or submits it; a retryable failure (a
crash, a lost worker) goes back in the queue up to ``retries`` more times, any other failure
is written to ``failures.jsonl`` at once, and the batch goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..errors import InvalidOptionError
from .inputs import BatchInputs
from .job import BatchJob
from .local import InProcessRunner, PoolRunner, Runner
from .outputs import BatchOutputs, Record
from .worker import Outcome, Task

__all__ = ["BatchSummary", "available_cores", "run_batch", "threads_per_worker"]

logger = logging.getLogger(__name__)


@dataclass
class BatchSummary:
    """What a batch run did, so far or in all.

    Attributes
    ----------
    files
        Input files in the batch.
    done, skipped, failed
        Files worked on, skipped (their outputs stand) and failed in this run.
    retries
        Attempts repeated after a crash or a lost worker.
    seconds
        Audio seconds worked on; ``work`` is the workers' seconds on them.
    elapsed
        Wall-clock seconds since the run began.
    peak_memory
        The largest peak resident memory a worker reported, in bytes.
    """

    files: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    retries: int = 0
    seconds: float = 0.0
    work: float = 0.0
    elapsed: float = 0.0
    peak_memory: int = 0

    @property
    def finished(self) -> int:
        """Files done, skipped or failed."""
        return self.done + self.skipped + self.failed

    @property
    def real_time_factor(self) -> float:
        """Wall-clock seconds per audio second worked on (0 when none was)."""
        return self.elapsed / self.seconds if self.seconds else 0.0


Progress = Callable[[BatchSummary], None]


def run_batch(inputs: Sequence[str | os.PathLike], output: str | os.PathLike, job: BatchJob = BatchJob(), *,
              workers: int | None = None, ray: str | None = None, memory: int | None = None, retries: int = 2,
              progress: Progress | None = None) -> BatchSummary:
    """Work on every audio file of ``inputs`` (files, folders, manifests), writing to the folder ``output``.

    Parameters
    ----------
    workers
        None or 1: in this process; more: a pool of that many worker processes. With ``ray``,
        the number of Ray actors (default: as many as the cluster's CPUs hold).
    ray
        ``"auto"`` or a cluster address: run on Ray actors (the ``[ray]`` extra).
    memory
        Bytes each Ray actor reserves.
    retries
        Further attempts for a file whose worker crashed or died under it.
    progress
        Called with the summary so far after each file.
    """
    if retries < 0:
        raise InvalidOptionError(f"retries must be >= 0, got {retries}")
    if workers is not None and workers < 1:
        raise InvalidOptionError(f"workers must be >= 1, got {workers}")
    items = BatchInputs(inputs)
    driver = _Driver(BatchSummary(items.count()), BatchOutputs(output), job, retries, progress)
    runner: Runner
    if ray is not None:
        from .ray_runner import RayRunner

        runner = RayRunner(dataclasses.replace(job, threads=job.threads or 1), ray, workers, memory)
    elif workers is not None and workers > 1:
        runner = PoolRunner(dataclasses.replace(job, threads=job.threads or max(1, available_cores() // workers)),
                            workers)
    else:
        runner = InProcessRunner(job)
    try:
        driver.run(runner, driver.tasks(items))
    finally:
        runner.close()
        driver.outputs.close()
    return driver.report()


class _Driver:
    """Skips, submits, retries and records: the bookkeeping of one run, whatever runs the tasks."""

    def __init__(self, summary: BatchSummary, outputs: BatchOutputs, job: BatchJob, retries: int,
                 progress: Progress | None) -> None:
        self.summary = summary
        self.outputs = outputs
        self.job = job
        self.retries = retries
        self.progress = progress
        self.fingerprint = job.fingerprint()
        self.started = time.perf_counter()
        self.queue: deque[Task] = deque()
        outputs.start_failures()

    def run(self, runner: Runner, tasks: Iterator[Task]) -> None:
        """Keep the runner's slots full (retries first), until every task has finished."""
        running = 0
        while True:
            while running < runner.slots:
                task = self.queue.popleft() if self.queue else next(tasks, None)
                if task is None:
                    break
                runner.submit(task)
                running += 1
            if running == 0:
                return
            task, outcome = runner.next_outcome()
            running -= 1
            self.finish(task, outcome)

    def tasks(self, items: BatchInputs) -> Iterator[Task]:
        """A task per item whose outputs are not complete for this job and content; the rest are skipped."""
        for item in items:
            record = self.outputs.record(item.name)
            if record is None or not self.outputs.complete(record, self.job.item_fingerprint(self.fingerprint, item),
                                                           self.job.output_names(item).values()):
                yield Task(item)
            elif record.path == item.path and self.outputs.stat_matches(record):
                self.summary.skipped += 1
                self.report()
            else:  # same options, but the file was touched or moved: a worker compares its content
                yield Task(item, known_sha256=record.sha256)

    def finish(self, task: Task, outcome: Outcome) -> None:
        item, summary = task.item, self.summary
        summary.peak_memory = max(summary.peak_memory, outcome.peak_memory)
        if outcome.unchanged and outcome.content is not None:
            record = self.outputs.record(item.name)
            if record is not None:
                content = outcome.content
                self.outputs.write_record(item.name, dataclasses.replace(
                    record, path=item.path, size=content.size, mtime_ns=content.mtime_ns, ctime_ns=content.ctime_ns))
            summary.skipped += 1
        elif outcome.error is None and outcome.content is not None:
            files = {name: outcome.outputs[format] for format, name in self.job.output_names(item).items()}
            speakers = tuple({"speaker": match.speaker, "name": match.name, "score": match.score}
                             for match in outcome.speakers)
            content = outcome.content
            self.outputs.write(item.name, files, Record(
                item.path, self.job.item_fingerprint(self.fingerprint, item), content.sha256, content.size,
                content.mtime_ns, content.ctime_ns, tuple(files), outcome.seconds, speakers))
            summary.done += 1
            summary.seconds += outcome.seconds
            summary.work += outcome.elapsed
        elif outcome.retry and task.attempt <= self.retries:
            logger.info("%s: attempt %d failed (%s); trying again", item.path, task.attempt, outcome.error)
            self.queue.append(dataclasses.replace(task, attempt=task.attempt + 1))
            summary.retries += 1
            return
        else:
            logger.info("%s failed: %s", item.path, outcome.error)
            self.outputs.remove(item.name)
            self.outputs.add_failure({"path": item.path, "name": item.name, "error": outcome.error,
                                      "attempts": task.attempt})
            summary.failed += 1
        self.report()

    def report(self) -> BatchSummary:
        """The summary so far, also given to ``progress``."""
        self.summary.elapsed = time.perf_counter() - self.started
        if self.progress is not None:
            self.progress(self.summary)
        return self.summary


def available_cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int, threads: int | None, oversubscribe: bool = False) -> int:
    """Threads per local worker: ``threads``, or the cores shared out; more than the cores only when asked."""
    if workers < 1:
        raise InvalidOptionError(f"workers must be >= 1, got {workers}")
    cores = available_cores()
    if threads is None:
        if workers > cores and not oversubscribe:
            raise InvalidOptionError(f"{workers} workers on {cores} cores: ask for at most {cores}, "
                                     "or add --oversubscribe")
        return max(1, cores // workers)
    if threads < 1:
        raise InvalidOptionError(f"threads must be >= 1, got {threads}")
    if workers * threads > cores and not oversubscribe:
        raise InvalidOptionError(f"{workers} workers x {threads} threads is more than the {cores} cores: "
                                 "ask for fewer, or add --oversubscribe")
    return threads
