"""This machine's worker pool: warm worker processes that run the Keras jobs.

One ``ProcessPoolExecutor`` of one process per worker, so a dead process fails
only its own job. Each is forked from multiprocessing's fork server, which has
imported Keras but started none of TensorFlow's runtime (that is not
fork-safe). Workers warm up when started and are recycled after ``max_jobs``
jobs, past ``max_memory_mb``, or after any job that failed or was ended, as
Celery's ``max_tasks_per_child`` does; the pool counts jobs itself because it
must know each process, to end a hung one. A replaced worker's upload folders
go with it. What runs inside a worker is :mod:`rnn_demo.compute.worker_process`.
See docs/hosting.md.
"""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from rnn_demo.compute import pool
from rnn_demo.compute.follow import follow
from rnn_demo.compute.worker_process import default_threads, execute, initialise
from rnn_demo.engine.model_file import UPLOAD_FOLDER_PREFIX

EVENT_POLL_SECONDS = 0.05
# A job's value follows its "finished" event at once; a worker silent this long after it is stuck.
VALUE_AFTER_FINISHED_SECONDS = 30.0
# After a job's result arrives, its last events may still be in the queue's pipe.
DRAIN_SECONDS = 1.0
# A SIGKILLed worker is gone within milliseconds; its upload folders are removed after.
EXIT_WAIT_SECONDS = 1.0


class _DiedIdle(Exception):
    """The worker was found dead before the job started."""


# -------------------------------------------------------------- web-process side


