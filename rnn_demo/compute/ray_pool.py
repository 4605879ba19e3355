"""The Keras jobs on a Ray cluster, behind the same ``run`` as the local pool.

:class:`RayPool` runs each job of :data:`rnn_demo.compute.jobs.JOBS` as a Ray task
(``@ray.remote`` function) on whatever cluster ``address`` names, so several
app replicas and CLI runs share one set of machines, GPUs included. Its
:meth:`RayPool.run` has :meth:`rnn_demo.compute.local_pool.WorkerPool.run`'s signature and
promises: events stream back to ``on_event``, ``stop`` asks the job to stop and
ends it ``stop_grace`` seconds later if it has not, a worker that dies fails
only its job (:class:`~rnn_demo.compute.local_pool.WorkerFailed`) and a refused input
comes back as :class:`~rnn_demo.compute.jobs.JobError` with its message.

How a job talks to the process waiting for it: every pool owns one small
*mailbox* actor (``put``/``take`` for events, ``request_stop``/``stop_requested``
for stop requests, one slot per job). The task sends its events there without
waiting; this process polls ``take`` every :data:`EVENT_POLL_SECONDS` while it
``ray.wait``-s on the task. The task asks ``stop_requested`` at most every
:data:`STOP_POLL_SECONDS`; a job whose mailbox is gone (its replica died) is
treated as asked to stop. One actor per pool rather than per job: an actor is
a process.

Resources: a training takes ``num_cpus`` CPUs and ``num_gpus`` of a GPU
(fractional, e.g. 0.25, so four trainings from any replicas share one GPU);
the other jobs take one CPU. A worker process serves ``max_jobs`` jobs and is
then replaced (Ray's ``max_calls``), as the local pool recycles its workers;
a GPU training gets a fresh process each time, kept apart from the CPU jobs'
processes (GPU memory is freed only when the process ends), and a job that
asked for no GPU sees none. Ray's memory monitor, not this pool,
ends a worker that outgrows its node.

The code reaches the cluster with the connection: the pool connects with a
job-level ``runtime_env`` whose ``py_modules`` holds the ``rnn_demo`` package
(a few MB, uploaded once per version and cached on each node), so every
worker runs the caller's version of the jobs; nodes need only Ray, Keras and
a backend installed. A process that connected to Ray itself keeps its own
``runtime_env``: on a local head its workers import the package from the
driver's working directory, which Ray puts on their ``sys.path``.

Ray is optional (``requirements-ray.txt``) and imported only when a pool is
made; this module, like :mod:`rnn_demo.compute.jobs`, imports no Keras, so the web
process can make a pool and follow its jobs without paying for TensorFlow.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rnn_demo.compute import jobs
from rnn_demo.compute.local_pool import (
    DEFAULT_MAX_JOBS,
    STOP_GRACE_SECONDS,
    PoolStatus,
    WorkerFailed,
    WorkersBusy,
)
from rnn_demo.errors import UserError

# How often the waiting process collects a job's events (the local pool's rhythm).
EVENT_POLL_SECONDS = 0.1
# How often a running job asks whether it should stop (an actor call each time).
STOP_POLL_SECONDS = 0.1
# A cluster that does not answer within this long is reported, not waited for
# (Ray itself retries an unreachable address for minutes).
CONNECT_TIMEOUT_SECONDS = 5.0
PACKAGE_DIR = Path(__file__).resolve().parents[1]
# The jobs whose resources follow num_cpus / num_gpus; the others are short.
# warm_up is one: it answers "what does a training run on?" (backend, GPUs).
TRAINING_JOBS = frozenset({"train", "warm_up"})
# The job-level runtime_env of a connection this module opens: the package
# travels to the cluster (Ray takes local directories only at this level).
SHIPPED_CODE = {"py_modules": [str(PACKAGE_DIR)], "excludes": ["__pycache__", "*.pyc"]}


class RayUnavailable(UserError):
    """Ray is not installed, or the cluster it names cannot be reached."""


# ------------------------------------------------------------------ cluster side


class _Mailbox:
    """The actor between a pool and its running jobs: events up, stop requests down."""

    def __init__(self):
        self.events: dict[int, list[tuple]] = {}
        self.stops: set[int] = set()

    def put(self, job_id: int, event: tuple) -> None:
        self.events.setdefault(job_id, []).append(event)

    def take(self, job_id: int) -> list[tuple]:
        return self.events.pop(job_id, [])

    def request_stop(self, job_id: int) -> None:
        self.stops.add(job_id)

    def stop_requested(self, job_id: int) -> bool:
        return job_id in self.stops

    def forget(self, job_id: int) -> None:
        self.events.pop(job_id, None)
        self.stops.discard(job_id)


class _MailboxChannel:
    """A job's :class:`~rnn_demo.compute.jobs.Channel` on the cluster, backed by the pool's mailbox."""

    def __init__(self, mailbox, job_id: int):
        self.mailbox = mailbox
        self.job_id = job_id
        self._stop = False
        self._asked_at = float("-inf")

    def report(self, event: tuple) -> None:
        self.mailbox.put.remote(self.job_id, event)  # no wait: calls from one task stay in order

    def stop_requested(self) -> bool:
        import ray

        now = time.monotonic()
        if not self._stop and now - self._asked_at >= STOP_POLL_SECONDS:
            self._asked_at = now
            try:
                self._stop = ray.get(self.mailbox.stop_requested.remote(self.job_id))
            except ray.exceptions.RayActorError:
                self._stop = True  # the pool that waited for this job is gone
        return self._stop

    def finish(self) -> None:
        """Send the last event and wait until the mailbox has it (so it has all earlier ones)."""
        import ray

        try:
            ray.get(self.mailbox.put.remote(self.job_id, ("finished", None)))
        except ray.exceptions.RayActorError:
            pass


def _run_on_worker(mailbox, job_id: int, name: str, args: tuple):
    """The Ray task: run one job in this worker process, talking through ``mailbox``."""
    import ray

    # Importing rnn_demo (to unpickle this call) already told TensorFlow and JAX
    # to take GPU memory as needed, so trainings can share a card. Ray 2.60
    # leaves every GPU visible to a task that asked for none: hide them, so that
    # such a job neither trains on a GPU Ray did not give it nor takes its memory.
    if not ray.get_gpu_ids():
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    channel = _MailboxChannel(mailbox, job_id)
    channel.report(("started", {"pid": os.getpid(), "node": ray.util.get_node_ip_address()}))
    try:
        return jobs.run_job(name, args, channel)
    finally:
        channel.finish()
        jobs.release_memory()


# -------------------------------------------------------------- caller's side


def _import_ray():
    try:
        import ray
    except ImportError:
        raise RayUnavailable(
            "running the jobs on Ray needs the ray package: pip install -r requirements-ray.txt"
        ) from None
    return ray


def _host_and_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port`` or ``ray://host:port``; None for ``auto`` and the like."""
    location = address.removeprefix("ray://")
    host, _, port = location.rpartition(":")
    if not host or not port.isdigit():
        return None
    return host.strip("[]"), int(port)


