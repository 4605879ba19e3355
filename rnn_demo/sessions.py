"""Per-visitor state of the app, without Streamlit: training jobs, models, links.

The Streamlit glue (:mod:`rnn_demo.ui`) keeps one :class:`TrainingJob` and a
list of :class:`TrainedModel` in each visitor's session; everything here is
plain Python (and imports no Keras), so it is tested directly and could serve
another front end.

* :class:`TrainingJob` trains one or more configs through the server's worker
  pool (:mod:`rnn_demo.workers`, or :mod:`rnn_demo.ray_pool` on a cluster)
  from a background thread that never touches the UI: it first waits for a
  slot in the server's shared :class:`~rnn_demo.limits.TrainingQueue`, then
  hands the job to a worker process and writes its progress into a
  lock-protected buffer that the page reads through :meth:`TrainingJob.snapshot`.
  A visitor's session holds NumPy arrays only (the record and the NumPy twin).
* :func:`config_from_query` / :func:`config_to_query`: the training
  configuration in a shareable URL, with a message for each refused value.
* :func:`comparison_rows` / :func:`comparison_curves`: the Compare page's table
  and curves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rnn_demo.config import ARCHITECTURE_NAMES, ConfigError, TrainConfig
from rnn_demo.errors import UserError
from rnn_demo.limits import HostLimits, TrainingQueue
from rnn_demo.records import RunRecord
from rnn_demo.trace import NumpyModel
from rnn_demo.twin import twin_from_arrays

POLL_SECONDS = 0.5  # how often a waiting job asks the queue again (and the live view redraws)

QUERY_FIELDS: dict[str, tuple[str, type]] = {
    "arch": ("arch", str),
    "hidden": ("hidden_units", int),
    "layers": ("layers", int),
    "lr": ("learning_rate", float),
    "batch": ("batch_size", int),
    "iterations": ("iterations", int),
    "seed": ("seed", int),
    "device": ("device", str),
    "dataset": ("dataset", str),
    "augment": ("augment", bool),
}


@dataclass(frozen=True, eq=False)
class InteractiveModel:
    """A model the interactive pages can use: its NumPy twin and what to say about it.

    ``key`` identifies it in the model picker; ``dataset`` names the data it learned.
    """

    key: str
    label: str
    arch: str
    dataset: str
    description: str
    numpy_model: NumpyModel


def uploaded_interactive_model(arrays: dict, metadata: dict, name: str, key: str) -> InteractiveModel:
    """Wrap an upload that a worker has read and checked (``jobs.read_upload``) for the pages."""
    arch = metadata.get("arch")
    accuracy = metadata.get("val_accuracy")
    description = (
        f"Uploaded by you ({name}, kept in this session only): "
        + (f"{ARCHITECTURE_NAMES[arch]}, " if arch in ARCHITECTURE_NAMES else "")
        + (f"{metadata['iterations']} iterations, " if "iterations" in metadata else "")
        + (f"validation accuracy {accuracy:.1%} when saved." if isinstance(accuracy, float)
           else "no training record inside.")
    )
    return InteractiveModel(
        key, f"Uploaded: {name}", arch or "custom", metadata.get("dataset", "mnist"), description,
        twin_from_arrays(arrays),
    )


@dataclass(eq=False)
class TrainedModel:
    """A finished run of this session: the engine's record, the twin's arrays and the twin."""

    number: int
    result: RunRecord
    arrays: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        self.numpy_model = twin_from_arrays(self.arrays)

    @property
    def label(self) -> str:
        result = self.result
        return (
            f"#{self.number} {ARCHITECTURE_NAMES[result.config.arch]} · {result.iterations_done} it · "
            f"{result.val_accuracy:.1%}"
        )

    def as_interactive(self) -> InteractiveModel:
        result = self.result
        description = (
            f"Trained by you in this session: {ARCHITECTURE_NAMES[result.config.arch]}, "
            f"{result.iterations_done} iterations on {result.data_description}; "
            f"validation accuracy {result.val_accuracy:.1%}."
        )
        return InteractiveModel(
            f"session-{self.number}", self.label, result.config.arch, result.dataset,
            description, self.numpy_model,
        )


@dataclass
class JobSnapshot:
    """A consistent copy of a job's progress, safe to read in the script thread.

    ``train_loss`` ``(iterations so far,)``; ``val_*`` at ``val_iterations``;
    ``last`` is the latest :class:`~rnn_demo.records.Progress` (None before
    the first iteration); ``index`` is the config being trained (0-based);
    ``queue_state`` says where the job stands in the server's queue. After a
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
    queue_state: object | None  # rnn_demo.limits.QueueState, None when no queue


