"""The models the package ships: one per architecture, and how they are scored.

``rnn_demo/assets/models/<arch>.keras`` (with its NumPy twin ``<arch>.npz``
beside it) for each of the six architectures, so no page trains on the
server unasked. Each is made by one CLI command, recorded in docs/models.md
with its seed and data: augmentation on, trained on the embedded sample's 4,000
training digits only, so the sample's 1,000 validation digits are real MNIST
digits it never saw.

:func:`shipped_scores` gives the figures docs/models.md reports: accuracy on
those held-out digits, on the drawn-digit set (:mod:`rnn_demo.data.drawn_digits`)
and on the font set (:mod:`rnn_demo.data.font_digits`), and the expected
calibration error (:func:`calibration_error`) on the held-out digits. Keras is
imported only when a ``.keras`` file is scored; the twin needs NumPy alone.
"""

from __future__ import annotations

import json
import os
import zipfile
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


CALIBRATION_BINS = 15  # the usual choice for the expected calibration error (Guo et al., 2017)
# The temperature is fitted on augmented versions of the training digits (the
# digits themselves are read almost perfectly, so they would call for more
# confidence, not less), seeded apart from any training run's iterations.
CALIBRATION_SEED = 22
CALIBRATION_ITERATION = 10**9
CALIBRATION_PASSES = 2  # each training digit twice, differently augmented: 8,000 digits


@dataclass(frozen=True)
class ShippedScores:
    """Accuracy on the held-out real digits, the drawn set and the font set, with
    their counts; the expected calibration error on the held-out digits of the
    model's own probabilities and of those at its stored ``temperature`` (1 when none)."""

    held_out_accuracy: float
    held_out_count: int
    drawn_accuracy: float
    drawn_count: int
    font_accuracy: float
    font_count: int
    held_out_calibration_error: float
    temperature: float
    calibrated_error: float


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(labels)).mean())


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``(n, 10)`` probabilities from logits divided by ``temperature``, float64."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    probabilities = np.exp(scaled)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def calibration_error(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0,
                      bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: how far the top probability is from the accuracy.

    The digits are put into ``bins`` equal-width bins by their top probability;
    the error is the mean, weighted by each bin's share of the digits, of
    ``|accuracy in the bin − mean top probability in the bin|``. 0 means a top
    probability of 0.9 is right 90 % of the time.
    """
    probabilities = softmax(logits, temperature)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)  # bins (lo, hi]
    error = 0.0
    for index in range(bins):
        inside = which == index
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature ``T`` (0.25–8) whose ``softmax(logits / T)`` has the least
    cross-entropy on ``labels``: a golden-section search on ``log T``."""
    logits = np.asarray(logits, dtype=np.float64)
    rows = np.arange(len(labels))

    def loss(log_temperature: float) -> float:
        return float(-np.log(softmax(logits, np.exp(log_temperature))[rows, labels] + 1e-300).mean())

    low, high = np.log(0.25), np.log(8.0)
    golden = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        left, right = high - golden * (high - low), low + golden * (high - low)
        if loss(left) < loss(right):
            high = right
        else:
            low = left
    return float(np.exp((low + high) / 2))


def calibration_digits() -> tuple[np.ndarray, np.ndarray]:
    """``(n, 16, 16)`` augmented training digits and their labels, to fit a temperature on."""
    from rnn_demo.data.augment import augmented_sequences
    from rnn_demo.data.sources import load_embedded

    digits = load_embedded()
    plan = np.tile(np.arange(digits.n_train), CALIBRATION_PASSES).reshape(-1, 500)
    sequences = augmented_sequences(digits.x_train, plan, CALIBRATION_SEED, CALIBRATION_ITERATION)
    return sequences, digits.y_train[plan.reshape(-1)]


def calibrate(path: str | os.PathLike) -> float:
    """Fit the temperature of the model at ``path`` (through its twin) on
    :func:`calibration_digits` and store it in both files' metadata as ``temperature``."""
    from rnn_demo.engine.persistence import METADATA_ENTRY
    from rnn_demo.twins.twin_file import load_twin, save_twin, twin_path

    twin = load_twin(twin_path(path))
    sequences, labels = calibration_digits()
    temperature = round(fit_temperature(twin.numpy_model.predict_logits(sequences), labels), 4)
    save_twin(twin_path(path), twin.numpy_model, {**twin.metadata, "temperature": temperature})
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            if info.filename == METADATA_ENTRY:
                data = json.dumps({**json.loads(data), "temperature": temperature}, indent=2).encode()
            archive.writestr(info, data)
    return temperature


def shipped_scores(path: str | os.PathLike, *, twin: bool = False) -> ShippedScores:
    """Score the model at ``path`` (``.keras``; with ``twin=True``, its ``.npz``
    twin through NumPy) on the embedded sample's 1,000 validation digits, the
    drawn-digit set and the font set."""
    from rnn_demo.data.drawn_digits import drawn_digit_set
    from rnn_demo.data.font_digits import font_digit_set
    from rnn_demo.data.sources import load_embedded

    digits = load_embedded()
    drawn = drawn_digit_set()
    fonts = font_digit_set()
    if twin:
        from rnn_demo.twins.twin_file import load_twin, twin_path

        loaded = load_twin(twin_path(path))
        predict, temperature = loaded.numpy_model.predict_logits, loaded.metadata.get("temperature", 1.0)
    else:
        from rnn_demo.engine.persistence import METADATA_ENTRY, load_model

        model = load_model(path).model
        with zipfile.ZipFile(path) as archive:
            temperature = json.loads(archive.read(METADATA_ENTRY)).get("temperature", 1.0)

        def predict(sequences: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict_on_batch(sequences))

    held_out = predict(digits.valid_sequences)
    return ShippedScores(
        _accuracy(held_out, digits.y_valid), digits.n_valid,
        _accuracy(predict(drawn.sequences), drawn.labels), len(drawn.labels),
        _accuracy(predict(fonts.sequences), fonts.labels), len(fonts.labels),
        calibration_error(held_out, digits.y_valid), temperature,
        calibration_error(held_out, digits.y_valid, temperature),
    )
