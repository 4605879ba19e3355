"""The training engine: the chapter's iteration-based loop on Keras's compiled step.

Each iteration is one optimiser step on one random minibatch. Batches are
drawn up front from a seeded NumPy generator, epoch by epoch (every training
image once per pass, in a fresh random order), so the same seed gives the same
batches on every backend.

The loop calls the model's own compiled training step (Keras's
``train_function``, the step ``fit`` runs) once per batch, straight from
NumPy arrays: no ``fit``, no ``tf.data`` pipeline. That removes TensorFlow
``fit``'s clean-up stall (it sat up to seconds after the last step in many
short runs), so the result is ready as soon as the last step and the final
validation pass are done, and each iteration's loss is read as it happens.

A process that hands each result on at once (a worker turns the model into
its NumPy twin) can keep compiled models (:func:`keep_compiled_models`): the
next run of the same architecture and size then resets the kept model's
weights to the seed's initial ones and its optimiser to zero, and starts at
once instead of tracing the step again (seconds). A worker's warm-up turns
this on and runs the chapter's recipe, so a click on it finds the step compiled.

On TensorFlow the recurrent layers are unrolled where that wins (the 16
timesteps written out: the same weights and arithmetic, no loop), chosen per
architecture by measurement (:data:`TF_STEP_OPTIONS`); XLA where it wins (the GRUs).

With ``config.augment`` each chunk's batches are made from the 28×28 images
by :func:`rnn_demo.data.augment.augmented_sequences` (seeded by the seed and the
iteration), the next chunk prepared in a background thread while the current
one trains; without it the engine feeds the reduced images as they are.

The engine knows nothing about any UI: callers pass ``on_progress`` (called
after every iteration with a :class:`Progress`) and a ``stop`` object with an
``is_set()`` method (e.g. ``threading.Event``).
"""

from __future__ import annotations

import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops
from keras.src.backend.common import global_state
from keras.src.random import seed_generator
from keras.src.utils import rng_utils

from rnn_demo.config import ConfigError, TrainConfig
from rnn_demo.data.augment import augmented_sequences
from rnn_demo.data.sources import Dataset
from rnn_demo.engine.devices import Device, backend_name, resolve_device
from rnn_demo.engine.models import CLASSES, build_model, compile_model
from rnn_demo.engine.records import History, Progress, RunRecord, StopSignal

# With augmentation, chunks are this many iterations: short enough that the
# first is ready at once and the next is prepared in a thread while this one
# trains, long enough that the hand-off between them is rare.
AUGMENT_CHUNK_ITERATIONS = 50
# (unroll the 16 timesteps, XLA) per architecture on the TensorFlow backend,
# chosen by measurement on the 2-core CPU. Unrolled, a step cost 47 % less CPU
# for the bidirectional RNN and 15 % less for the bidirectional LSTM, and tracing
# the first step cost less for the basic and bidirectional RNN (0.9 s vs 1.3 s).
# The LSTM is unrolled too since workers train with one thread each: the
# chapter's recipe (warmed up by every worker, so its trace is paid before any
# click) then trains in 2.1-2.3 s instead of 2.4-3.0 s (medians of four warm
# runs, three fresh processes each, same accuracy). XLA wins on the GRUs: their
# steps, compared in one process, took 1.7x (GRU) and 1.4x (deep GRU) less time
# with one thread and 2.4x and 2x less with two; in whole 100-iteration runs
# (fresh processes, alternating) a GRU step took 22-23 ms instead of 36-44 ms
# with one thread and a deep GRU step 58-68 ms instead of 78-88 ms with two.
# Compiling costs ~1 s more than the plain trace: with one thread, as the app's
# workers train (each compiles a shape once), whole runs of the chapter's 100
# iterations still ended 0.3-0.5 s sooner; with two threads a fresh process's
# GRU run ended ~1 s later (bench/bench_peers.py) and a deep GRU's level. Same accuracy.
# Unrolled under XLA the GRU's step was faster still (16 ms) but compiling took
# 3.8-4.8 s. XLA gained nothing on the LSTM (21-25 ms either way, 1-2 s more to
# compile) and lost on the basic and bidirectional RNN.
TF_STEP_OPTIONS: dict[str, tuple[bool, bool]] = {
    "rnn": (True, False),
    "birnn": (True, False),
    "deep": (False, True),
    "lstm": (True, False),
    "gru": (False, True),
    "bilstm": (True, False),
}
# Compiled models kept per process (each a few MiB with its traced steps):
# the chapter's recipe, warmed by the worker, and the visitor's latest other choice.
COMPILED_MODELS = 2
# Initial weights kept per compiled model, by seed (a new seed costs one throwaway build).
INITIAL_WEIGHTS_PER_MODEL = 4
# Intermediate validation passes may cost about this fraction of the training
# samples (a forward pass is ~1/3 of a training step, so ~3 % of the time).
VALIDATION_BUDGET = 0.1
MAX_VALIDATION_POINTS = 20
PREDICT_BATCH = 2000
# Guessing uniformly costs ln(10) ≈ 2.30; a batch loss ten times that means the
# model is confidently wrong everywhere, which in practice only a blown-up
# optimisation produces (checked on all six architectures: learning rates up
# to 0.1 stay below 20, while NaN/inf or hundreds follow from too large a rate).
DIVERGENCE_LOSS = 10 * math.log(CLASSES)


