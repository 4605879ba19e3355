"""The worker process's side of :mod:`rnn_demo.compute.local_pool`: its start and its jobs.

:func:`initialise` runs once in each new worker (thread counts, its scheduler
group, the event channel, ending with the web process); :func:`execute` runs each job
and says the worker's resident memory after it, so the pool can recycle it.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from pathlib import Path

from rnn_demo.compute import jobs

WORKER_NICENESS = 10
WARMING_NICENESS = 19  # a worker's scheduler group while it warms up, below those that train
SERVER_CHECK_SECONDS = 1.0

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


def _end_with_server(server_pid: int) -> None:
    """End this worker once the web process that uses it is gone, however it went (a
    SIGKILL, the kernel's OOM killer): nothing else would end it, and an orphaned
    worker keeps its hundreds of MiB until the machine restarts.

    The web process is not this worker's parent (the fork server is), and the fork
    server lives as long as its workers do, so it is the web process that is watched:
    through a pidfd, readable once it ends, or where there are none by its pid.
    """
    try:
        server = os.pidfd_open(server_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfds (not Linux, or before 5.3)
        server = None

    def watch() -> None:
        if server is not None:
            select.select([server], [], [])
        else:
            while _runs(server_pid):
                time.sleep(SERVER_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="rnn-demo-server-watch", daemon=True).start()


def _runs(pid: int) -> bool:
    """Whether ``pid`` exists, asked with signal 0: unlike ``/proc`` (``local_pool.process_runs``)
    it works where there are no pidfds, and may be no ``/proc``; a zombie counts as running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def initialise(events, stop_event, threads: int, server_pid: int) -> None:
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
    below_everything_else()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _channel = _QueueChannel(events, stop_event)
    _end_with_server(server_pid)


def below_everything_else() -> None:
    """Put this process (a worker, or the fork server workers come from) in a scheduler
    group of its own, niced :data:`WARMING_NICENESS` (a worker's until its warm-up is
    done, then :data:`WORKER_NICENESS`).

    Linux's autogroups share the CPU between sessions first and by niceness only
    inside each: a worker in the server's session, however nice, makes the whole
    session count as busy against every other one (a browser on the same machine,
    a second app). A session of its own (``setsid``, which also keeps a terminal's
    signals away: the server ends its workers) with its group's nice raised puts
    it below all of them, and a replacement worker's warm-up below a worker that
    trains. Where the kernel has no autogroups the process's own niceness, set
    in the fork server it came from (:mod:`rnn_demo.compute.fork_server`), is what holds.
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


def execute(job_id: int, name: str, args: tuple):
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
