"""Where tasks run on this machine: in the ``audar batch`` process, or in a pool of worker processes.

A runner holds at most :attr:`slots` tasks; :meth:`next_outcome` waits for one to finish. The
pool is one single-process ``ProcessPoolExecutor`` per worker, so a worker that dies (killed,
out of memory) is known by the one task it held: that task comes back as a retryable outcome
and a fresh process takes the worker's place.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections import deque
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from ..errors import BackendLoadError
from .job import BatchJob
from .worker import BatchWorker, Outcome, Task, start_worker

__all__ = ["InProcessRunner", "PoolRunner", "Runner", "free_slot", "worker_lost"]


class Runner(Protocol):
    """Runs batch tasks; the driver keeps at most :attr:`slots` of them submitted."""

    slots: int

    def submit(self, task: Task) -> None: ...

    def next_outcome(self) -> tuple[Task, Outcome]:
        """The next finished task and its outcome (blocks)."""
        ...

    def close(self) -> None: ...


def free_slot(running: dict, slots: int) -> int:
    """The first worker index among ``slots`` holding no task (``running`` maps a call to (index, task))."""
    busy = {index for index, _ in running.values()}
    return next(index for index in range(slots) if index not in busy)


def worker_lost(why: str) -> Outcome:
    """The outcome of a task whose worker ended under it: worth another attempt."""
    return Outcome(error=f"the worker ended while working on this file ({why})", retry=True)


class InProcessRunner:
    """One worker in this process, one task at a time."""

    slots = 1

    def __init__(self, job: BatchJob) -> None:
        self._worker = BatchWorker(job)
        self._tasks: deque[Task] = deque()

    def submit(self, task: Task) -> None:
        self._tasks.append(task)

    def next_outcome(self) -> tuple[Task, Outcome]:
        task = self._tasks.popleft()
        return task, self._worker.process(task)

    def close(self) -> None:
        pass


class PoolRunner:
    """``workers`` processes (spawned, so no model or lock is inherited), each loading the models once."""

    def __init__(self, job: BatchJob, workers: int) -> None:
        self.slots = workers
        self._job = job
        self._context = multiprocessing.get_context("spawn")
        self._executors = [self._executor() for _ in range(workers)]
        self._running: dict[concurrent.futures.Future, tuple[int, Task]] = {}

    def submit(self, task: Task) -> None:
        index = free_slot(self._running, self.slots)
        try:
            future = self._executors[index].submit(_process, task)
        except BrokenProcessPool:  # its process died while idle (the out-of-memory killer, say)
            self._executors[index] = self._executor()
            future = self._executors[index].submit(_process, task)
        self._running[future] = (index, task)

    def next_outcome(self) -> tuple[Task, Outcome]:
        done, _ = concurrent.futures.wait(self._running, return_when=concurrent.futures.FIRST_COMPLETED)
        future = next(iter(done))
        index, task = self._running.pop(future)
        try:
            outcome = future.result()
        except BrokenProcessPool:
            self._executors[index].shutdown(wait=False, cancel_futures=True)
            self._executors[index] = self._executor()
            return task, worker_lost("its process died")
        if isinstance(outcome, str):  # the worker could not load its models: no file can succeed
            raise BackendLoadError(f"a batch worker could not start: {outcome}")
        return task, outcome

    def close(self) -> None:
        for executor in self._executors:
            executor.shutdown(wait=True, cancel_futures=True)

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        return concurrent.futures.ProcessPoolExecutor(1, mp_context=self._context, initializer=_start,
                                                      initargs=(self._job,))


_worker: BatchWorker | None = None
_start_error: str | None = None


def _start(job: BatchJob) -> None:
    """Pool process initializer: load the models once (an error is reported by the first task)."""
    global _worker, _start_error
    _worker, _start_error = start_worker(job)


def _process(task: Task) -> Outcome | str:
    if _worker is None:
        return _start_error or "the worker did not start"
    return _worker.process(task)
