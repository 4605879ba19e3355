"""A visitor's training, followed live from a background thread that never touches the UI.

:class:`LiveTraining` trains one or more configs through the server's worker
pool (:mod:`rnn_demo.compute.local_pool`, or :mod:`rnn_demo.compute.ray_pool` on a cluster): it
first waits for a slot in the server's shared
:class:`~rnn_demo.app.limits.TrainingQueue`, then hands each config to a worker
process as a ``"train"`` job (:mod:`rnn_demo.compute.jobs`) and writes its progress
into a lock-protected buffer that the page reads through :meth:`LiveTraining.snapshot`.
What it keeps of a finished run is a :class:`~rnn_demo.app.models.TrainedModel`: NumPy arrays only;
a ``keep`` hook (:class:`~rnn_demo.app.run_keeping.StoreKeeper`) stores every run as it ends.
:class:`LiveTrainings` holds them by owner, so a reloaded page finds its training again.

Plain Python (no Keras, no Streamlit): the live view in
:mod:`rnn_demo.ui.live_view` draws from it, and it is tested directly.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rnn_demo.app.limits import TrainingQueue
from rnn_demo.app.models import TrainedModel
from rnn_demo.config import TrainConfig, positive_setting
from rnn_demo.errors import UserError

POLL_SECONDS = 0.5  # how often a waiting training asks the queue again (and the live view redraws)
REATTACH_VARIABLE = "RNN_DEMO_REATTACH_SECONDS"
# How long a training waits for a session of its owner to look at it again (a reload, a new tab)
# before it is stopped as abandoned, freeing its slot; and how long an ended one waits to be shown.
DEFAULT_REATTACH_SECONDS = 60.0


def reattach_seconds() -> float:
    """The host's grace period, ``$RNN_DEMO_REATTACH_SECONDS`` (default 60 s)."""
    return positive_setting(REATTACH_VARIABLE, float, DEFAULT_REATTACH_SECONDS)


@dataclass
class LiveSnapshot:
    """A consistent copy of a training's progress, safe to read in the script thread.

    ``train_loss`` ``(iterations so far,)``; ``val_*`` at ``val_iterations``;
    ``last`` is the latest :class:`~rnn_demo.engine.records.Progress` (None before
    the first iteration); ``weights`` the latest snapshot of the current run's
    weights the worker sent (``jobs.train``), for *watch it learn*; ``index`` is the
    config being trained (0-based); ``queue_state`` says where the training stands in the server's queue. After a
    failure the curves are those of the run that failed, as far as it got.
    """

    index: int
    config: TrainConfig
    train_loss: list[float]
    val_iterations: list[int]
    val_loss: list[float]
    val_accuracy: list[float]
    last: object | None
    finished: list
    error: str | None
    done: bool
    queue_state: object | None  # rnn_demo.app.limits.QueueState, None when no queue
    # (iteration, twin arrays): the current run's latest weights, None before the first.
    weights: tuple[int, dict] | None = None
    # Finished model's number -> when (time.time()) this process heard of its last
    # iteration: where the visitor's wait for the results starts.
    last_iteration_at: dict[int, float] = field(default_factory=dict)
    # Model number -> how its run was kept (rnn_demo.app.run_keeping.KeptRun), failed runs included.
    kept: dict[int, object] = field(default_factory=dict)
    keeping_failed: bool = False  # the run failed (``error``) and what it reached is being stored


class StopWhenAsked:
    """The engine's stop signal: the visitor pressed Stop, or left it for good.

    A closed tab cannot press Stop. A reload closes one session and opens
    another, which :meth:`watch`-es the training again; a training that no open
    session of its owner has watched for ``grace_seconds`` is stopped (and kept).
    """

    def __init__(self, event: threading.Event, session_alive: Callable[[], bool], grace_seconds: float):
        self.event = event
        self.grace_seconds = grace_seconds
        self._lock = threading.Lock()
        self._watchers = [session_alive]
        self._seen = time.monotonic()

    def watch(self, session_alive: Callable[[], bool]) -> None:
        """One more session looks at the training (from now on, while ``session_alive()``)."""
        with self._lock:
            self._watchers.append(session_alive)
            self._seen = time.monotonic()

    def is_set(self) -> bool:
        if self.event.is_set():
            return True
        now = time.monotonic()
        with self._lock:
            self._watchers = [alive for alive in self._watchers if alive()]
            if self._watchers:
                self._seen = now
            return now - self._seen > self.grace_seconds


