"""Where the Keras jobs run: this machine's worker pool, or a Ray cluster.

:class:`Pool` is what callers see (``run``, ``status``, ``close``); :func:`make_pool`
picks a :class:`~rnn_demo.compute.ray_pool.RayPool` when ``RNN_DEMO_RAY_ADDRESS``
is set, else a local :class:`~rnn_demo.compute.local_pool.WorkerPool`, so the same
code runs on one machine and on many. The variables are in docs/hosting.md.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from rnn_demo.config import ConfigError, positive_setting
from rnn_demo.errors import UserError

RAY_ADDRESS_VARIABLE = "RNN_DEMO_RAY_ADDRESS"
RAY_GPUS_VARIABLE = "RNN_DEMO_RAY_GPUS"
MAX_JOBS_VARIABLE = "RNN_DEMO_WORKER_MAX_JOBS"
MAX_MEMORY_VARIABLE = "RNN_DEMO_WORKER_MAX_MB"
THREADS_VARIABLE = "RNN_DEMO_WORKER_THREADS"

# A worker is replaced after this many jobs (each training leaves it ~10 MiB
# bigger), or, on the local pool, when it ends a job above this many MiB.
DEFAULT_MAX_JOBS = 4
DEFAULT_MAX_MEMORY_MB = 1500.0
STOP_GRACE_SECONDS = 5.0
SHUTTING_DOWN = "the server is shutting down"


class WorkerFailed(UserError):
    """A worker died, hung or was replaced mid-job; the message is for people."""


class WorkersBusy(UserError):
    """No worker became free in time for a short job."""

    def __init__(self, message: str = "every worker is busy training; try again when a training has finished"):
        super().__init__(message)


@dataclass(frozen=True)
class PoolStatus:
    """``jobs``: how many jobs of each name have run (finished or failed)."""

    size: int
    busy: int
    pids: tuple[int, ...]
    replaced: int
    jobs: dict[str, int]


@dataclass(frozen=True)
class JobRequest:
    """One call of :meth:`Pool.run`: the job, its arguments and how its caller follows it."""

    name: str
    args: tuple
    on_event: Callable[[tuple], None] | None = None
    stop: Callable[[], bool] | None = None
    timeout: float | None = None


class Pool(ABC):
    """Runs the jobs of :data:`rnn_demo.compute.jobs.JOBS` off the calling process."""

    executor_name: str  # "local" or "ray"

    def run(
        self,
        name: str,
        *args,
        on_event: Callable[[tuple], None] | None = None,
        stop: Callable[[], bool] | None = None,
        timeout: float | None = None,
        wait_for_worker: float | None = None,
    ):
        """Run job ``name`` (see :data:`rnn_demo.compute.jobs.JOBS`) with ``args``; return its value.

        ``on_event`` receives the job's events (e.g. ``("progress", Progress)``)
        in this thread. ``stop`` is polled; once it is true the job is asked to
        stop, and ended with its worker if it has not finished ``stop_grace``
        seconds later. ``timeout`` bounds the job from its start (the worker is
        ended past it). ``wait_for_worker`` bounds the wait for a free worker
        (on Ray: a free slot, then the cluster starting the task), and
        :class:`WorkersBusy` comes after it. Raises :class:`~rnn_demo.compute.jobs.JobError`
        for input the job refused and :class:`WorkerFailed` when the worker
        died or had to be ended.
        """
        return self._run(JobRequest(name, args, on_event, stop, timeout), wait_for_worker)

    @abstractmethod
    def _run(self, request: JobRequest, wait_for_worker: float | None): ...

    @abstractmethod
    def status(self) -> PoolStatus: ...

    @abstractmethod
    def close(self) -> None: ...


def ray_address() -> str | None:
    """The Ray address in :data:`RAY_ADDRESS_VARIABLE`, or None to run jobs locally."""
    return os.environ.get(RAY_ADDRESS_VARIABLE, "").strip() or None


def ray_gpus() -> float:
    """Each training's GPU share from :data:`RAY_GPUS_VARIABLE` (0 when unset)."""
    raw = os.environ.get(RAY_GPUS_VARIABLE, "").strip()
    if not raw:
        return 0.0
    try:
        share = float(raw)
    except ValueError:
        share = math.nan
    if not 0 <= share <= 1:
        raise ConfigError(
            f"{RAY_GPUS_VARIABLE} must be each training's share of one GPU, from 0 to 1 "
            f"(e.g. 0.25: four trainings per GPU); got {raw!r}"
        )
    return share


def make_pool(
    size: int,
    *,
    max_jobs: int | None = None,
    max_memory_mb: float | None = None,
    stop_grace: float = STOP_GRACE_SECONDS,
) -> Pool:
    """A :class:`~rnn_demo.compute.ray_pool.RayPool` when :data:`RAY_ADDRESS_VARIABLE` is set, else a
    :class:`~rnn_demo.compute.local_pool.WorkerPool` of ``size`` workers.

    On Ray, ``size`` bounds this process's jobs on the cluster at once, and
    ``max_memory_mb`` does not apply: Ray's own memory monitor ends a worker
    that outgrows its node.
    """
    if max_jobs is None:
        max_jobs = positive_setting(MAX_JOBS_VARIABLE, int, DEFAULT_MAX_JOBS)
    if max_memory_mb is None:
        max_memory_mb = positive_setting(MAX_MEMORY_VARIABLE, float, DEFAULT_MAX_MEMORY_MB)
    address = ray_address()
    if address is None:
        from rnn_demo.compute.local_pool import WorkerPool

        return WorkerPool(size, max_jobs=max_jobs, max_memory_mb=max_memory_mb, stop_grace=stop_grace,
                          threads=positive_setting(THREADS_VARIABLE, int, None))
    from rnn_demo.compute.ray_pool import RayPool

    return RayPool(address, size, num_gpus=ray_gpus(), max_jobs=max_jobs, stop_grace=stop_grace)
