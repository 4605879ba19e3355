"""Shared fixtures: the embedded MNIST sample and models trained on it for real.

Training happens once per test session (session-scoped fixtures) so that the
parity, trace and canvas tests share the same few seconds of ``model.fit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rnn_demo.config import TrainConfig
from rnn_demo.models import build_model, compile_model
from rnn_demo.reduction import reduce_images

SAMPLE_PATH = Path(__file__).resolve().parents[1] / "rnn_demo" / "assets" / "mnist_5k.npz"
TRAINING_DIGITS = 4000


@dataclass(frozen=True)
class EmbeddedDigits:
    """The 5,000 embedded digits split 4,000 / 1,000 after a fixed shuffle.

    Images are uint8 ``(n, 28, 28)`` white on black; labels uint8 ``(n,)``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray


@pytest.fixture(scope="session")
def embedded_digits() -> EmbeddedDigits:
    with np.load(SAMPLE_PATH) as sample:
        images, labels = sample["x"], sample["y"]
    order = np.random.default_rng(0).permutation(len(labels))
    train, valid = order[:TRAINING_DIGITS], order[TRAINING_DIGITS:]
    return EmbeddedDigits(images[train], labels[train], images[valid], labels[valid])


def train_for_real(config: TrainConfig, digits: EmbeddedDigits, epochs: int):
    """Build ``config``'s model and fit it on the 4,000 training digits (16×16).

    With batch 500 one epoch is 8 Adam steps; returns the trained Keras model.
    """
    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    compile_model(model, config.learning_rate)
    model.fit(
        reduce_images(digits.x_train),
        digits.y_train,
        batch_size=config.batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
    )
    return model


@pytest.fixture(scope="session")
def trained_lstm(embedded_digits):
    """The chapter's LSTM recipe (hidden 64, lr 0.01, batch 500), 96 Adam steps."""
    return train_for_real(TrainConfig(arch="lstm"), embedded_digits, epochs=12)