@dataclass
class TrainingResult(RunRecord):
    """A :class:`RunRecord` with the trained Keras model (last field)."""

    model: keras.Model

    def record(self) -> RunRecord:
        """The same run without its model, safe to send to another process."""
        values = {name: getattr(self, name) for name in RunRecord.__dataclass_fields__}
        return RunRecord(**values)


@dataclass(frozen=True)
class Scores:
    loss: float
    accuracy: float
    predictions: np.ndarray  # (n,) predicted classes
    confusion: np.ndarray  # (10, 10) counts, [true, predicted]


def score(model: keras.Model, sequences: np.ndarray, labels: np.ndarray) -> Scores:
    """Mean softmax cross-entropy and accuracy of ``model`` on ``(n, 16, 16)`` inputs."""
    # predict_on_batch skips predict()'s per-call set-up (~50 ms), which
    # matters for validation passes inside a short training run.
    logits = np.concatenate(
        [
            np.asarray(model.predict_on_batch(sequences[start : start + PREDICT_BATCH]))
            for start in range(0, len(sequences), PREDICT_BATCH)
        ]
    ).astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    labels = np.asarray(labels, dtype=np.int64)
    loss = float(-log_probabilities[np.arange(len(labels)), labels].mean())
    predictions = logits.argmax(axis=1)
    confusion = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    return Scores(loss, float((predictions == labels).mean()), predictions, confusion)


