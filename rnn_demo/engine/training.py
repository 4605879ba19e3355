"""The training engine: the chapter's iteration-based loop on Keras's compiled step.

Each iteration is one optimiser step on one minibatch of the seeded plan
(:mod:`rnn_demo.engine.batches`). The loop calls the model's own compiled
training step (Keras's ``train_function``, the step ``fit`` runs) once per
batch, straight from NumPy arrays: no ``fit``, no ``tf.data`` pipeline, so the
result is ready as soon as the last step and the final validation pass
(:mod:`rnn_demo.engine.scoring`) are done, and each iteration's loss is read as
it happens.

A process that hands each result on at once (a worker turns the model into
its NumPy twin) can keep compiled models (:func:`keep_compiled_models`): the
next run of the same architecture and size then resets the kept model's
weights to the seed's initial ones and its optimiser to zero, and starts at
once instead of tracing the step again. A worker's warm-up turns this on and
runs the chapter's recipe, so a click on it finds the step compiled. On
TensorFlow each architecture's step is unrolled or compiled with XLA, whichever
was measured faster (:data:`TF_STEP_OPTIONS`; see docs/performance.md).

The engine knows nothing about any UI: callers pass ``on_progress`` (called
after every iteration with a :class:`Progress`) and a ``stop`` object with an
``is_set()`` method (e.g. ``threading.Event``).
"""

from __future__ import annotations

import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
from keras.src.backend.common import global_state
from keras.src.random import seed_generator
from keras.src.utils import rng_utils

from rnn_demo.config import ConfigError, TrainConfig
from rnn_demo.data.sources import Dataset
from rnn_demo.engine.batches import batch_plan, minibatches
from rnn_demo.engine.devices import Device, backend_name, resolve_device
from rnn_demo.engine.models import CLASSES, build_model, compile_model
from rnn_demo.engine.records import History, Progress, RunRecord, StopSignal
from rnn_demo.engine.scoring import BatchLoss, Scores, score, validation_schedule

# (unroll the 16 timesteps, compile with XLA) per architecture on the TensorFlow
# backend, whichever was measured faster as the app's workers train (one thread,
# the chapter's 100 iterations, same accuracy): unrolled for the RNNs and LSTMs,
# XLA for the GRUs. The figures: docs/performance.md, "What makes the engine fast".
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
# Guessing uniformly costs ln(10) ≈ 2.30; a batch loss ten times that means the
# model is confidently wrong everywhere, which in practice only a blown-up
# optimisation produces (checked on all six architectures: learning rates up
# to 0.1 stay below 20, while NaN/inf or hundreds follow from too large a rate).
DIVERGENCE_LOSS = 10 * math.log(CLASSES)
# With ``lr_decay``, the rate falls along half a cosine from the configured
# rate at the first step to this fraction of it at the last.
FINAL_RATE_FRACTION = 0.02


@dataclass
class TrainingResult(RunRecord):
    """A :class:`RunRecord` with the trained Keras model (last field)."""

    model: keras.Model

    def record(self) -> RunRecord:
        """The same run without its model, safe to send to another process."""
        values = {name: getattr(self, name) for name in RunRecord.__dataclass_fields__}
        return RunRecord(**values)


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
            _sync_weights(self.model)
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


def learning_rate_at(config: TrainConfig, iteration: int) -> float:
    """The learning rate of 0-based ``iteration``: constant, or cosine-decayed with ``config.lr_decay``."""
    if not config.lr_decay or config.iterations == 1:
        return config.learning_rate
    progress = iteration / (config.iterations - 1)
    fraction = FINAL_RATE_FRACTION + (1 - FINAL_RATE_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress))
    return config.learning_rate * fraction


def _sync_weights(model: keras.Model) -> None:
    """Make the model's variables hold its current weights before they are read.

    While training, the JAX backend keeps the weights outside the model's
    variables; Keras's hook for callbacks (``jax_state_sync``) writes them back.
    """
    sync = getattr(model, "jax_state_sync", None)
    if sync is not None:
        sync()


def _with_weights(on_progress, on_weights, every: int, model) -> Callable[[Progress], None]:
    """``on_progress``, then ``on_weights(model)`` every ``every`` iterations and at the last."""
    if every < 1:
        raise ConfigError(f"weights_every must be at least 1; got {every}")

    def report(progress: Progress) -> None:
        if on_progress is not None:
            on_progress(progress)
        if progress.iteration % every == 0 or progress.iteration == progress.iterations:
            _sync_weights(model)
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
        for iteration, (inputs, labels) in enumerate(minibatches(config, dataset, plan)):
            if config.lr_decay:
                model.optimizer.learning_rate.assign(learning_rate_at(config, iteration))
            if run.after_step(step(inputs, labels)):
                break
    return _finish(run, model, config, dataset, device)


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