class LiveTraining:
    """Train ``configs`` one after another through ``pool``, from a background thread.

    The thread first waits for a slot in the server's shared
    :class:`~rnn_demo.app.limits.TrainingQueue` (keeping its place by asking again
    every ``POLL_SECONDS``), then runs each config as a ``"train"`` job on a
    worker and writes its progress into this object under a lock; the page
    reads it through :meth:`snapshot`. :meth:`stop` ends the current run after
    its current iteration (the model is kept) and skips the rest; so does a training that
    no open session has :meth:`watch`-ed for ``grace_seconds``. A worker that dies or does
    not stop ends the training with a message; the curve so far stays. ``keep``
    (:class:`~rnn_demo.app.run_keeping.StoreKeeper`) stores each run as it ends, failed ones too.
    ``owner`` (the visitor) has one training at a time in the queue; a run that trains longer
    than ``budget_seconds`` is stopped and kept like one stopped on request.
    """

    def __init__(
        self,
        configs: Sequence[TrainConfig],
        pool,
        first_number: int,
        *,
        data_description: str = "",
        queue: TrainingQueue | None = None,
        session_alive: Callable[[], bool] = lambda: True,
        grace_seconds: float = DEFAULT_REATTACH_SECONDS,
        keep: Callable | None = None,
        owner: str | None = None,
        budget_seconds: float | None = None,
    ):
        self.configs = list(configs)
        self.pool = pool
        self.first_number = first_number
        self.data_description = data_description
        self.queue = queue
        self.queue_state = None  # rnn_demo.app.limits.QueueState while waiting for a slot
        self.stop_event = threading.Event()
        self._stop_signal = StopWhenAsked(self.stop_event, session_alive, grace_seconds)
        self.keep = keep  # keep(record, arrays) or keep(failed=...) -> KeptRun, in this thread
        self.owner = owner
        self.budget_seconds = budget_seconds
        self._lock = threading.Lock()
        self._index = 0
        self._curves: tuple[list, list, list, list] = ([], [], [], [])
        self._last = None
        self._last_at: float | None = None  # time.time() when self._last arrived
        self._last_iteration_at: dict[int, float] = {}  # model number -> time of its last progress
        self._weights: tuple[int, dict] | None = None
        self._finished: list[TrainedModel] = []
        self._error: str | None = None
        self._kept: dict[int, object] = {}  # model number -> rnn_demo.app.run_keeping.KeptRun
        self._keeping_failed = False
        self._done = False
        self._ended_at: float | None = None  # time.monotonic() when the thread ended
        # Set once there is something to show: the first progress, a place in the queue, or the end.
        self._news = threading.Event()
        self.thread = threading.Thread(target=self._work, name="rnn-demo-training", daemon=True)

    def start(self) -> LiveTraining:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def watch(self, session_alive: Callable[[], bool]) -> None:
        """A (reloaded) session of the owner follows this training: it is not abandoned."""
        self._stop_signal.watch(session_alive)

    def _record(self, event: tuple) -> None:
        kind, progress = event
        if kind == "weights":
            with self._lock:
                self._weights = progress  # (iteration, twin arrays); only the latest is kept
            return
        if kind != "progress":
            return
        with self._lock:
            train_loss, val_iterations, val_loss, val_accuracy = self._curves
            train_loss.append(progress.train_loss)
            if progress.val_loss is not None:
                val_iterations.append(progress.iteration)
                val_loss.append(progress.val_loss)
                val_accuracy.append(progress.val_accuracy)
            self._last = progress
            self._last_at = time.time()
        self._news.set()

    def _work(self) -> None:
        try:
            if self.queue is not None and not self._wait_for_slot():
                return
            for index, config in enumerate(self.configs):
                if self._stop_signal.is_set():
                    break
                with self._lock:
                    self._index, self._curves, self._last = index, ([], [], [], []), None
                    self._last_at = None
                    self._weights = None
                deadline = None if self.budget_seconds is None else time.monotonic() + self.budget_seconds
                record, arrays = self.pool.run(
                    "train", config, None, on_event=self._record, stop=functools.partial(self._should_stop, deadline),
                )
                if record.status == "stopped" and self._out_of_time(deadline):
                    record = dataclasses.replace(record, message=(
                        f"stopped after {record.iterations_done} of {config.iterations} iterations: the server's "
                        f"time budget of {self.budget_seconds:g} s per training ran out"))
                elif record.status == "stopped" and not self.stop_event.is_set():  # abandoned, not asked
                    record = dataclasses.replace(record, message=(
                        f"stopped after {record.iterations_done} of {config.iterations} iterations: no page "
                        f"followed it for {self._stop_signal.grace_seconds:g} s"))
                trained = TrainedModel(self.model_number(index), record, arrays)
                with self._lock:
                    self._finished.append(trained)
                    if self._last_at is not None:
                        self._last_iteration_at[trained.number] = self._last_at
                if self.keep is not None:
                    self._keep(trained.number, self.keep.finished, record, arrays)
        except UserError as error:
            self._fail(f"Training failed: {error}")
        except Exception as error:  # noqa: BLE001 - the thread must report, never die silently
            self._fail(f"Training failed unexpectedly ({type(error).__name__}: {error})")
        finally:
            if self.queue is not None:
                self.queue.leave(self)
            with self._lock:
                self._done = True
                self._ended_at = time.monotonic()
            self._news.set()

    def _out_of_time(self, deadline: float | None) -> bool:
        return deadline is not None and time.monotonic() > deadline

    def _should_stop(self, deadline: float | None) -> bool:
        """The engine's stop flag: Stop was pressed, the training was abandoned, or its time ran out."""
        return self._stop_signal.is_set() or self._out_of_time(deadline)

    def _fail(self, message: str) -> None:
        """Say why the training ended, and keep what the failed run reached (its last weights)."""
        with self._lock:
            self._error = message
            self._keeping_failed = self.keep is not None and bool(self._curves[0])
        self._news.set()  # the visitor is told now; storing may wait for a new worker
        if self.queue is not None:  # and storing trains nothing: the slot is the next training's now
            self.queue.leave(self)
        snapshot = self.snapshot()
        if snapshot.keeping_failed:
            self._keep(self.model_number(snapshot.index), self.keep.failed, snapshot, message)

    def _keep(self, number: int, keep: Callable, *args) -> None:
        kept = keep(*args)
        with self._lock:
            self._kept[number] = kept

    def _wait_for_slot(self) -> bool:
        """Queue for a training slot; False if refused or stopped while waiting."""
        while True:
            state = self.queue.enter(self, self.owner)
            with self._lock:
                self.queue_state = state
            if state.position > 0 or state.refused:
                self._news.set()
            if state.refused:
                with self._lock:
                    self._error = state.message
                return False
            if state.position == 0:
                return True
            if self._stop_signal.is_set():
                return False
            time.sleep(POLL_SECONDS)

    def snapshot(self) -> LiveSnapshot:
        with self._lock:
            train_loss, val_iterations, val_loss, val_accuracy = self._curves
            return LiveSnapshot(
                self._index, self.configs[self._index], list(train_loss), list(val_iterations),
                list(val_loss), list(val_accuracy), self._last, list(self._finished),
                self._error, self._done, self.queue_state, self._weights,
                dict(self._last_iteration_at), dict(self._kept), self._keeping_failed and not self._done,
            )

    @property
    def done(self) -> bool:
        with self._lock:
            return self._done

    def ended_before(self, seconds: float) -> bool:
        """Whether the training ended more than ``seconds`` ago."""
        with self._lock:
            return self._ended_at is not None and time.monotonic() - self._ended_at > seconds

    def model_number(self, index: int) -> int:
        """The number the model of ``configs[index]`` has in the session (it has one
        from the start: views of the run in progress are keyed by it)."""
        return self.first_number + index

    def wait_for_news(self, timeout: float) -> bool:
        """Block until the training has something to show (its first progress, a place in
        the queue, or its end), at most ``timeout`` seconds; True when it has."""
        return self._news.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (tests); True when it has."""
        self.thread.join(timeout)
        return not self.thread.is_alive()


class LiveTrainings:
    """This process's live trainings, the latest of each owner: a reloaded page finds its own.

    An ended training stays ``keep_seconds`` (the grace period) for a page that comes
    back to show its results; then it goes (its runs are in the store).
    """

    def __init__(self, keep_seconds: float = DEFAULT_REATTACH_SECONDS):
        self.keep_seconds = keep_seconds
        self._lock = threading.Lock()
        self._trainings: dict[str, LiveTraining] = {}

    def find(self, owner: str) -> LiveTraining | None:
        """``owner``'s latest training, running or lately ended, or ``None``."""
        with self._lock:
            self._forget_ended()
            return self._trainings.get(owner)

    def add(self, owner: str, training: LiveTraining) -> LiveTraining:
        with self._lock:
            self._forget_ended()
            self._trainings[owner] = training
        return training

    def __len__(self) -> int:
        with self._lock:
            self._forget_ended()
            return len(self._trainings)

    def _forget_ended(self) -> None:
        for owner in [owner for owner, training in self._trainings.items()
                      if training.ended_before(self.keep_seconds)]:
            del self._trainings[owner]
