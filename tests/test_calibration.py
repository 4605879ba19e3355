"""Calibration: the expected calibration error, the temperature fit, and storing it with a model."""

import json
import shutil
import zipfile

import numpy as np
import pytest

from rnn_demo.app.models import stored_temperature
from rnn_demo.app.shipped import (
    calibrate,
    calibration_error,
    fit_temperature,
    shipped_model_path,
    softmax,
)
from rnn_demo.data.sources import load_embedded
from rnn_demo.engine.persistence import METADATA_ENTRY, load_model
from rnn_demo.twins.familiarity import head_inputs
from rnn_demo.twins.twin_file import load_twin, twin_path


def sampled(logits: np.ndarray, temperature: float, seed: int = 0) -> np.ndarray:
    """Labels drawn from ``softmax(logits / temperature)``: that temperature is the true one."""
    probabilities = softmax(logits, temperature)
    rng = np.random.default_rng(seed)
    return (probabilities.cumsum(axis=1) > rng.random((len(logits), 1))).argmax(axis=1)


def test_the_error_is_the_weighted_gap_between_confidence_and_accuracy():
    # Two digits at top probability 0.9 (one right), two at 0.6 (both right).
    high, low = np.log(0.9 / (0.1 / 9)), np.log(0.6 / (0.4 / 9))
    logits = np.zeros((4, 10))
    logits[:2, 0] = high
    logits[2:, 0] = low
    labels = np.array([0, 1, 0, 0])
    expected = 0.5 * abs(0.5 - 0.9) + 0.5 * abs(1.0 - 0.6)
    assert calibration_error(logits, labels) == pytest.approx(expected, abs=1e-9)


def test_labels_drawn_from_the_probabilities_are_calibrated_and_sharper_ones_are_not():
    logits = np.random.default_rng(1).normal(0, 3, (20_000, 10))
    labels = sampled(logits, 1.0)
    assert calibration_error(logits, labels) < 0.015
    assert calibration_error(2 * logits, labels) > 0.1


def test_the_fit_finds_the_temperature_the_labels_were_drawn_at():
    logits = np.random.default_rng(2).normal(0, 4, (20_000, 10))
    for temperature in (0.5, 1.0, 2.0):
        assert fit_temperature(logits, sampled(logits, temperature, seed=3)) == pytest.approx(temperature, rel=0.05)


def test_calibrate_stores_the_temperature_in_both_files_and_changes_nothing_else(tmp_path):
    path = tmp_path / "lstm.keras"
    shutil.copy(shipped_model_path("lstm"), path)
    shutil.copy(twin_path(shipped_model_path("lstm")), twin_path(path))
    before = load_twin(twin_path(path))
    temperature = calibrate(path)
    assert 0.5 < temperature < 3.0
    twin = load_twin(twin_path(path))
    assert twin.metadata == {**before.metadata, "temperature": temperature}
    inputs = np.random.default_rng(0).random((8, 16, 16), dtype=np.float32)
    np.testing.assert_array_equal(twin.numpy_model.predict_logits(inputs), before.numpy_model.predict_logits(inputs))
    with zipfile.ZipFile(path) as archive:
        assert json.loads(archive.read(METADATA_ENTRY))["temperature"] == temperature
    model = load_model(path).model  # the rewritten file still loads in safe mode
    np.testing.assert_allclose(model.predict_on_batch(inputs), before.numpy_model.predict_logits(inputs), atol=1e-4)


@pytest.mark.parametrize("stored, used", [
    ({"temperature": 1.2407}, 1.2407), ({"temperature": 2}, 2.0), ({}, 1.0), ({"temperature": "1.2"}, 1.0),
    ({"temperature": True}, 1.0), ({"temperature": 0.0}, 1.0), ({"temperature": float("nan")}, 1.0),
    ({"temperature": 1e9}, 1.0), ({"temperature": [1.2]}, 1.0),
])
def test_a_files_temperature_is_used_only_when_it_is_a_number_the_fit_could_give(stored, used):
    assert stored_temperature(stored) == used


def test_the_pages_probabilities_divide_the_logits_by_the_temperature():
    twin = load_twin(twin_path(shipped_model_path("gru"))).numpy_model
    digits = load_embedded().valid_sequences[:20]
    logits = twin.predict_logits(digits)
    _features, raw = head_inputs(twin, digits)
    _features, calibrated = head_inputs(twin, digits, 1.25)
    np.testing.assert_allclose(raw, softmax(logits), atol=1e-6)
    np.testing.assert_allclose(calibrated, softmax(logits, 1.25), atol=1e-6)
    assert (calibrated.max(axis=1) < raw.max(axis=1)).all()  # softer, as T > 1 makes it
    assert (calibrated.argmax(axis=1) == raw.argmax(axis=1)).all()  # and the same answers
