"""Per-visitor state of the app, without Streamlit: training jobs, models, links.

The Streamlit glue (:mod:`rnn_demo.ui`) keeps one :class:`TrainingJob` and a
list of :class:`TrainedModel` in each visitor's session; everything here is
plain Python, so it is tested directly and could serve another front end.

* :class:`TrainingJob` runs :func:`rnn_demo.training.train` for one or more
  configs in a background thread that never touches the UI: it first waits for
  a slot in the server's shared :class:`~rnn_demo.limits.TrainingQueue`, then
  writes progress into a lock-protected buffer that the page reads through
  :meth:`TrainingJob.snapshot`. Training in one session therefore never blocks
  another session's page.
* :func:`config_from_query` / :func:`config_to_query`: the training
  configuration in a shareable URL, with a message for each refused value.
* :func:`comparison_rows` / :func:`comparison_curves`: the Compare page's table
  and curves.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rnn_demo.config import ARCHITECTURE_NAMES, ConfigError, TrainConfig
from rnn_demo.data import DataError, Dataset
from rnn_demo.limits import HostLimits, TrainingQueue

POLL_SECONDS = 0.5  # how often a waiting job asks the queue again (and the live view redraws)
LIVE_VALIDATION_POINTS = 15  # validation passes per run, for a readable live curve

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
}


def expected_errors() -> tuple[type[BaseException], ...]:
    """The error types that carry a message meant for people.

    Device and model-file errors live in modules that import Keras; they can
    only have been raised if their module is loaded, so they are looked up
    there instead of importing Keras for every page.
    """
    kinds: list[type[BaseException]] = [ConfigError, DataError]
    for module, name in (("rnn_demo.devices", "DeviceError"), ("rnn_demo.persistence", "ModelFileError")):
        if module in sys.modules:
            kinds.append(getattr(sys.modules[module], name))
    return tuple(kinds)


@dataclass(frozen=True, eq=False)
class InteractiveModel:
    """A model the interactive pages can use: its NumPy twin and what to say about it.

    ``key`` identifies it in the model picker; ``numpy_model`` is a
    :class:`rnn_demo.trace.NumpyModel`; ``dataset`` names the data it learned.
    """

    key: str
    label: str
    arch: str
    dataset: str
    description: str
    numpy_model: object


# How far the NumPy twin of an uploaded model may stray from Keras's own logits.
UPLOAD_PARITY = 1e-4


def uploaded_interactive_model(loaded, key: str, check_images) -> InteractiveModel:
    """Wrap an uploaded model (a :class:`~rnn_demo.persistence.LoadedModel`) for the pages.

    The pages compute with the model's NumPy twin, so it must compute what
    Keras computes: built like this app's models (``recurrent_1`` … SimpleRNN,
    GRU or LSTM layers, a Dense head ``logits``) and, checked on
    ``check_images`` ``(n, 16, 16)``, the same logits. Anything else raises
    :class:`~rnn_demo.persistence.ModelFileError` with a message for the visitor.
    """
    import numpy as np

    from rnn_demo.persistence import ModelFileError
    from rnn_demo.trace import NumpyModel

    name = loaded.path.name
    try:
        numpy_model = NumpyModel.from_keras(loaded.model)
        ours = numpy_model.predict_logits(check_images)
    except ValueError as error:
        raise ModelFileError(
            f"{name}: the app can only read models built like its own (SimpleRNN, GRU or LSTM "
            f"layers named recurrent_1, recurrent_2, … and a Dense head named logits): {error}"
        ) from error
    theirs = np.asarray(loaded.model.predict_on_batch(check_images))
    if not np.allclose(ours, theirs, atol=UPLOAD_PARITY):
        raise ModelFileError(
            f"{name}: its layers are named like this app's, but it computes something else "
            "(extra layers or settings the app cannot look inside)"
        )
    meta = loaded.metadata
    arch = meta.get("arch")
    accuracy = meta.get("val_accuracy")
    description = (
        f"Uploaded by you ({name}, kept in this session only): "
        + (f"{ARCHITECTURE_NAMES[arch]}, " if arch in ARCHITECTURE_NAMES else "")
        + (f"{meta['iterations']} iterations, " if "iterations" in meta else "")
        + (f"validation accuracy {accuracy:.1%} when saved." if isinstance(accuracy, float)
           else "no training record inside.")
    )
    return InteractiveModel(
        key, f"Uploaded: {name}", arch or "custom", meta.get("dataset", "mnist"), description,
        numpy_model,
    )


@dataclass(eq=False)
class TrainedModel:
    """A finished run of this session: the engine's result and its NumPy twin."""

    number: int
    result: object  # rnn_demo.training.TrainingResult
    numpy_model: object  # rnn_demo.trace.NumpyModel

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
    ``last`` is the latest :class:`~rnn_demo.training.Progress` (None before
    the first iteration); ``index`` is the config being trained (0-based);
    ``queue_state`` says where the job stands in the server's queue.
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
    slot of the shared queue busy until the end.
    """

    def __init__(self, event: threading.Event, session_alive):
        self.event = event
        self.session_alive = session_alive

    def is_set(self) -> bool:
        return self.event.is_set() or not self.session_alive()


class TrainingJob:
    """Train ``configs`` one after another on ``dataset`` in a background thread.

    The thread first waits for a slot in the server's shared
    :class:`~rnn_demo.limits.TrainingQueue` (keeping its place by asking again
    every ``POLL_SECONDS``), then only calls the engine and writes into this
    object under a lock; the page reads it through :meth:`snapshot`.
    :meth:`stop` ends the current run after its current iteration (the model
    is kept) and skips the rest.
    """

    def __init__(
        self,
        configs: Sequence[TrainConfig],
        dataset: Dataset,
        first_number: int,
        *,
        queue: TrainingQueue | None = None,
        session_alive=lambda: True,
    ):
        self.configs = list(configs)
        self.dataset = dataset
        self.first_number = first_number
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
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._work, name="rnn-demo-training", daemon=True)

    def start(self) -> TrainingJob:
        # Imported here, in the script thread, so the thread never pays (or
        # races on) TensorFlow's import.
        import rnn_demo.trace  # noqa: F401
        import rnn_demo.training  # noqa: F401

        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()

    def _record(self, progress) -> None:
        with self._lock:
            train_loss, val_iterations, val_loss, val_accuracy = self._curves
            train_loss.append(progress.train_loss)
            if progress.val_loss is not None:
                val_iterations.append(progress.iteration)
                val_loss.append(progress.val_loss)
                val_accuracy.append(progress.val_accuracy)
            self._last = progress

    def _work(self) -> None:
        from rnn_demo.trace import NumpyModel
        from rnn_demo.training import train

        try:
            if self.queue is not None and not self._wait_for_slot():
                return
            for index, config in enumerate(self.configs):
                if self._stop_signal.is_set():
                    break
                with self._lock:
                    self._index, self._curves, self._last = index, ([], [], [], []), None
                every = max(1, math.ceil(config.iterations / LIVE_VALIDATION_POINTS))
                result = train(
                    config, self.dataset, on_progress=self._record, stop=self._stop_signal,
                    validate_every=every,
                )
                trained = TrainedModel(self.first_number + index, result, NumpyModel.from_keras(result.model))
                with self._lock:
                    self._finished.append(trained)
        except Exception as error:  # noqa: BLE001 - the thread must report, never die silently
            with self._lock:
                self._error = str(error) if isinstance(error, expected_errors()) else (
                    f"training failed unexpectedly ({type(error).__name__}: {error})"
                )
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


def config_to_query(config: TrainConfig) -> dict[str, str]:
    """Query parameters for ``config`` (all fields, short names)."""
    values = config.to_dict()
    return {key: f"{values[name]:g}" if kind is float else str(values[name])
            for key, (name, kind) in QUERY_FIELDS.items()}


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
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name} must be {'a number' if kind is float else 'a whole number'}; got {raw!r}") from None
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