class BatchLoss(keras.metrics.Metric):
    """Cross-entropy of the latest batch alone.

    Keras logs the running mean of the loss over an epoch; the chapter (and
    a live curve) wants each iteration's own loss. Computed from the same
    forward pass as the gradient step, so it costs almost nothing.
    """

    def __init__(self, name: str = "batch_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.value = self.add_variable(shape=(), initializer="zeros", name="value")

    def update_state(self, y_true, y_pred, sample_weight=None):
        losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        self.value.assign(ops.mean(losses))

    def result(self):
        # A tensor, not the variable itself: JAX cannot return a Variable from jit.
        return ops.convert_to_tensor(self.value)

    def reset_state(self):
        self.value.assign(0.0)


def validation_schedule(iterations: int, batch_size: int, n_valid: int, every: int | None) -> set[int]:
    """Iterations after which the whole validation set is scored (always the last)."""
    if every is None:
        affordable = int(VALIDATION_BUDGET * iterations * batch_size / max(n_valid, 1))
        points = max(1, min(MAX_VALIDATION_POINTS, affordable))
        every = math.ceil(iterations / points)
    if every < 1:
        raise ConfigError(f"validation interval must be at least 1; got {every}")
    return set(range(every, iterations + 1, every)) | {iterations}


def batch_plan(n_train: int, batch_size: int, iterations: int, seed: int) -> np.ndarray:
    """``(iterations, batch_size)`` training indices: shuffled passes, cut into batches."""
    if batch_size > n_train:
        raise ConfigError(
            f"batch_size {batch_size} is larger than the training set ({n_train} images)"
        )
    rng = np.random.default_rng(seed)
    per_pass = n_train // batch_size
    passes = math.ceil(iterations / per_pass)
    order = np.concatenate([rng.permutation(n_train)[: per_pass * batch_size] for _ in range(passes)])
    return order[: iterations * batch_size].reshape(iterations, batch_size)


class _Run:
    """State of one training run, advanced by the engine's loop."""

    def __init__(self, model, config, dataset, on_progress, stop, schedule):
        self.model = model
        self.config = config
        self.valid_x = dataset.valid_sequences
        self.valid_y = dataset.y_valid
        self.on_progress = on_progress
        self.stop = stop
        self.schedule = schedule
        self.history = History()
        self.iteration = 0
        self.status = "completed"
        self.last_scores: Scores | None = None
        self.good_weights = model.get_weights()
        self.good_iteration = 0
        self.started = time.perf_counter()

    def after_step(self, batch_loss: float) -> bool:
        """Record one iteration; return True when training must end now."""
        self.iteration += 1
        self.history.train_loss.append(batch_loss)
        if not math.isfinite(batch_loss) or batch_loss > DIVERGENCE_LOSS:
            self.status = "diverged"
            return True
        val_loss = val_accuracy = None
        if self.iteration in self.schedule:
            # Inside fit, the JAX backend keeps the weights outside the model's
            # variables; Keras's hook for callbacks writes them back first.
            sync = getattr(self.model, "jax_state_sync", None)
            if sync is not None:
                sync()
            self.last_scores = score(self.model, self.valid_x, self.valid_y)
            val_loss, val_accuracy = self.last_scores.loss, self.last_scores.accuracy
            self.history.val_iterations.append(self.iteration)
            self.history.val_loss.append(val_loss)
            self.history.val_accuracy.append(val_accuracy)
            if math.isfinite(val_loss) and val_loss <= DIVERGENCE_LOSS:
                self.good_weights = self.model.get_weights()
                self.good_iteration = self.iteration
        elapsed = time.perf_counter() - self.started
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    self.iteration, self.config.iterations, batch_loss, val_loss, val_accuracy,
                    elapsed, self.iteration * self.config.batch_size / max(elapsed, 1e-9),
                )
            )
        if self.stop is not None and self.stop.is_set() and self.iteration < self.config.iterations:
            self.status = "stopped"
            return True
        return False


@dataclass
class _Compiled:
    """A compiled model and the initial weights of the seeds it has started from."""

    model: keras.Model
    initial_weights: OrderedDict = field(default_factory=OrderedDict)


_compiled: OrderedDict[tuple, _Compiled] = OrderedDict()
_keep_compiled = False


def keep_compiled_models(enabled: bool = True) -> None:
    """Keep (or stop keeping) compiled models for the next run of the same shape.

    Off by default: a kept model is the next run's model, so a caller holding
    a :class:`TrainingResult` would see its model retrained. Turn it on in a
    process that uses each result before it starts the next run.
    """
    global _keep_compiled
    _keep_compiled = enabled
    if not enabled:
        _compiled.clear()


def keeps_compiled_models() -> bool:
    """Whether :func:`keep_compiled_models` is on in this process."""
    return _keep_compiled


def step_options(arch: str) -> tuple[bool, bool | str]:
    """``(unroll, jit_compile)`` the engine uses for ``arch`` on this backend."""
    if backend_name() == "tensorflow":
        return TF_STEP_OPTIONS[arch]
    # JAX compiles the whole step either way (XLA): keep the backend's defaults.
    return False, "auto"


