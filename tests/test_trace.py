"""The trace's promises beyond parity: shapes, readout meaning, row importance, speed."""

from __future__ import annotations

import time

import keras
import numpy as np
import pytest

from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.data.reduction import reduce_images
from rnn_demo.engine.models import build_model
from rnn_demo.twins.model import NumpyModel, softmax

HIDDEN_UNITS = 10
EXPECTED_ARRAYS = {
    "rnn": {"hidden", "pre_activation"},
    "birnn": {"hidden", "pre_activation"},
    "deep": {"hidden", "update_gate", "reset_gate", "candidate"},
    "gru": {"hidden", "update_gate", "reset_gate", "candidate"},
    "lstm": {"hidden", "input_gate", "forget_gate", "candidate", "output_gate", "cell"},
    "bilstm": {"hidden", "input_gate", "forget_gate", "candidate", "output_gate", "cell"},
}


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def random_model(request) -> keras.Model:
    """A small model of each architecture with random weights and biases."""
    model = build_model(TrainConfig(arch=request.param, hidden_units=HIDDEN_UNITS))
    rng = np.random.default_rng(7)
    model.set_weights(
        [rng.normal(0.0, 0.6, weight.shape).astype(np.float32) for weight in model.get_weights()]
    )
    return model


@pytest.fixture(scope="module")
def images(embedded_digits) -> np.ndarray:
    """Six real validation digits, ``(6, 16, 16)`` float32."""
    return reduce_images(embedded_digits.x_valid[:6])


def test_trace_shapes_and_names(random_model, images):
    arch = random_model.name.removesuffix("_classifier")
    trace = NumpyModel.from_keras(random_model).trace(images[0])
    config = TrainConfig(arch=arch)
    bidirectional = arch in ("birnn", "bilstm")
    expected_layers = [
        (f"recurrent_{index}", direction)
        for index in range(1, config.recurrent_layers + 1)
        for direction in (("forward", "backward") if bidirectional else ("forward",))
    ]
    assert [(layer.name, layer.direction) for layer in trace.layers] == expected_layers
    for layer in trace.layers:
        assert set(layer.arrays) == EXPECTED_ARRAYS[arch]
        for name, values in layer.arrays.items():
            assert values.shape == (16, HIDDEN_UNITS), name
            assert values.dtype == np.float32, name
    assert trace.readout_probabilities.shape == (16, 10)
    np.testing.assert_allclose(trace.readout_probabilities.sum(axis=1), 1.0, atol=1e-6)
    assert trace.logits.shape == trace.probabilities.shape == (10,)
    assert trace.row_importance.shape == (16,)
    assert trace.predicted_class == int(np.argmax(trace.probabilities))
    np.testing.assert_allclose(trace.readout_probabilities[-1], trace.probabilities, atol=1e-6)


def test_gates_are_probabilities_and_lstm_cell_obeys_its_update(random_model, images):
    trace = NumpyModel.from_keras(random_model).trace(images[1])
    for layer in trace.layers:
        for name in ("input_gate", "forget_gate", "output_gate", "update_gate", "reset_gate"):
            if name in layer.arrays:
                assert np.all((layer.arrays[name] >= 0) & (layer.arrays[name] <= 1)), name
        if layer.kind == "lstm":
            arrays = layer.arrays
            # Stored in reading order: the backward direction's "previous" step is row t + 1.
            step = 1 if layer.direction == "forward" else -1
            previous = np.roll(arrays["cell"], step, axis=0)
            first = 0 if step == 1 else -1
            previous[first] = 0.0
            np.testing.assert_allclose(
                arrays["cell"],
                arrays["forget_gate"] * previous + arrays["input_gate"] * arrays["candidate"],
                atol=1e-6,
            )
            np.testing.assert_allclose(
                arrays["hidden"], arrays["output_gate"] * np.tanh(arrays["cell"]), atol=1e-6
            )


