"""``run_batch()``: every input file through a job, on a runner, with nothing lost and nothing done twice.

The driver reads the inputs lazily and keeps at most one task per worker submitted, so the
size of the input list never reaches memory or the runner. For each file it either skips it
(outputs complete for the same options and content), or submits it; a retryable failure (a
crash, a lost worker) goes back in the queue up to ``retries`` more times, any other failure
is written to ``failures.jsonl`` at once, and the batch goes on.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ..errors import InvalidOptionError
from .inputs import BatchInputs
from .job import BatchJob, output_name
from .local import InProcessRunner, PoolRunner, Runner
from .outputs import BatchOutputs, Record
from .worker import Outcome, Task

__all__ = ["BatchSummary", "available_cores", "run_batch", "threads_per_worker"]


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
    summary = BatchSummary(items.count())
    started = time.perf_counter()
    outputs = BatchOutputs(output)
    outputs.start_failures()
    runner: Runner
    if ray is not None:
        from .ray_runner import RayRunner

        runner = RayRunner(dataclasses.replace(job, threads=job.threads or 1), ray, workers, memory)
    elif workers is not None and workers > 1:
        runner = PoolRunner(dataclasses.replace(job, threads=job.threads or max(1, available_cores() // workers)),
                            workers)
    else:
        runner = InProcessRunner(job)
    fingerprint = job.fingerprint()

    def report() -> None:
        summary.elapsed = time.perf_counter() - started
        if progress is not None:
            progress(summary)

    def finish(task: Task, outcome: Outcome) -> None:
        item = task.item
        summary.peak_memory = max(summary.peak_memory, outcome.peak_memory)
        if outcome.unchanged:
            record = outputs.record(item.name)
            if record is not None:
                outputs.write_record(item.name, dataclasses.replace(record, size=outcome.size,
                                                                    mtime_ns=outcome.mtime_ns))
            summary.skipped += 1
        elif outcome.error is None:
            files = {output_name(item.name, format): outcome.outputs[format] for format in job.formats}
            outputs.write(item.name, files, Record(item.path, job.item_fingerprint(fingerprint, item), outcome.sha256,
                                                   outcome.size, outcome.mtime_ns, tuple(files), outcome.seconds,
                                                   outcome.speakers))
            summary.done += 1
            summary.seconds += outcome.seconds
            summary.work += outcome.elapsed
        elif outcome.retry and task.attempt <= retries:
            queue.append(dataclasses.replace(task, attempt=task.attempt + 1))
            summary.retries += 1
            return
        else:
            outputs.add_failure({"path": item.path, "name": item.name, "error": outcome.error,
                                 "attempts": task.attempt})
            summary.failed += 1
        report()

    def skipped() -> None:
        summary.skipped += 1
        report()

    queue: deque[Task] = deque()
    tasks = _tasks(items, job, fingerprint, outputs, skipped)
    running = 0
    try:
        while True:
            while running < runner.slots:
                task = queue.popleft() if queue else next(tasks, None)
                if task is None:
                    break
                runner.submit(task)
                running += 1
            if running == 0:
                break
            finished, outcome = runner.next_outcome()
            running -= 1
            finish(finished, outcome)
    finally:
        runner.close()
        outputs.close()
    summary.elapsed = time.perf_counter() - started
    return summary


def _tasks(items: BatchInputs, job: BatchJob, fingerprint: str, outputs: BatchOutputs,
           skipped: Callable[[], None]) -> Iterator[Task]:
    """A task per item whose outputs are not complete for this job and its content; ``skipped()`` for the rest."""
    for item in items:
        record = outputs.record(item.name)
        if record is None or record.path != item.path or not outputs.complete(
                record, job.item_fingerprint(fingerprint, item), job.output_names(item).values()):
            yield Task(item)
        elif outputs.stat_matches(record):
            skipped()
        else:  # same options, but the file was touched: a worker compares its content
            yield Task(item, known_sha256=record.sha256)


def available_cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_worker(workers: int, threads: int | None, oversubscribe: bool = False) -> int:
    """Threads per local worker: ``threads``, or the cores shared out; more than the cores only when asked."""
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
