"""Batch tasks on Ray actors: a local Ray instance or a cluster (``audar batch --ray auto|ADDRESS``).

Each actor is a :class:`~.worker.BatchWorker` (one model load) reserving the CPUs of its
threads and, when asked, memory; it holds one task at a time, so the driver never has more
than one task per actor in flight, however long the input list. Ray restarts an actor whose
process dies; the task it held comes back as a retryable outcome. Every node needs
audar-plugins installed and the input files at the same paths (a shared file system); the
outputs come back to the driver, which writes them.
"""

from __future__ import annotations

from typing import Any

from ..errors import AudarError, BackendLoadError, InvalidOptionError, MissingDependencyError
from .job import BatchJob
from .local import free_slot, worker_lost
from .worker import Outcome, Task, start_worker

__all__ = ["RayBatchWorker", "RayRunner"]


class RayBatchWorker:
    """The actor: a worker started in its constructor, so a restarted actor reloads its models."""

    def __init__(self, job: BatchJob) -> None:
        self._worker, self._error = start_worker(job)

    def process(self, task: Task) -> Outcome | str:
        """The task's outcome, or why this actor's worker could not start."""
        if self._worker is None:
            return self._error or "the worker did not start"
        return self._worker.process(task)


class RayRunner:
    """``workers`` actors (default: as many as the cluster's CPUs hold at ``job.threads`` each, which must be set).

    Parameters
    ----------
    address
        ``"auto"``: the Ray instance this process or ``RAY_ADDRESS`` knows, else a new local one;
        otherwise a cluster address (``ray://host:10001``, ``host:6379``).
    memory
        Bytes of memory each actor reserves for Ray's scheduler (None: no reservation).
    """

    def __init__(self, job: BatchJob, address: str = "auto", workers: int | None = None,
                 memory: int | None = None) -> None:
        try:
            import ray
        except ImportError as error:
            raise MissingDependencyError("ray", "ray", "audar batch --ray") from error
        self._ray = ray
        self._started = False
        if not ray.is_initialized():
            try:
                ray.init(address=None if address == "auto" else address, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise AudarError(f"cannot start or reach Ray at {address!r}: {error}") from None
            self._started = True
        threads = job.threads or 1
        fits = _actors_that_fit(ray.nodes(), threads, memory)
        if fits < 1 or (workers is not None and workers > fits):
            asked = workers or 1
            need = f"{threads} CPU(s)" + (f" and {memory / 2**30:.2f} GiB" if memory else "")
            raise InvalidOptionError(f"{asked} Ray workers of {need} each do not fit the cluster's nodes, which "
                                     f"hold {fits} such workers")
        self.slots = workers or fits
        options: dict[str, Any] = {"num_cpus": threads, "max_restarts": -1, "max_task_retries": 0}
        if memory:
            options["memory"] = memory
        self._actor_class = ray.remote(RayBatchWorker).options(**options)
        self._job = job
        self._actors: list[Any] = [self._actor_class.remote(job) for _ in range(self.slots)]
        self._running: dict[Any, tuple[int, Task]] = {}

    def submit(self, task: Task) -> None:
        index = free_slot(self._running, self.slots)
        self._running[self._actors[index].process.remote(task)] = (index, task)

    def next_outcome(self) -> tuple[Task, Outcome]:
        ray = self._ray
        ready, _ = ray.wait(list(self._running), num_returns=1)
        index, task = self._running.pop(ready[0])
        try:
            outcome = ray.get(ready[0])
        except ray.exceptions.ActorDiedError:  # restarts used up or the node gone: a new actor
            self._actors[index] = self._actor_class.remote(self._job)
            return task, worker_lost("its Ray actor died")
        except ray.exceptions.RayError as error:  # the process died (Ray restarts the actor) or the call failed
            return task, worker_lost(type(error).__name__)
        if isinstance(outcome, str):
            raise BackendLoadError(f"a Ray batch worker could not start: {outcome}")
        return task, outcome

    def close(self) -> None:
        ray = self._ray
        for actor in self._actors:
            ray.kill(actor, no_restart=True)
        if self._started:
            ray.shutdown()


def _actors_that_fit(nodes: list[dict[str, Any]], threads: int, memory: int | None) -> int:
    """How many actors of ``threads`` CPUs and ``memory`` bytes the live nodes hold (an actor that does
    not fit would wait for resources forever)."""
    count = 0
    for node in nodes:
        if node.get("Alive"):
            resources = node.get("Resources", {})
            fit = int(resources.get("CPU", 0) // threads)
            if memory:
                fit = min(fit, int(resources.get("memory", 0) // memory))
            count += fit
    return count