class StopWhenAsked:
    """The engine's stop signal: the visitor pressed Stop, or their session is gone.

    A closed tab cannot press Stop; without this its training would keep a
    worker busy until the end.
    """

    def __init__(self, event: threading.Event, session_alive):
        self.event = event
        self.session_alive = session_alive

    def is_set(self) -> bool:
        return self.event.is_set() or not self.session_alive()


class TrainingJob:
    """Train ``configs`` one after another through ``pool``, from a background thread.

    The thread first waits for a slot in the server's shared
    :class:`~rnn_demo.limits.TrainingQueue` (keeping its place by asking again
    every ``POLL_SECONDS``), then runs each config as a ``"train"`` job on a
    worker and writes its progress into this object under a lock; the page
    reads it through :meth:`snapshot`. :meth:`stop` ends the current run after
    its current iteration (the model is kept) and skips the rest. A worker that
    dies or does not stop ends the job with a message; the curve so far stays.
    """

    def __init__(
        self,
        configs: Sequence[TrainConfig],
        pool,
        first_number: int,
        *,
        data_description: str = "",
        queue: TrainingQueue | None = None,
        session_alive=lambda: True,
    ):
        self.configs = list(configs)
        self.pool = pool
        self.first_number = first_number
        self.data_description = data_description
        self.queue = queue
        self.queue_state = None  # rnn_demo.limits.QueueState while waiting for a slot
        self.stop_event = threading.Event()
        self._stop_signal = StopWhenAsked(self.stop_event, session_alive)
        self._lock = threading.Lock()
        self._index = 0
        self._curves: tuple[list, list, list, list] = ([], [], [], [])
        self._last = None
        self._finished: list[TrainedModel] = []
        self._error: str | None = None
        self._done = False
        self.harvested = False
        self.thread = threading.Thread(target=self._work, name="rnn-demo-training", daemon=True)

    def start(self) -> TrainingJob:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def _record(self, event: tuple) -> None:
        kind, progress = event
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

    def _work(self) -> None:
        try:
            if self.queue is not None and not self._wait_for_slot():
                return
            for index, config in enumerate(self.configs):
                if self._stop_signal.is_set():
                    break
                with self._lock:
                    self._index, self._curves, self._last = index, ([], [], [], []), None
                record, arrays = self.pool.run(
                    "train", config, None, on_event=self._record, stop=self._stop_signal.is_set,
                )
                trained = TrainedModel(self.first_number + index, record, arrays)
                with self._lock:
                    self._finished.append(trained)
        except UserError as error:
            with self._lock:
                self._error = f"Training failed: {error}"
        except Exception as error:  # noqa: BLE001 - the thread must report, never die silently
            with self._lock:
                self._error = f"Training failed unexpectedly ({type(error).__name__}: {error})"
        finally:
            if self.queue is not None:
                self.queue.leave(self)
            with self._lock:
                self._done = True

    def _wait_for_slot(self) -> bool:
        """Queue for a training slot; False if refused or stopped while waiting."""
        while True:
            state = self.queue.enter(self)
            with self._lock:
                self.queue_state = state
            if state.refused:
                with self._lock:
                    self._error = state.message
                return False
            if state.position == 0:
                return True
            if self._stop_signal.is_set():
                return False
            time.sleep(POLL_SECONDS)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            train_loss, val_iterations, val_loss, val_accuracy = self._curves
            return JobSnapshot(
                self._index, self.configs[self._index], list(train_loss), list(val_iterations),
                list(val_loss), list(val_accuracy), self._last, list(self._finished),
                self._error, self._done, self.queue_state,
            )

    @property
    def done(self) -> bool:
        with self._lock:
            return self._done

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends (tests); True when it has."""
        self.thread.join(timeout)
        return not self.thread.is_alive()


def _query_text(value, kind: type) -> str:
    if kind is float:
        return f"{value:g}"
    if kind is bool:
        return "1" if value else "0"
    return str(value)


def _parse_query(name: str, raw: str, kind: type):
    """``raw`` as ``kind``; a :class:`ConfigError` naming the field when it is not one."""
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be 1 or 0; got {raw!r}")
    try:
        return kind(raw)
    except ValueError:
        wanted = {float: "a number", int: "a whole number"}.get(kind, "text")
        raise ConfigError(f"{name} must be {wanted}; got {raw!r}") from None


def config_to_query(config: TrainConfig) -> dict[str, str]:
    """Query parameters for ``config`` (all fields, short names)."""
    values = config.to_dict()
    return {key: _query_text(values[name], kind) for key, (name, kind) in QUERY_FIELDS.items()}


def config_from_query(
    params: Mapping[str, str], *, gpus_available: bool = True, limits: HostLimits | None = None
) -> tuple[TrainConfig, list[str]]:
    """A config from URL query parameters, and one message per value that was refused.

    Every refused value (malformed, out of range, over the host's ``limits``,
    or a GPU on a server without one) falls back to the chapter's default for
    that field, so a mistyped link still opens a working page. Unknown
    parameters are ignored.
    """
    limits = limits or HostLimits()
    config = TrainConfig()
    problems: list[str] = []
    for key, (name, kind) in QUERY_FIELDS.items():
        if key not in params:
            continue
        raw = params[key]
        default = getattr(TrainConfig(), name)
        try:
            value = _parse_query(name, raw, kind)
            if name == "device" and value == "gpu" and not gpus_available:
                raise ConfigError("device gpu was requested but this server has no GPU")
            candidate = config.replace(**{name: value})  # validates the value
            if kind is int and name != "seed" and value > limits.upper_bound(name):
                raise ConfigError(f"{name} {value} is over this server's limit of {limits.upper_bound(name)}")
            config = candidate
        except ConfigError as error:
            problems.append(f"The link's `{key}={raw}` was not used: {error}. Using the default, {default}.")
    return config, problems


def comparison_rows(models: Sequence[TrainedModel]) -> list[dict]:
    """One table row per trained model: cost and final scores."""
    rows = []
    for trained in models:
        result = trained.result
        rows.append({
            "model": trained.label,
            "architecture": ARCHITECTURE_NAMES[result.config.arch],
            "data": f"{result.dataset} ({result.data_source}, {result.n_train:,} train)",
            "seed": result.config.seed,
            "iterations": result.iterations_done,
            "parameters": result.params,
            "ms / iteration": 1000 * result.train_seconds / max(result.iterations_done, 1),
            "samples/s": round(result.samples_per_second),
            "validation accuracy": result.val_accuracy,
            "validation loss": result.val_loss,
            "status": result.status,
        })
    return rows


def comparison_curves(models: Sequence[TrainedModel]) -> list[dict]:
    """The curves of ``models`` in the shape :func:`rnn_demo.figures.compare_figure` takes."""
    return [
        {
            "label": trained.label, "arch": trained.result.config.arch,
            **trained.result.history.to_dict(),
        }
        for trained in models
    ]
