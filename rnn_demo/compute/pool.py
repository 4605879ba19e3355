"""Where the Keras jobs run: this machine's worker pool, or a Ray cluster.

One environment variable decides, for the app and the CLI alike:
``RNN_DEMO_RAY_ADDRESS`` (:data:`RAY_ADDRESS_VARIABLE`) set to a Ray address
(``auto``, ``host:6379``, ``ray://host:10001``) sends every job to that
cluster through :class:`rnn_demo.compute.ray_pool.RayPool`; unset, jobs run in a
local :class:`rnn_demo.compute.local_pool.WorkerPool`. ``RNN_DEMO_RAY_GPUS``
(:data:`RAY_GPUS_VARIABLE`) is each training's share of a GPU on the cluster
(``0.25``: four trainings per GPU; default 0, CPU only).

The local pool's recycling limits come from the environment too:
``RNN_DEMO_WORKER_MAX_JOBS`` (jobs before a worker is replaced) and
``RNN_DEMO_WORKER_MAX_MB`` (resident MiB above which a worker is replaced
after its job); ``RNN_DEMO_WORKER_THREADS`` sets each worker's compute
threads (default: the cores shared out among the workers).

Both pools answer to :class:`Pool`; callers use ``run`` and nothing else of
either, so the same code runs on one machine and on many.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Protocol

from rnn_demo.compute.local_pool import (
    DEFAULT_MAX_JOBS,
    DEFAULT_MAX_MEMORY_MB,
    STOP_GRACE_SECONDS,
    PoolStatus,
    WorkerPool,
)
from rnn_demo.config import ConfigError

RAY_ADDRESS_VARIABLE = "RNN_DEMO_RAY_ADDRESS"
RAY_GPUS_VARIABLE = "RNN_DEMO_RAY_GPUS"
MAX_JOBS_VARIABLE = "RNN_DEMO_WORKER_MAX_JOBS"
MAX_MEMORY_VARIABLE = "RNN_DEMO_WORKER_MAX_MB"
THREADS_VARIABLE = "RNN_DEMO_WORKER_THREADS"


class Pool(Protocol):
    executor_name: str  # "local" or "ray"

    def run(
        self,
        name: str,
        *args,
        on_event: Callable[[tuple], None] | None = None,
        stop: Callable[[], bool] | None = None,
        timeout: float | None = None,
        wait_for_worker: float | None = None,
    ): ...

    def status(self) -> PoolStatus: ...

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


def _positive(variable: str, kind: type, default):
    """A positive number from the environment variable ``variable``, or ``default`` when unset."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{variable} must be a positive {'whole ' if kind is int else ''}number; got {raw!r}")
    return value


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
        max_jobs = _positive(MAX_JOBS_VARIABLE, int, DEFAULT_MAX_JOBS)
    if max_memory_mb is None:
        max_memory_mb = _positive(MAX_MEMORY_VARIABLE, float, DEFAULT_MAX_MEMORY_MB)
    address = ray_address()
    if address is None:
        return WorkerPool(size, max_jobs=max_jobs, max_memory_mb=max_memory_mb, stop_grace=stop_grace,
                          threads=_positive(THREADS_VARIABLE, int, None))
    from rnn_demo.compute.ray_pool import RayPool

    return RayPool(address, size, num_gpus=ray_gpus(), max_jobs=max_jobs, stop_grace=stop_grace)
