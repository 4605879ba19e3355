"""The training engine: the chapter's iteration-based loop on Keras's own fit.

Each iteration is one optimiser step on one random minibatch. Batches are
drawn up front from a seeded NumPy generator, epoch by epoch (every training
image once per pass, in a fresh random order), so the same seed gives the same
batches on every backend. Training runs through ``model.fit`` on chunks of
pre-assembled batches, so the steps are Keras's compiled ones and the engine
costs no more than a plain ``fit``; a Keras callback reports progress and
honours a stop request after the current step.

With ``config.augment`` each chunk's batches are made from the 28×28 images
by :func:`rnn_demo.augment.augmented_sequences` (seeded by the seed and the
iteration), the next chunk prepared in a background thread while ``fit``
runs the current one; without it the engine feeds the reduced images as
they are, exactly as before augmentation existed.

The engine knows nothing about any UI: callers pass ``on_progress`` (called
after every iteration with a :class:`Progress`) and a ``stop`` object with an
``is_set()`` method (e.g. ``threading.Event``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from rnn_demo.augment import augmented_sequences
from rnn_demo.config import ConfigError, TrainConfig
from rnn_demo.data import Dataset
from rnn_demo.devices import Device, backend_name, resolve_device
from rnn_demo.models import CLASSES, build_model, compile_model
from rnn_demo.records import History, Progress, RunRecord, StopSignal

# Assembled minibatches per fit call are capped at this many bytes: big
# enough that fit's set-up cost is amortised, small enough for any laptop.
CHUNK_BYTES = 256 * 2**20
# With augmentation, chunks are this many iterations: short enough that
# preparing the next one in a thread overlaps with training on this one,
# long enough that fit's per-call set-up stays a small share.
AUGMENT_CHUNK_ITERATIONS = 50
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


class _EngineCallback(keras.callbacks.Callback):
    """Bridges Keras's batch hooks to the engine's progress and stop contract."""

    def __init__(self, engine: _Run):
        super().__init__()
        self.engine = engine

    def on_train_batch_end(self, batch, logs=None):
        if self.engine.after_step(float(logs["batch_loss"])):
            self.model.stop_training = True


class _Run:
    """State of one training run, advanced by the Keras callback."""

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
    live model's guesses; see :func:`rnn_demo.jobs.train`).
    """
    if dataset.name != config.dataset:
        raise ConfigError(f"config asks for dataset {config.dataset!r} but got {dataset.name!r}")
    if dataset.n_valid == 0:
        raise ConfigError("the dataset has no validation images to score against")
    plan = batch_plan(dataset.n_train, config.batch_size, config.iterations, config.seed)
    schedule = validation_schedule(config.iterations, config.batch_size, dataset.n_valid, validate_every)
    device = resolve_device(config.device)
    train_x, train_y = dataset.train_sequences, dataset.y_train.astype(np.int32)
    keras.utils.set_random_seed(config.seed)
    with keras.device(device.keras_name):
        model = build_model(config)
        compile_model(model, config.learning_rate, metrics=[BatchLoss()])
        if on_weights is not None:
            on_progress = _with_weights(on_progress, on_weights, weights_every, model)
        run = _Run(model, config, dataset, on_progress, stop, schedule)
        callback = _EngineCallback(run)
        bytes_per_iteration = config.batch_size * train_x[0].nbytes
        chunk = max(1, CHUNK_BYTES // bytes_per_iteration)
        if not config.augment:
            for start in range(0, config.iterations, chunk):
                indices = plan[start : start + chunk].reshape(-1)
                model.fit(
                    train_x[indices], train_y[indices],
                    batch_size=config.batch_size, epochs=1, shuffle=False,
                    verbose=0, callbacks=[callback],
                )
                if run.status != "completed":
                    break
            return _finish(run, model, config, dataset, device)
        chunk = min(chunk, AUGMENT_CHUNK_ITERATIONS)

        def prepare(start: int) -> np.ndarray:
            return augmented_sequences(dataset.x_train, plan[start : start + chunk], config.seed, start)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="augment") as worker:
            upcoming = worker.submit(prepare, 0)
            for start in range(0, config.iterations, chunk):
                inputs = upcoming.result()
                if start + chunk < config.iterations:
                    upcoming = worker.submit(prepare, start + chunk)
                model.fit(
                    inputs, train_y[plan[start : start + chunk].reshape(-1)],
                    batch_size=config.batch_size, epochs=1, shuffle=False,
                    verbose=0, callbacks=[callback],
                )
                if run.status != "completed":
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
