"""This machine's worker pool: warm, spawned worker processes that run the Keras jobs.

One ``ProcessPoolExecutor`` of one spawned process per worker (TensorFlow is
not fork-safe), so a dead process fails only its own job. Workers warm up when
started and are recycled after ``max_jobs`` jobs, past ``max_memory_mb``, or
after any job that failed or was ended, as Celery's ``max_tasks_per_child``
does; the pool counts jobs itself because it must know each process, to end a
hung one. A replaced worker's upload folders go with it. See docs/hosting.md.
"""

from __future__ import annotations

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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from rnn_demo.compute import jobs, pool
from rnn_demo.compute.follow import follow
from rnn_demo.engine.model_file import UPLOAD_FOLDER_PREFIX

WORKER_NICENESS = 10
WARMING_NICENESS = 19  # a worker's scheduler group while it warms up, below those that train
EVENT_POLL_SECONDS = 0.05
# A job's value follows its "finished" event at once; a worker silent this long after it is stuck.
VALUE_AFTER_FINISHED_SECONDS = 30.0
# After a job's result arrives, its last events may still be in the queue's pipe.
DRAIN_SECONDS = 1.0
# A SIGKILLed worker is gone within milliseconds; its upload folders are removed after.
EXIT_WAIT_SECONDS = 1.0


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


PARENT_CHECK_SECONDS = 1.0


def _end_with_parent(parent_pid: int) -> None:
    """End this worker once the process that started it is gone, however it went (a
    SIGKILL, the kernel's OOM killer): nothing else would end it, and an orphaned
    worker keeps its hundreds of MiB until the machine restarts."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="rnn-demo-parent-watch", daemon=True).start()


def _initialise(events, stop_event, threads: int) -> None:
    """Runs once in each new worker process, before its first job (the warm-up)
    and before anything imports TensorFlow or JAX."""
    global _channel
    # The backends' thread pools: ``threads`` each, so that trainings in every
    # slot at once do not ask for more threads than there are cores
    # (measurements in docs/performance.md).
    for variable in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[variable] = str(threads)
    if threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    # A Ctrl-C in the terminal reaches the whole process group; the server
    # decides when its workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _below_everything_else()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _channel = _QueueChannel(events, stop_event)
    _end_with_parent(os.getppid())


def _below_everything_else() -> None:
    """Put this worker in a scheduler group of its own, niced :data:`WARMING_NICENESS`
    until its warm-up is done (then :data:`WORKER_NICENESS`).

    Linux's autogroups share the CPU between sessions first and by niceness only
    inside each: a worker in the server's session, however nice, makes the whole
    session count as busy against every other one (a browser on the same machine,
    a second app). A session of its own (``setsid``, which also keeps a terminal's
    signals away: the server ends its workers) with its group's nice raised puts
    it below all of them, and a replacement worker's warm-up below a worker that
    trains. Where the kernel has no autogroups the process's own niceness
    (:class:`_NiceSpawnProcess`) is what holds.
    """
    os.setsid()
    _set_group_niceness(WARMING_NICENESS)


def _set_group_niceness(niceness: int) -> None:
    try:  # any niceness from 0 up is this process's to set (proc(5), /proc/pid/autogroup)
        Path("/proc/self/autogroup").write_text(str(niceness))
    except OSError:
        pass


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
    if name == "warm_up":
        _set_group_niceness(WORKER_NICENESS)
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


class _NiceSpawnProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker below the web process's priority from its first instruction: on a
    small server, pages stay quick while workers start, warm up or train (they get every
    idle cycle all the same). Set by the parent at once, because a new interpreter's start
    (imports before any initializer runs) costs half a CPU second per worker."""

    def start(self) -> None:
        super().start()
        try:  # best effort: a process that died at once is the executor's to report
            os.setpriority(os.PRIO_PROCESS, self.pid, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS)
        except OSError:
            pass


class _NiceSpawnContext(multiprocessing.context.SpawnContext):
    """``multiprocessing.get_context("spawn")`` whose processes are :class:`_NiceSpawnProcess`."""

    Process = _NiceSpawnProcess


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
        self._context = _NiceSpawnContext()
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
            future = worker.executor.submit(_execute, job_id, request.name, request.args)
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
