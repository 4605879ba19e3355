"""Watch it learn: a fixed handful of validation digits, read by a model while it trains.

The digits are the same for every visitor and every run: the first validation
digit of each class (:func:`showcase_indices`), so a class sees the network go
from guessing to reading the *same* ten digits. :func:`read_showcase` runs a
model's NumPy twin (built from the latest weights the worker sent, see
:func:`rnn_demo.compute.jobs.train`) on them::

    indices = showcase_indices(dataset.y_valid)                     # (10,)
    reading = read_showcase(numpy_model, dataset.valid_sequences[indices])
    reading.guesses        # (10,) predicted classes
    reading.readout        # (10, 16, 10) probabilities had each image ended after row t

Plain NumPy (no Keras, no Streamlit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_demo.twins.model import NumpyModel


def showcase_indices(labels, classes: int = 10) -> np.ndarray:
    """``(k,)`` the index of the first digit of each class present in ``labels`` ``(n,)``, by class."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"expected labels of shape (n,); got {labels.shape}")
    return np.array([int(np.flatnonzero(labels == label)[0]) for label in range(classes)
                     if np.any(labels == label)], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class ShowcaseReading:
    """What a model makes of the showcase digits: ``readout`` ``(k, 16, 10)`` (row t:
    probabilities had the image ended after row t), ``probabilities`` ``(k, 10)``
    (after all 16 rows) and ``guesses`` ``(k,)``."""

    readout: np.ndarray
    probabilities: np.ndarray
    guesses: np.ndarray


def read_showcase(numpy_model: NumpyModel, images) -> ShowcaseReading:
    """Read ``images`` ``(k, 16, 16)`` with ``numpy_model``: one batch, a few milliseconds."""
    readout = numpy_model.predict_readout(images)  # (k, 16, 10)
    probabilities = readout[:, -1]  # after all 16 rows: the model's own answer
    return ShowcaseReading(readout, probabilities, probabilities.argmax(axis=-1))