def compiled_model(config: TrainConfig, device: Device | None = None) -> keras.Model:
    """A compiled model of ``config``'s shape, set to the seed's initial weights.

    A new model is built and compiled (its step is traced on first use)
    unless :func:`keep_compiled_models` is on and one of this shape is kept:
    that one is reused, its weights back to the ones a fresh build with
    ``config.seed`` gets, its optimiser state zero, its learning rate
    ``config.learning_rate``. A run on a reused model is the same run, step
    for step, as on a fresh one, minus the tracing.
    """
    device = device or resolve_device(config.device)
    unroll, jit_compile = step_options(config.arch)
    key = (backend_name(), device.keras_name, config.arch, config.hidden_units, config.recurrent_layers)
    entry = _compiled.pop(key, None)
    _seed_keras(config.seed)
    with keras.device(device.keras_name):
        if entry is None:
            model = build_model(config, unroll=unroll)
            compile_model(model, config.learning_rate, metrics=[BatchLoss()], jit_compile=jit_compile)
            # Variables that first appear inside a traced step make TensorFlow
            # trace it twice (~1 s more on the first step); create them now.
            model.optimizer.build(model.trainable_variables)
            entry = _Compiled(model)
            entry.initial_weights[config.seed] = model.get_weights()
        else:
            model = entry.model
            weights = entry.initial_weights.pop(config.seed, None)
            if weights is None:
                # A throwaway build draws exactly the seed's initial weights.
                weights = build_model(config, unroll=unroll).get_weights()
            entry.initial_weights[config.seed] = weights
            model.set_weights(weights)
            for variable in model.optimizer.variables:
                variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
            model.optimizer.learning_rate = config.learning_rate
            model.reset_metrics()
    if not _keep_compiled:
        return model
    while len(entry.initial_weights) > INITIAL_WEIGHTS_PER_MODEL:
        entry.initial_weights.popitem(last=False)
    _compiled[key] = entry
    while len(_compiled) > COMPILED_MODELS:
        _compiled.popitem(last=False)
    return model


def _seed_keras(seed: int) -> None:
    """``keras.utils.set_random_seed`` without TensorFlow's global seed.

    Setting TensorFlow's seed (to any value) makes every traced function
    trace again on its next call (measured: 0.3–1.5 s per run), and the
    initial weights do not depend on it: Keras draws them from its own seed
    generator, seeded from Python's ``random``. Nothing else in a run is random.
    """
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)


def _step_function(model: keras.Model) -> Callable[[np.ndarray, np.ndarray], float]:
    """``(x, y) -> batch loss``: one compiled training step on one minibatch.

    On TensorFlow, Keras's own ``train_function`` (the step ``fit`` runs) is
    called directly with the batch in a list, the path ``train_on_batch``
    takes without its per-call metric resets; the first call goes through
    ``train_on_batch``, which builds the loss and metrics and traces the step.
    """
    if backend_name() != "tensorflow":
        return lambda x, y: float(model.train_on_batch(x, y, return_dict=True)["batch_loss"])

    def step(x, y):
        if model.train_function is None:
            return float(model.train_on_batch(x, y, return_dict=True)["batch_loss"])
        # (x, y, sample_weight), as train_on_batch passes it: another structure traces again.
        return float(model.train_function([(x, y, None)])["batch_loss"])

    return step


def _with_weights(on_progress, on_weights, every: int, model) -> Callable[[Progress], None]:
    """``on_progress``, then ``on_weights(model)`` every ``every`` iterations and at the last."""
    if every < 1:
        raise ConfigError(f"weights_every must be at least 1; got {every}")

    def report(progress: Progress) -> None:
        if on_progress is not None:
            on_progress(progress)
        if progress.iteration % every == 0 or progress.iteration == progress.iterations:
            sync = getattr(model, "jax_state_sync", None)  # JAX keeps weights outside fit's model
            if sync is not None:
                sync()
            on_weights(model)

    return report


