"""How a training run is scored: each step's batch loss, and the validation set when scheduled.

:class:`BatchLoss` is the metric compiled into every model, so each step reports
its own batch's loss; :func:`validation_schedule` says after which iterations the
whole validation set is scored, and :func:`score` scores it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from rnn_demo.config import ConfigError
from rnn_demo.engine.models import CLASSES

# Intermediate validation passes may cost about this fraction of the training
# samples (a forward pass is ~1/3 of a training step, so ~3 % of the time).
VALIDATION_BUDGET = 0.1
MAX_VALIDATION_POINTS = 20
PREDICT_BATCH = 2000


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
