"""Warm worker processes that run the Keras jobs, so the web process never does.

Each worker is a standard-library ``ProcessPoolExecutor`` of one spawned
process (TensorFlow is not fork-safe), started with the server and warmed at
once by a first job (:func:`rnn_demo.compute.jobs.warm_up`: Keras imported, the
default dataset loaded, two training steps taken), so the first visitor does
not pay for it. One executor per worker keeps faults apart: if a process dies (killed,
out of memory, a crash in native code), only its own executor breaks, only
the job it ran fails, and a fresh worker takes its place.

Memory stays flat as visitors come and go, the way Celery's
``max_tasks_per_child`` / ``max_memory_per_child`` keep a long-lived server
healthy: a worker is replaced after ``max_jobs`` jobs or when its resident
memory passes ``max_memory_mb`` after a job. (The pool counts jobs itself
rather than using the executor's ``max_tasks_per_child``: it must know which
process runs, to end a hung one, and a replacement the executor spawns on its
own would be a process it has not met.) The replacement starts and warms up
at once, while no visitor waits for it.

Progress travels on a ``multiprocessing`` queue per worker and a stop request
on an event per worker, both handed to the process when it starts. A worker
that has said nothing for ``stop_grace`` seconds since it was asked to stop
(a hung worker) is ended; so is one still running ``STOP_CAP`` times that
long after the request. (Silence, not the request's age, is the test: the
engine answers after its current step, and the first step of a run also
traces the model, which takes seconds on a busy machine.)

:class:`WorkerPool` and :class:`rnn_demo.compute.ray_pool.RayPool` share one method,
:meth:`WorkerPool.run`, which is all the app and the CLI use.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from rnn_demo.compute import jobs
from rnn_demo.errors import UserError

# Each training leaves a worker ~10 MiB bigger even after Keras's clear_session
# and malloc_trim (measured: TensorFlow keeps per-model state); replacing a
# worker every few jobs bounds that, at the cost of one warm-up (seconds of one
# core, while no visitor waits: the next job goes to the other worker).
DEFAULT_MAX_JOBS = 4
DEFAULT_MAX_MEMORY_MB = 1500.0
WORKER_NICENESS = 10
STOP_GRACE_SECONDS = 5.0
STOP_CAP = 4  # × stop_grace: the longest a stop may take, however chatty the worker
EVENT_POLL_SECONDS = 0.05
# A job's value follows its "finished" event at once; a worker silent this long after it is stuck.
VALUE_AFTER_FINISHED_SECONDS = 30.0
# After a job's result arrives, its last events may still be in the queue's pipe.
DRAIN_SECONDS = 1.0


class WorkerFailed(UserError):
    """A worker died, hung or was replaced mid-job; the message is for people."""


class WorkersBusy(UserError):
    """No worker became free in time for a short job."""


class _DiedIdle(Exception):
    """The worker was found dead before the job started."""


# ------------------------------------------------------------------ worker side

_channel: _QueueChannel | None = None


class _QueueChannel:
    """The worker's end: events to the web process, the stop flag from it."""

    def __init__(self, events, stop_event):
        self.events = events
        self.stop_event = stop_event
        self.job_id = 0

    def report(self, event: tuple) -> None:
        self.events.put((self.job_id, *event))

    def stop_requested(self) -> bool:
        return self.stop_event.is_set()


def cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_threads(size: int) -> int:
    """Compute threads per worker for a pool of ``size``: the cores shared out, at least one."""
    return max(1, cores() // size)


def _initialise(events, stop_event, threads: int) -> None:
    """Runs once in each new worker process, before its first job (the warm-up)
    and before anything imports TensorFlow or JAX."""
    global _channel
    # The backends' thread pools: ``threads`` each, so that trainings in every
    # slot at once do not ask for more threads than there are cores. (Measured
    # on the 2-core build machine with one core kept busy: the LSTM recipe
    # trained in 2.9–3.8 s with one thread against 3.5–5.8 s with two; on an
    # idle machine one thread was as fast for the LSTM, 1.3–1.8× slower for the
    # bidirectional LSTM and the deep GRU.)
    for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    # A Ctrl-C in the terminal reaches the whole process group; the server
    # decides when its workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Below the web process's priority: on a small server, pages stay quick
    # while workers warm up or train (they get every idle cycle all the same).
    os.nice(WORKER_NICENESS)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _channel = _QueueChannel(events, stop_event)


def resident_mb(pid: int | None = None) -> float:
    """Resident memory of process ``pid`` (default: this one) in MiB, from ``/proc``."""
    with open(f"/proc/{pid or 'self'}/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


_tidying: threading.Thread | None = None


def _execute(job_id: int, name: str, args: tuple):
    """Runs a job in the worker; returns ``(value, resident MiB after the job)``.

    The clean-up after a job (:func:`rnn_demo.compute.jobs.release_memory`) runs in a
    thread while the value is on its way, so the visitor does not wait for it;
    the next job waits for it instead, if it comes that soon.
    """
    global _tidying
    if _tidying is not None:
        _tidying.join()
    _channel.job_id = job_id
    _channel.report(("started", os.getpid()))
    try:
        value = jobs.run_job(name, args, _channel)
    finally:
        _channel.report(("finished", None))
    resident = resident_mb()
    _tidying = threading.Thread(target=jobs.release_memory, name="rnn-demo-tidy", daemon=True)
    _tidying.start()
    return value, resident


# -------------------------------------------------------------- web-process side


def process_runs(pid: int) -> bool:
    """Whether ``pid`` runs (a killed child not yet reaped shows as a zombie: not running)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class _Worker:
    """One executor of one process, its event queue and its stop flag."""

    def __init__(self, context, threads: int):
        self.events = context.Queue()
        self.stop_event = context.Event()
        self.executor = ProcessPoolExecutor(
            1, mp_context=context, initializer=_initialise, initargs=(self.events, self.stop_event, threads),
        )
        self.jobs_done = 0
        self._pid: int | None = None
        # Start the process now: the first job then finds it warm.
        self.warm = self.executor.submit(_execute, 0, "warm_up", ())

    @property
    def pid(self) -> int | None:
        """The worker's process id, once its warm-up (or a job) has said it."""
        if self._pid is None and self.warm.done() and self.warm.exception() is None:
            self._pid = self.warm.result()[0]["pid"]
        return self._pid

    @pid.setter
    def pid(self, value: int) -> None:
        self._pid = value

    def retire(self, *, kill: bool) -> None:
        if kill and self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.executor.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class PoolStatus:
    """``jobs``: how many jobs of each name have run (finished or failed)."""

    size: int
    busy: int
    pids: tuple[int, ...]
    replaced: int
    jobs: dict[str, int]


class WorkerPool:
    """``size`` warm workers; :meth:`run` hands a job to a free one and follows it."""

    executor_name = "local"

    def __init__(
        self,
        size: int,
        *,
        max_jobs: int = DEFAULT_MAX_JOBS,
        max_memory_mb: float = DEFAULT_MAX_MEMORY_MB,
        stop_grace: float = STOP_GRACE_SECONDS,
        threads: int | None = None,
    ):
        if size < 1:
            raise ValueError(f"a pool needs at least one worker; got {size}")
        self.size = size
        self.threads = threads or default_threads(size)
        self.max_jobs = max_jobs
        self.max_memory_mb = max_memory_mb
        self.stop_grace = stop_grace
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Condition()
        self._idle = [_Worker(self._context, self.threads) for _ in range(size)]
        self._busy: set[_Worker] = set()
        self._job_ids = itertools.count(1)
        self._replaced = 0
        self._jobs_run: Counter[str] = Counter()
        self._closed = False

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
        """Run job ``name`` (see :data:`rnn_demo.compute.jobs.JOBS`) with ``args``; return its value.

        ``on_event`` receives the job's events (e.g. ``("progress", Progress)``)
        in this thread. ``stop`` is polled; once it is true the job is asked to
        stop, and ended with its worker if it has not finished ``stop_grace``
        seconds later. ``timeout`` bounds the whole job (the worker is ended
        past it). ``wait_for_worker`` bounds the wait for a free worker
        (:class:`WorkersBusy` after it). Raises :class:`~rnn_demo.compute.jobs.JobError`
        for input the job refused and :class:`WorkerFailed` when the worker
        died or had to be ended.
        """
        for attempt in (1, 2):
            worker = self._acquire(wait_for_worker)
            replace = False
            try:
                value, resident = self._follow(worker, name, args, on_event, stop, timeout)
                worker.jobs_done += 1
                replace = resident > self.max_memory_mb or worker.jobs_done >= self.max_jobs
                return value
            except _DiedIdle:
                # The process had died while idle (nobody's job was lost): one more try.
                replace = True
                if attempt == 2:
                    raise WorkerFailed("two workers in a row were dead on arrival") from None
            except WorkerFailed:
                replace = True
                raise
            finally:
                self._release(worker, replace)
                with self._lock:
                    self._jobs_run[name] += 1

    def status(self) -> PoolStatus:
        with self._lock:
            workers = [*self._idle, *self._busy]
            return PoolStatus(self.size, len(self._busy), tuple(w.pid for w in workers if w.pid),
                              self._replaced, dict(self._jobs_run))

    def worker_pids(self) -> list[int]:
        """The live worker processes (for memory reports and fault tests)."""
        return [pid for pid in self.status().pids if process_runs(pid)]

    def backend_info(self, *, wait: bool = True) -> dict | None:
        """What the workers run on (``{"backend", "gpus", "pid", "threads"}``, from a warm-up).

        With ``wait=False``, None while no worker has finished warming up.
        """
        with self._lock:
            warms = [worker.warm for worker in (*self._idle, *self._busy)]
        for warm in warms:
            if warm.done() and warm.exception() is None:
                return warm.result()[0]
        if not wait or not warms:
            return None
        return warms[0].result()[0]

    def wait_until_warm(self, timeout: float = 120.0) -> None:
        """Block until every idle worker has imported Keras (tests, start-up)."""
        with self._lock:
            workers = list(self._idle)
        for worker in workers:
            worker.warm.result(timeout=timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.retire(kill=True)

    # -- internals

    def _acquire(self, wait: float | None) -> _Worker:
        deadline = None if wait is None else time.monotonic() + wait
        with self._lock:
            while not self._idle:
                if self._closed:
                    raise WorkerFailed("the server is shutting down")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise WorkersBusy(
                        "every worker is busy training; try again when a training has finished"
                    )
                self._lock.wait(left)
            worker = self._idle.pop(0)
            self._busy.add(worker)
            return worker

    def _release(self, worker: _Worker, replace: bool) -> None:
        if replace:
            worker.retire(kill=True)
        with self._lock:
            self._busy.discard(worker)
            if not self._closed:
                if replace:
                    self._replaced += 1
                    worker = _Worker(self._context, self.threads)
                self._idle.append(worker)
            self._lock.notify()

    def _follow(self, worker: _Worker, name, args, on_event, stop, timeout):
        job_id = next(self._job_ids)
        worker.stop_event.clear()
        if worker.pid is not None and not process_runs(worker.pid):
            raise _DiedIdle
        try:
            future = worker.executor.submit(_execute, job_id, name, args)
        except BrokenProcessPool as error:
            raise _DiedIdle from error
        started = time.monotonic()
        stop_asked_at: float | None = None
        seen = set()  # this job's lifecycle events: "started", "finished"
        last_heard = started
        # Until the job says it has finished: its value follows at once, so wait
        # for that rather than for the next poll of the events (up to 50 ms later).
        while not future.done() and "finished" not in seen:
            heard = self._pump(worker, job_id, on_event, EVENT_POLL_SECONDS)
            seen |= heard
            now = time.monotonic()
            if heard:
                last_heard = now
            if stop_asked_at is None and stop is not None and stop():
                worker.stop_event.set()
                stop_asked_at = now
            if stop_asked_at is not None and (
                now - max(stop_asked_at, last_heard) > self.stop_grace
                or now - stop_asked_at > STOP_CAP * self.stop_grace
            ):
                raise WorkerFailed(
                    f"the worker did not stop within {self.stop_grace:g} s of being asked, "
                    "so it was ended and replaced"
                )
            if timeout is not None and now - started > timeout:
                raise WorkerFailed(f"the job did not finish within {timeout:g} s, so its worker was ended")
        try:
            value = future.result(timeout=VALUE_AFTER_FINISHED_SECONDS)
        except TimeoutError:
            raise WorkerFailed("the worker finished its job but never sent the result, so it was ended") from None
        except BrokenProcessPool as error:
            raise WorkerFailed(
                "the worker process stopped unexpectedly (killed, out of memory or crashed); "
                "a fresh one has taken its place"
            ) from error
        deadline = time.monotonic() + DRAIN_SECONDS
        while "finished" not in seen and time.monotonic() < deadline:
            seen |= self._pump(worker, job_id, on_event, EVENT_POLL_SECONDS)
        return value

    @staticmethod
    def _pump(worker: _Worker, job_id: int, on_event, wait: float) -> set[str]:
        """Deliver this job's waiting events; return the kinds that came (empty: silence)."""
        seen: set[str] = set()
        try:
            event = worker.events.get(timeout=wait) if wait else worker.events.get_nowait()
        except queue.Empty:
            return seen
        while True:
            owner, kind, payload = event
            if kind == "started":
                worker.pid = payload
            if owner == job_id:
                seen.add(kind)
                if kind not in ("started", "finished") and on_event is not None:
                    on_event((kind, payload))
            try:
                event = worker.events.get_nowait()
            except queue.Empty:
                return seen
