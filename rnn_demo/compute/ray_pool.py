"""The Keras jobs on a Ray cluster, behind the same :class:`~rnn_demo.compute.pool.Pool` as the local pool.

Each job runs as a Ray task on the cluster at ``address``, so app replicas and
CLI runs share one set of machines, GPUs included. Events and stop requests
travel through one small *mailbox* actor per pool; the package itself is
shipped with the connection (``py_modules``). Ray is optional and imported
only when a pool is made; this module imports no Keras. See docs/hosting.md.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import threading
import time
from collections import Counter
from pathlib import Path

from rnn_demo.compute import jobs, pool
from rnn_demo.compute.follow import follow
from rnn_demo.errors import UserError

# How often the waiting process collects a job's events.
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


class RayPool(pool.Pool):
    """Jobs on the Ray cluster at ``address``, through :meth:`~rnn_demo.compute.pool.Pool.run`.

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
        max_jobs: int = pool.DEFAULT_MAX_JOBS,
        stop_grace: float = pool.STOP_GRACE_SECONDS,
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

    def _run(self, request: pool.JobRequest, wait_for_worker: float | None):
        if request.name not in jobs.JOBS:
            raise ValueError(f"unknown job {request.name!r}; expected one of {', '.join(jobs.JOBS)}")
        asked_at = time.monotonic()
        if not self._slots.acquire(timeout=-1 if wait_for_worker is None else wait_for_worker):
            raise pool.WorkersBusy()
        try:
            if self._closed:
                raise pool.WorkerFailed(pool.SHUTTING_DOWN)
            job_id = next(self._job_ids)
            start_by = None if wait_for_worker is None else asked_at + wait_for_worker
            try:
                return self._follow(job_id, request, start_by)
            finally:
                with self._lock:
                    self._running.pop(job_id, None)
                    self._pids.pop(job_id, None)
                    self._jobs_run[request.name] += 1
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

    def status(self) -> pool.PoolStatus:
        """Slots, busy slots, the worker pids of running jobs (each on its node), workers
        lost (crashed or ended), and how many jobs of each name have run."""
        with self._lock:
            return pool.PoolStatus(self.size, len(self._running), tuple(self._pids.values()), self._lost,
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

    def _follow(self, job_id: int, request: pool.JobRequest, start_by: float | None):
        task = self._training_task if request.name in TRAINING_JOBS else self._short_task
        ref = task.remote(self._mailbox, job_id, request.name, request.args)
        with self._lock:
            self._running[job_id] = ref
        try:
            # stop_cap=1: a job is ended one grace after the stop request, however chatty.
            follow(_Running(self, job_id, ref, request.on_event, start_by), request, self.stop_grace, stop_cap=1)
        except pool.WorkerFailed:
            self._end(ref)
            raise
        return self._result(ref)

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
            raise pool.WorkerFailed(
                "the worker ran out of memory on its node and Ray ended it; try a smaller model or batch"
            ) from None
        except ray.exceptions.RayError as error:
            self._count_lost()
            raise pool.WorkerFailed(
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
            raise pool.WorkerFailed("lost contact with the job on the Ray cluster") from None

    def _forget(self, job_id: int) -> None:
        if not self._closed:
            self._mailbox.forget.remote(job_id)


class _Running:
    """A job's task on the cluster, as :func:`~rnn_demo.compute.follow.follow` sees it."""

    def __init__(self, owner: RayPool, job_id: int, ref, on_event, start_by: float | None):
        self.owner = owner
        self.job_id = job_id
        self.ref = ref
        self.on_event = on_event
        self.start_by = start_by  # the task must start by then, or the cluster is too busy
        self.started_at: float | None = None
        self.ready = False

    def poll(self) -> bool:
        owner = self.owner
        ready, _ = owner._ray.wait([self.ref], timeout=EVENT_POLL_SECONDS)
        self.ready = bool(ready)
        events = owner._take(self.job_id)
        for kind, payload in events:
            if kind == "started":
                self.started_at = time.monotonic()
                with owner._lock:
                    owner._pids[self.job_id] = payload["pid"]
            elif kind != "finished" and self.on_event is not None:
                self.on_event((kind, payload))
        if not self.ready:
            if owner._closed:
                raise pool.WorkerFailed(pool.SHUTTING_DOWN)
            if self.started_at is None and self.start_by is not None and time.monotonic() > self.start_by:
                owner._ray.cancel(self.ref, force=True)
                raise pool.WorkersBusy()
        return bool(events)

    def done(self) -> bool:
        return self.ready

    def ask_stop(self) -> None:
        self.owner._mailbox.request_stop.remote(self.job_id)
