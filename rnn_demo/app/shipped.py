"""The models the package ships: one per architecture, and how they are scored.

``rnn_demo/assets/models/<arch>.keras`` (with its NumPy twin ``<arch>.npz``
beside it) for each of the six architectures, so no page trains on the
server unasked. Each is made by one CLI command, recorded in docs/models.md
with its seed and data: augmentation on, trained on the embedded sample's 4,000
training digits only, so the sample's 1,000 validation digits are real MNIST
digits it never saw.

:func:`shipped_scores` gives the two figures docs/models.md reports: accuracy on
those held-out digits and on the drawn-digit set
(:mod:`rnn_demo.data.drawn_digits`). Keras is imported only when a ``.keras`` file
is scored; the twin needs NumPy alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnn_demo.config import ARCHITECTURES

SHIPPED_DIR = Path(__file__).parents[1] / "assets" / "models"
SHIPPED_ARCHITECTURES = tuple(ARCHITECTURES)  # rnn, birnn, deep, lstm, gru, bilstm


def shipped_model_path(arch: str) -> Path:
    """``rnn_demo/assets/models/<arch>.keras``."""
    if arch not in SHIPPED_ARCHITECTURES:
        raise ValueError(f"no shipped model for architecture {arch!r}; choose one of {SHIPPED_ARCHITECTURES}")
    return SHIPPED_DIR / f"{arch}.keras"


@dataclass(frozen=True)
class ShippedScores:
    """Accuracy on the held-out real digits and on the drawn set, with their counts."""

    held_out_accuracy: float
    held_out_count: int
    drawn_accuracy: float
    drawn_count: int


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(labels)).mean())


def shipped_scores(path: str | os.PathLike, *, twin: bool = False) -> ShippedScores:
    """Score the model at ``path`` (``.keras``; with ``twin=True``, its ``.npz``
    twin through NumPy) on the embedded sample's 1,000 validation digits and on
    the drawn-digit set."""
    from rnn_demo.data.drawn_digits import drawn_digit_set
    from rnn_demo.data.sources import load_embedded

    digits = load_embedded()
    drawn = drawn_digit_set()
    if twin:
        from rnn_demo.twins.twin_file import load_twin, twin_path

        predict = load_twin(twin_path(path)).numpy_model.predict_logits
    else:
        from rnn_demo.engine.persistence import load_model

        model = load_model(path).model

        def predict(sequences: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict_on_batch(sequences))

    return ShippedScores(
        _accuracy(predict(digits.valid_sequences), digits.y_valid), digits.n_valid,
        _accuracy(predict(drawn.sequences), drawn.labels), len(drawn.labels),
    )