def process_runs(pid: int) -> bool:
    """Whether ``pid`` runs (a killed child not yet reaped shows as a zombie: not running)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def remove_orphan_upload_folders(folder: str | None = None) -> list[Path]:
    """Remove the upload folders (``rnn_demo_upload_<pid>_…``) of processes that no longer run.

    A worker removes its own when a read ends; one killed mid-read cannot.
    """
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{UPLOAD_FOLDER_PREFIX}*_*"):
        pid = path.name[len(UPLOAD_FOLDER_PREFIX):].split("_", 1)[0]
        if pid.isdigit() and not process_runs(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _fork_server_context() -> multiprocessing.context.ForkServerContext:
    """Workers forked from one fork server that has imported Keras (:mod:`rnn_demo.compute.fork_server`).

    Not plain ``fork``: the web process runs threads (Streamlit's, the pool's), and a
    fork copies their locks mid-use. The fork server is single-threaded past its
    imports (OpenBLAS's threads, which stop themselves around a fork) and has
    started none of TensorFlow's runtime.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["rnn_demo.compute.fork_server"])
    return context


def _pass_on(done: Future, *, to: Future) -> None:
    """Give ``to`` what ``done`` ended with: a value, an error, or a cancellation."""
    if done.cancelled():
        to.cancel()
    elif done.exception() is not None:
        to.set_exception(done.exception())
    else:
        to.set_result(done.result())


class _Worker:
    """One executor of one process, its event queue and its stop flag."""

    def __init__(self, context, threads: int):
        self.events = context.Queue()
        self.stop_event = context.Event()
        self.executor = ProcessPoolExecutor(
            1, mp_context=context, initializer=initialise, initargs=(self.events, self.stop_event, threads, os.getpid()),
        )
        self.jobs_done = 0
        self._pid: int | None = None
        # Start the process now, so the first job finds it warm; from a thread of its own,
        # because a process's start waits until the fork server has imported Keras (seconds,
        # once per server), and the caller may be drawing a visitor's first page.
        self.warm: Future = Future()
        self._warm_submitted = threading.Event()
        threading.Thread(target=self._start, name="rnn-demo-worker-start", daemon=True).start()

    def _start(self) -> None:
        try:
            warm_up = self.executor.submit(execute, 0, "warm_up", ())
        except (RuntimeError, OSError) as error:  # retired first (shut down), broken at birth, no fork
            self.warm.set_exception(error)
            return
        finally:
            self._warm_submitted.set()
        warm_up.add_done_callback(functools.partial(_pass_on, to=self.warm))

    def submit(self, job_id: int, name: str, args: tuple) -> Future:
        """Hand the process a job (after its warm-up, which is always its first)."""
        self._warm_submitted.wait()
        return self.executor.submit(execute, job_id, name, args)

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


class WorkerPool(pool.Pool):
    """``size`` warm workers; :meth:`run` hands a job to a free one and follows it."""

    executor_name = "local"

    def __init__(
        self,
        size: int,
        *,
        max_jobs: int = pool.DEFAULT_MAX_JOBS,
        max_memory_mb: float = pool.DEFAULT_MAX_MEMORY_MB,
        stop_grace: float = pool.STOP_GRACE_SECONDS,
        threads: int | None = None,
    ):
        if size < 1:
            raise ValueError(f"a pool needs at least one worker; got {size}")
        self.size = size
        self.threads = threads or default_threads(size)
        self.max_jobs = max_jobs
        self.max_memory_mb = max_memory_mb
        self.stop_grace = stop_grace
        self._context = _fork_server_context()
        remove_orphan_upload_folders()  # a previous server's workers, killed mid-read
        self._lock = threading.Condition()
        self._idle = [_Worker(self._context, self.threads) for _ in range(size)]
        self._busy: set[_Worker] = set()
        self._job_ids = itertools.count(1)
        self._replaced = 0
        self._jobs_run: Counter[str] = Counter()
        self._closed = False

    def _run(self, request: pool.JobRequest, wait_for_worker: float | None):
        for attempt in (1, 2):
            worker = self._acquire(wait_for_worker)
            # A job that failed (refused input, a crash, a timeout) may have left its
            # worker holding what it read: the worker is replaced, not trusted again.
            replace = True
            try:
                value, resident = self._follow(worker, request)
                worker.jobs_done += 1
                replace = resident > self.max_memory_mb or worker.jobs_done >= self.max_jobs
                return value
            except _DiedIdle:
                # The process had died while idle (nobody's job was lost): one more try.
                if attempt == 2:
                    raise pool.WorkerFailed("two workers in a row were dead on arrival") from None
            finally:
                self._release(worker, replace)
                with self._lock:
                    self._jobs_run[request.name] += 1

    def status(self) -> pool.PoolStatus:
        with self._lock:
            workers = [*self._idle, *self._busy]
            return pool.PoolStatus(self.size, len(self._busy), tuple(w.pid for w in workers if w.pid),
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
                    raise pool.WorkerFailed(pool.SHUTTING_DOWN)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise pool.WorkersBusy()
                self._lock.wait(left)
            worker = self._idle.pop(0)
            self._busy.add(worker)
            return worker

    def _release(self, worker: _Worker, replace: bool) -> None:
        if replace:
            worker.retire(kill=True)
            deadline = time.monotonic() + EXIT_WAIT_SECONDS
            while worker.pid is not None and process_runs(worker.pid) and time.monotonic() < deadline:
                time.sleep(0.01)
            remove_orphan_upload_folders()
        with self._lock:
            self._busy.discard(worker)
            if not self._closed:
                if replace:
                    self._replaced += 1
                    worker = _Worker(self._context, self.threads)
                self._idle.append(worker)
            self._lock.notify()

    def _follow(self, worker: _Worker, request: pool.JobRequest):
        job_id = next(self._job_ids)
        worker.stop_event.clear()
        if worker.pid is not None and not process_runs(worker.pid):
            raise _DiedIdle
        try:
            future = worker.submit(job_id, request.name, request.args)
        except BrokenProcessPool as error:
            raise _DiedIdle from error
        running = _Running(worker, job_id, future, request.on_event)
        follow(running, request, self.stop_grace)  # on WorkerFailed, run replaces the worker
        try:
            value = future.result(timeout=VALUE_AFTER_FINISHED_SECONDS)
        except TimeoutError:
            raise pool.WorkerFailed("the worker finished its job but never sent the result, so it was ended") from None
        except BrokenProcessPool as error:
            raise pool.WorkerFailed(
                "the worker process stopped unexpectedly (killed, out of memory or crashed); "
                "a fresh one has taken its place"
            ) from error
        running.drain()
        return value


class _Running:
    """A job on a local worker, as :func:`~rnn_demo.compute.follow.follow` sees it."""

    def __init__(self, worker: _Worker, job_id: int, future, on_event):
        self.worker = worker
        self.job_id = job_id
        self.future = future
        self.on_event = on_event
        self.started_at = time.monotonic()
        self.seen: set[str] = set()  # this job's lifecycle events: "started", "finished"

    def poll(self) -> bool:
        heard = self._pump()
        self.seen |= heard
        return bool(heard)

    def done(self) -> bool:
        # The job's value follows its "finished" event at once: collect it now
        # rather than after the next poll (up to 50 ms later).
        return self.future.done() or "finished" in self.seen

    def ask_stop(self) -> None:
        self.worker.stop_event.set()

    def drain(self) -> None:
        """Deliver the events still on their way after the value came."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while "finished" not in self.seen and time.monotonic() < deadline:
            self.poll()

    def _pump(self) -> set[str]:
        """Deliver this job's waiting events; return the kinds that came (empty: silence)."""
        seen: set[str] = set()
        worker = self.worker
        try:
            event = worker.events.get(timeout=EVENT_POLL_SECONDS)
        except queue.Empty:
            return seen
        while True:
            owner, kind, payload = event
            if kind == "started":
                worker.pid = payload
            if owner == self.job_id:
                seen.add(kind)
                if kind not in ("started", "finished") and self.on_event is not None:
                    self.on_event((kind, payload))
            try:
                event = worker.events.get_nowait()
            except queue.Empty:
                return seen