def test_readout_at_step_t_is_the_model_run_on_rows_1_to_t(random_model, images):
    """Keras's own layers applied to every prefix of the image (shared weights,
    variable-length input) give the readout, for the bidirectional models too."""
    sequence = keras.Input(shape=(None, 16))
    hidden = sequence
    for layer in random_model.layers:
        if layer.name.startswith("recurrent_") or layer.name == "logits":
            hidden = layer(hidden)
    prefix_model = keras.Model(sequence, hidden)
    image = images[2]
    expected = np.stack(
        [np.asarray(prefix_model(image[None, : rows + 1], training=False))[0] for rows in range(16)]
    )
    trace = NumpyModel.from_keras(random_model).trace(image)
    np.testing.assert_allclose(trace.readout_logits, expected, atol=1e-5)
    np.testing.assert_allclose(trace.readout_probabilities, softmax(expected), atol=1e-5)


def test_row_importance_is_the_drop_when_each_row_is_blanked(random_model, images):
    image = images[3]
    blanked = np.repeat(image[None], 16, axis=0)
    blanked[np.arange(16), np.arange(16)] = 0.0  # copy t has row t set to 0
    original = softmax(np.asarray(random_model(image[None], training=False)))[0]
    predicted = int(np.argmax(original))
    after = softmax(np.asarray(random_model(blanked, training=False)))[:, predicted]
    trace = NumpyModel.from_keras(random_model).trace(image)
    assert trace.predicted_class == predicted
    np.testing.assert_allclose(trace.row_importance, original[predicted] - after, atol=1e-5)


def test_batch_trace_equals_one_by_one_and_predict_probabilities(random_model, images):
    numpy_model = NumpyModel.from_keras(random_model)
    batch = numpy_model.trace_many(images)
    probabilities = numpy_model.predict_probabilities(images)
    assert probabilities.shape == (len(images), 10)
    for index, trace in enumerate(batch):
        single = numpy_model.trace(images[index])  # as the app traces one digit
        np.testing.assert_allclose(trace.readout_probabilities, single.readout_probabilities)
        np.testing.assert_allclose(trace.row_importance, single.row_importance, atol=1e-7)
        np.testing.assert_allclose(probabilities[index], single.probabilities, atol=1e-6)
        for batched_layer, single_layer in zip(trace.layers, single.layers, strict=True):
            for name in batched_layer.arrays:
                np.testing.assert_allclose(
                    batched_layer.arrays[name], single_layer.arrays[name], atol=1e-7
                )


def test_weights_are_copied_once():
    model = build_model(TrainConfig(arch="gru", hidden_units=4))
    numpy_model = NumpyModel.from_keras(model)
    image = np.full((16, 16), 0.5, dtype=np.float32)
    before = numpy_model.predict_logits(image)
    model.set_weights([weight + 1.0 for weight in model.get_weights()])
    np.testing.assert_array_equal(numpy_model.predict_logits(image), before)


@pytest.mark.parametrize("shape", [(16,), (16, 15), (2, 16, 17), (1, 1, 16, 16)])
def test_bad_image_shapes_are_refused(shape):
    numpy_model = NumpyModel.from_keras(build_model(TrainConfig(arch="rnn", hidden_units=4)))
    with pytest.raises(ValueError, match="expected images of shape"):
        numpy_model.predict_probabilities(np.zeros(shape, dtype=np.float32))


def test_trace_takes_exactly_one_image_and_names_missing_layers(images):
    numpy_model = NumpyModel.from_keras(build_model(TrainConfig(arch="rnn", hidden_units=4)))
    with pytest.raises(ValueError, match="one \\(16, 16\\) image"):
        numpy_model.trace(images)
    with pytest.raises(ValueError, match="no layer 'recurrent_2'"):
        numpy_model.trace(images[0]).layer("recurrent_2")


def test_a_model_without_recurrent_layers_is_refused():
    inputs = keras.Input(shape=(16, 16), name="rows")
    model = keras.Model(
        inputs, keras.layers.Dense(10, name="logits")(keras.layers.Flatten()(inputs))
    )
    with pytest.raises(ValueError, match="recurrent_1"):
        NumpyModel.from_keras(model)


def test_tracing_one_image_takes_milliseconds(images):
    """The pages trace on every stroke; a full 3-layer GRU trace (hidden 64) must
    stay far below an eager Keras call (20–150 ms here). Generous bound for noisy CI."""
    numpy_model = NumpyModel.from_keras(build_model(TrainConfig(arch="deep")))
    numpy_model.trace(images[0])
    durations = []
    for _ in range(15):
        start = time.perf_counter()
        numpy_model.trace(images[0])
        durations.append(time.perf_counter() - start)
    assert np.median(durations) < 0.025