def _check_reachable(address: str) -> None:
    """Fail in seconds, with a sentence, when nothing listens at ``address``."""
    where = _host_and_port(address)
    if where is None:
        return
    try:
        socket.create_connection(where, timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as error:
        raise RayUnavailable(
            f"cannot reach the Ray cluster at {address} ({error}); "
            "is its head running (ray start --head) and the address right?"
        ) from None


class RayPool:
    """Jobs on the Ray cluster at ``address``; :meth:`run` as in :class:`~rnn_demo.compute.local_pool.WorkerPool`.

    ``size`` bounds the jobs this pool (one app replica, one CLI run) has on
    the cluster at once; more wait (``wait_for_worker``). If this process is
    already connected to Ray (a test's local head, a notebook), that
    connection is used and :meth:`close` leaves it open.
    """

    executor_name = "ray"

    def __init__(
        self,
        address: str,
        size: int,
        *,
        num_cpus: float = 1,
        num_gpus: float = 0.0,
        max_jobs: int = DEFAULT_MAX_JOBS,
        stop_grace: float = STOP_GRACE_SECONDS,
    ):
        if size < 1:
            raise ValueError(f"a pool needs at least one job slot; got {size}")
        if num_cpus <= 0:
            raise ValueError(f"num_cpus must be positive; got {num_cpus}")
        if not 0 <= num_gpus <= 1:
            raise ValueError(f"num_gpus must be a share of one GPU, 0 to 1; got {num_gpus}")
        self.address = address
        self.size = size
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.stop_grace = stop_grace
        ray = self._ray = _import_ray()
        self._owns_connection = not ray.is_initialized()
        if self._owns_connection:
            _check_reachable(address)
            try:
                ray.init(
                    address=address, runtime_env=SHIPPED_CODE, log_to_driver=False,
                    logging_level=logging.WARNING,
                )
            except (ConnectionError, ValueError, RuntimeError) as error:
                raise RayUnavailable(f"cannot connect to the Ray cluster at {address}: {error}") from None
        # A GPU training gets a process of its own: one runtime_env apart (Ray pools
        # processes by runtime_env), so it never lands in a process that a CPU
        # job has already set up without GPUs, and not reused, so its GPU memory
        # is freed when it ends.
        gpu_options = (
            {"max_calls": 1, "runtime_env": {"env_vars": {"RNN_DEMO_GPU_WORKER": "1"}}}
            if num_gpus else {"max_calls": max_jobs}
        )
        self._training_task = ray.remote(
            num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0, **gpu_options
        )(_run_on_worker)
        self._short_task = ray.remote(num_cpus=1, max_calls=max_jobs, max_retries=0)(_run_on_worker)
        self._mailbox_class = ray.remote(num_cpus=0)(_Mailbox)
        self._mailbox = self._mailbox_class.remote()
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._running: dict[int, object] = {}  # job id -> ObjectRef
        self._pids: dict[int, int] = {}  # job id -> worker pid, once started
        self._job_ids = itertools.count(1)
        self._lost = 0
        self._jobs_run: Counter[str] = Counter()
        self._closed = False
        self._backend_info: dict | None = None
        self._backend_probe: threading.Thread | None = None

    # -- the one method callers use

    def run(
        self,
        name: str,
        *args,
        on_event: Callable[[tuple], None] | None = None,
        stop: Callable[[], bool] | None = None,
        timeout: float | None = None,
        wait_for_worker: float | None = None,
    ):
        """Run job ``name`` with ``args`` on the cluster; return its value.

        The arguments mean what they mean for :meth:`rnn_demo.compute.local_pool.WorkerPool.run`;
        ``wait_for_worker`` bounds the wait for a free slot in this pool and
        then for the cluster to start the task (:class:`WorkersBusy` after
        it), and ``timeout`` counts from the task's start.
        """
        if name not in jobs.JOBS:
            raise ValueError(f"unknown job {name!r}; expected one of {', '.join(jobs.JOBS)}")
        asked_at = time.monotonic()
        if not self._slots.acquire(timeout=-1 if wait_for_worker is None else wait_for_worker):
            raise _busy()
        try:
            if self._closed:
                raise WorkerFailed("the server is shutting down")
            job_id = next(self._job_ids)
            try:
                return self._follow(job_id, name, args, on_event, stop, timeout, wait_for_worker, asked_at)
            finally:
                with self._lock:
                    self._running.pop(job_id, None)
                    self._pids.pop(job_id, None)
                    self._jobs_run[name] += 1
                self._forget(job_id)
        finally:
            self._slots.release()

    def backend_info(self, *, wait: bool = True) -> dict | None:
        """What the cluster's training workers run on (``{"backend", "gpus", "pid"}``).

        Asked once with a ``warm_up`` job; with ``wait=False`` None until it answered.
        """
        if self._backend_info is None:
            if not wait:
                if self._backend_probe is None:
                    self._backend_probe = threading.Thread(target=self.backend_info, daemon=True)
                    self._backend_probe.start()
                return None
            self._backend_info = self.run("warm_up")
        return self._backend_info

    def status(self) -> PoolStatus:
        """Slots, busy slots, the worker pids of running jobs (each on its node), workers
        lost (crashed or ended), and how many jobs of each name have run."""
        with self._lock:
            return PoolStatus(self.size, len(self._running), tuple(self._pids.values()), self._lost,
                              dict(self._jobs_run))

    def close(self) -> None:
        """End this pool's running jobs and its mailbox; disconnect if :meth:`__init__` connected."""
        ray = self._ray
        with self._lock:
            self._closed = True
            running = list(self._running.values())
        for ref in running:
            ray.cancel(ref, force=True)
        if not ray.is_initialized():
            return
        try:
            ray.kill(self._mailbox)
        except ray.exceptions.RayError:
            pass
        if self._owns_connection:
            ray.shutdown()

    # -- internals

    def _follow(self, job_id, name, args, on_event, stop, timeout, wait_for_worker, asked_at):
        ray = self._ray
        task = self._training_task if name in TRAINING_JOBS else self._short_task
        ref = task.remote(self._mailbox, job_id, name, args)
        with self._lock:
            self._running[job_id] = ref
        started_at: float | None = None
        stop_asked_at: float | None = None
        while True:
            ready, _ = ray.wait([ref], timeout=EVENT_POLL_SECONDS)
            try:
                events = self._take(job_id)
            except WorkerFailed:
                self._end(ref)
                raise
            for kind, payload in events:
                if kind == "started":
                    started_at = time.monotonic()
                    with self._lock:
                        self._pids[job_id] = payload["pid"]
                elif kind != "finished" and on_event is not None:
                    on_event((kind, payload))
            if ready:
                return self._result(ref)
            now = time.monotonic()
            if self._closed:
                self._end(ref)
                raise WorkerFailed("the server is shutting down")
            if started_at is None and wait_for_worker is not None and now - asked_at > wait_for_worker:
                ray.cancel(ref, force=True)
                raise _busy()
            if stop_asked_at is None and stop is not None and stop():
                self._mailbox.request_stop.remote(job_id)
                stop_asked_at = now
            if stop_asked_at is not None and now - stop_asked_at > self.stop_grace:
                self._end(ref)
                raise WorkerFailed(
                    f"the worker did not stop within {self.stop_grace:g} s of being asked, "
                    "so it was ended and replaced"
                )
            if timeout is not None and started_at is not None and now - started_at > timeout:
                self._end(ref)
                raise WorkerFailed(f"the job did not finish within {timeout:g} s, so its worker was ended")

    def _result(self, ref):
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as error:
            if isinstance(error.cause, jobs.JobError):
                raise jobs.JobError(str(error.cause)) from None
            raise error.cause from error  # a bug in a job: keep both tracebacks
        except ray.exceptions.OutOfMemoryError:
            self._count_lost()
            raise WorkerFailed(
                "the worker ran out of memory on its node and Ray ended it; try a smaller model or batch"
            ) from None
        except ray.exceptions.RayError as error:
            self._count_lost()
            raise WorkerFailed(
                "the worker stopped unexpectedly (killed, out of memory, crashed, or its node left "
                f"the cluster): {type(error).__name__}"
            ) from None

    def _end(self, ref) -> None:
        """End a running job's task (its worker process goes with it)."""
        self._ray.cancel(ref, force=True)
        self._count_lost()

    def _count_lost(self) -> None:
        with self._lock:
            self._lost += 1

    def _take(self, job_id: int) -> list[tuple]:
        ray = self._ray
        try:
            return ray.get(self._mailbox.take.remote(job_id))
        except ray.exceptions.RayActorError:
            # The mailbox died (its node left): later jobs get a new one; this one is lost.
            self._mailbox = self._mailbox_class.remote()
            raise WorkerFailed("lost contact with the job on the Ray cluster") from None

    def _forget(self, job_id: int) -> None:
        if not self._closed:
            self._mailbox.forget.remote(job_id)


def _busy() -> WorkersBusy:
    return WorkersBusy("every worker is busy training; try again when a training has finished")
