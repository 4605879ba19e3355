"""What a training run reports, as plain values: no Keras, no TensorFlow.

The engine (:mod:`rnn_demo.engine.training`, in a worker process) produces these;
the web process receives them and draws from them, so this module must stay
importable without a Keras backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rnn_demo.config import TrainConfig


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Progress:
    """What the engine reports after each iteration (1-based ``iteration``).

    ``val_loss``/``val_accuracy`` are set only on iterations where the whole
    validation set was scored; ``samples_per_second`` counts training samples
    over wall time so far.
    """

    iteration: int
    iterations: int
    train_loss: float
    val_loss: float | None
    val_accuracy: float | None
    elapsed_seconds: float
    samples_per_second: float

    @property
    def seconds_left(self) -> float:
        if self.iteration == 0:
            return float("nan")
        return self.elapsed_seconds / self.iteration * (self.iterations - self.iteration)


@dataclass
class History:
    """Curves: training loss per iteration; validation at scored iterations."""

    train_loss: list[float] = field(default_factory=list)
    val_iterations: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "train_loss": self.train_loss,
            "val_iterations": self.val_iterations,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
        }


@dataclass
class RunRecord:
    """A finished (or stopped, or diverged) run, without its Keras model.

    What a training worker sends back to the web process (all plain values
    and NumPy arrays). ``status`` is ``"completed"``, ``"stopped"`` or
    ``"diverged"``; ``message`` says what happened in one sentence.
    ``confusion[true, predicted]`` counts validation images;
    ``val_predictions`` are the predicted classes ``(n_valid,)``.
    """

    config: TrainConfig
    dataset: str
    data_source: str
    data_description: str
    n_train: int
    n_valid: int
    status: str
    message: str
    iterations_done: int
    history: History
    val_loss: float
    val_accuracy: float
    confusion: np.ndarray
    val_predictions: np.ndarray
    train_seconds: float
    samples_per_second: float
    device: str
    backend: str
    params: int

    def summary(self) -> dict:
        """JSON-ready figures (what ``train --json`` prints)."""
        return {
            "arch": self.config.arch,
            "params": self.params,
            "dataset": self.dataset,
            "data_source": self.data_source,
            "data_description": self.data_description,
            "n_train": self.n_train,
            "n_valid": self.n_valid,
            "iterations": self.iterations_done,
            "status": self.status,
            "message": self.message,
            "val_accuracy": round(self.val_accuracy, 6),
            "val_loss": round(self.val_loss, 6),
            "train_seconds": round(self.train_seconds, 3),
            "samples_per_second": round(self.samples_per_second, 1),
            "device": self.device,
            "backend": self.backend,
            "config": self.config.to_dict(),
        }