def train(
    config: TrainConfig,
    dataset: Dataset,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    stop: StopSignal | None = None,
    validate_every: int | None = None,
    on_weights: Callable[[keras.Model], None] | None = None,
    weights_every: int = 1,
) -> TrainingResult:
    """Train ``config``'s model on ``dataset`` and score it on the validation split.

    ``validate_every`` (iterations) defaults to a spacing whose cost stays a
    few per cent of training. A stop request takes effect after the current
    iteration and keeps the model trained so far. A non-finite training loss
    ends the run as ``"diverged"`` and restores the weights of the last
    iteration whose validation loss was sound (or the initial weights); so does
    a loss above :data:`DIVERGENCE_LOSS`.

    ``on_weights`` (optional) is called with the model, its weights current,
    after every ``weights_every``-th iteration and the last (e.g. to show a
    live model's guesses; see :func:`rnn_demo.compute.jobs.train`).

    With :func:`keep_compiled_models` on, the returned model is the one the
    next run of the same shape in this process retrains.
    """
    if dataset.name != config.dataset:
        raise ConfigError(f"config asks for dataset {config.dataset!r} but got {dataset.name!r}")
    if dataset.n_valid == 0:
        raise ConfigError("the dataset has no validation images to score against")
    plan = batch_plan(dataset.n_train, config.batch_size, config.iterations, config.seed)
    schedule = validation_schedule(config.iterations, config.batch_size, dataset.n_valid, validate_every)
    device = resolve_device(config.device)
    model = compiled_model(config, device)
    if on_weights is not None:
        on_progress = _with_weights(on_progress, on_weights, weights_every, model)
    run = _Run(model, config, dataset, on_progress, stop, schedule)
    step = _step_function(model)
    with keras.device(device.keras_name):
        for inputs, labels in _batches(config, dataset, plan):
            if run.after_step(step(inputs, labels)):
                break
    return _finish(run, model, config, dataset, device)


def _batches(config: TrainConfig, dataset: Dataset, plan: np.ndarray) -> Iterator[tuple]:
    """The run's minibatches in order: ``(batch, 16, 16)`` float32 inputs, ``(batch,)`` int32 labels."""
    labels = dataset.y_train.astype(np.int32)
    if not config.augment:
        sequences = dataset.train_sequences
        for indices in plan:
            yield sequences[indices], labels[indices]
        return

    def prepare(start: int) -> np.ndarray:
        chunk = plan[start : start + AUGMENT_CHUNK_ITERATIONS]
        return augmented_sequences(dataset.x_train, chunk, config.seed, start)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="augment") as worker:
        upcoming = worker.submit(prepare, 0)
        for start in range(0, config.iterations, AUGMENT_CHUNK_ITERATIONS):
            inputs = upcoming.result()  # (chunk × batch, 16, 16)
            if start + AUGMENT_CHUNK_ITERATIONS < config.iterations:
                upcoming = worker.submit(prepare, start + AUGMENT_CHUNK_ITERATIONS)
            for offset, batch in enumerate(inputs.reshape(-1, config.batch_size, *inputs.shape[1:])):
                yield batch, labels[plan[start + offset]]


def _finish(run: _Run, model, config: TrainConfig, dataset: Dataset, device: Device) -> TrainingResult:
    train_seconds = time.perf_counter() - run.started
    samples_per_second = run.iteration * config.batch_size / max(train_seconds, 1e-9)
    if run.status == "diverged":
        model.set_weights(run.good_weights)
        kept = f"iteration {run.good_iteration}" if run.good_iteration else "the initial weights"
        message = (
            f"training diverged: the loss reached {run.history.train_loss[-1]:.4g} at iteration "
            f"{run.iteration} (guessing costs {math.log(CLASSES):.2f}); learning rate "
            f"{config.learning_rate:g} is probably too high. Training stopped and the model was "
            f"restored to {kept}"
        )
    elif run.status == "stopped":
        message = f"stopped on request after {run.iteration} of {config.iterations} iterations"
    else:
        message = f"completed {run.iteration} iterations"
    if run.status != "completed" or run.last_scores is None or run.history.val_iterations[-1] != run.iteration:
        run.last_scores = score(model, run.valid_x, run.valid_y)
        if run.status != "diverged":
            run.history.val_iterations.append(run.iteration)
            run.history.val_loss.append(run.last_scores.loss)
            run.history.val_accuracy.append(run.last_scores.accuracy)
    final = run.last_scores
    return TrainingResult(
        model=model, config=config, dataset=dataset.name, data_source=dataset.source,
        data_description=dataset.description, n_train=dataset.n_train, n_valid=dataset.n_valid,
        status=run.status, message=message, iterations_done=run.iteration, history=run.history,
        val_loss=final.loss, val_accuracy=final.accuracy, confusion=final.confusion,
        val_predictions=final.predictions, train_seconds=train_seconds,
        samples_per_second=samples_per_second, device=device.description,
        backend=backend_name(), params=model.count_params(),
    )
