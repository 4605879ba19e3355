"""The one loop that follows a running job, for either pool: its events, a stop, a timeout.

Each pool wraps its running job in a :class:`Running` (how to hear from it,
whether it is done, how to ask it to stop); :func:`follow` decides when the job
has ignored a stop or outrun its timeout, and raises
:class:`~rnn_demo.compute.pool.WorkerFailed`; the pool then ends the worker.
See docs/hosting.md.
"""

from __future__ import annotations

import time
from typing import Protocol

from rnn_demo.compute.pool import JobRequest, WorkerFailed

# × stop_grace: the longest a stop may take, however chatty the worker.
STOP_CAP = 4


class Running(Protocol):
    # When the job's timeout starts counting; None until the job has started.
    started_at: float | None

    def poll(self) -> bool:
        """Deliver the job's waiting events, waiting one poll interval at most; whether any came."""

    def done(self) -> bool:
        """Whether the job's value (or its failure) is ready to collect."""

    def ask_stop(self) -> None:
        """Ask the job to stop after its current step."""


def follow(running: Running, request: JobRequest, stop_grace: float, stop_cap: float = STOP_CAP) -> None:
    """Poll ``running`` until it is done; raise :class:`WorkerFailed` when it must be ended.

    Once ``request.stop()`` is true the job is asked to stop; it fails when it
    has said nothing for ``stop_grace`` seconds since (a hung worker), or is
    still running ``stop_cap`` graces after the request. (Silence, not the
    request's age, is the test: the engine answers after its current step,
    and a run's first step also traces the model.) ``request.timeout`` counts
    from ``running.started_at``.
    """
    stop_asked_at: float | None = None
    last_heard = time.monotonic()
    while True:
        heard = running.poll()
        if running.done():
            return
        now = time.monotonic()
        if heard:
            last_heard = now
        if stop_asked_at is None and request.stop is not None and request.stop():
            running.ask_stop()
            stop_asked_at = now
        if stop_asked_at is not None and (
            now - max(stop_asked_at, last_heard) > stop_grace or now - stop_asked_at > stop_cap * stop_grace
        ):
            raise WorkerFailed(
                f"the worker did not stop within {stop_grace:g} s of being asked, so it was ended and replaced"
            )
        started_at = running.started_at
        if request.timeout is not None and started_at is not None and now - started_at > request.timeout:
            raise WorkerFailed(f"the job did not finish within {request.timeout:g} s, so its worker was ended")
