"""Parity: the NumPy cells and trace reproduce Keras's own layers to 1e-5.

Keras is the trusted reference. Every architecture is checked with random
weights (random, non-zero biases, so a bias in the wrong slot shows) and with
weights trained for real on the embedded digits; the per-step hidden states
of every layer and direction come from a probe model that runs copies of the
layers with ``return_sequences=True``.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import layers

from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.data.reduction import reduce_images
from rnn_demo.engine.models import build_model
from rnn_demo.twins.cells import GRUCell, LSTMCell, SimpleRNNCell, cell_from_keras
from rnn_demo.twins.model import BACKWARD, FORWARD, NumpyModel, run_cell

TOLERANCE = 1e-5
CASES = [(arch, weights) for arch in ARCHITECTURES for weights in ("random", "trained")]


def randomize_weights(model: keras.Model, seed: int) -> None:
    """Every weight, biases included, drawn from N(0, 0.5²)."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.normal(0.0, 0.5, weight.shape).astype(np.float32) for weight in model.get_weights()]
    )


def recurrent_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if layer.name.startswith("recurrent_")]


def keras_hidden_sequences(model: keras.Model, images: np.ndarray) -> dict:
    """(layer name, direction) → Keras's ``(n, 16, units)`` hidden states, from a probe
    model of ``return_sequences=True`` copies of each recurrent layer."""
    inputs = keras.Input(shape=images.shape[1:])
    sequence = inputs
    outputs, copies = {}, []
    for layer in recurrent_layers(model):
        if isinstance(layer, layers.Bidirectional):
            forward = layer.forward_layer
            copy = layers.Bidirectional(
                type(forward).from_config({**forward.get_config(), "return_sequences": True}),
                merge_mode=None,  # keep the two directions apart; Keras flips backward back
            )
            forward_sequence, backward_sequence = copy(sequence)
            outputs[(layer.name, FORWARD)] = forward_sequence
            outputs[(layer.name, BACKWARD)] = backward_sequence
            sequence = layers.Concatenate()([forward_sequence, backward_sequence])
        else:
            copy = type(layer).from_config({**layer.get_config(), "return_sequences": True})
            sequence = copy(sequence)
            outputs[(layer.name, FORWARD)] = sequence
        copies.append((copy, layer))
    for copy, layer in copies:
        copy.set_weights(layer.get_weights())
    probe = keras.Model(inputs, list(outputs.values()))
    values = probe(images, training=False)
    if len(outputs) == 1:  # a one-output Keras model returns the tensor, not a list
        values = [values]
    return {key: np.asarray(value) for key, value in zip(outputs, values, strict=True)}


@pytest.fixture(scope="module")
def parity_images(embedded_digits) -> np.ndarray:
    """24 real validation digits and 8 uniform-noise images, ``(32, 16, 16)`` float32."""
    digits = reduce_images(embedded_digits.x_valid[:24])
    noise = np.random.default_rng(1).random((8, 16, 16), dtype=np.float32)
    return np.concatenate([digits, noise])


@pytest.fixture(scope="module", params=CASES, ids=[f"{arch}-{weights}" for arch, weights in CASES])
def keras_model(request, train_for_real) -> keras.Model:
    arch, weights = request.param
    if weights == "trained":
        # 32 Adam steps at the chapter's settings: real, non-symmetric weights.
        return train_for_real(TrainConfig(arch=arch), epochs=4)
    model = build_model(TrainConfig(arch=arch, hidden_units=12))
    randomize_weights(model, seed=len(arch))
    return model


def test_final_logits_match_keras(keras_model, parity_images):
    expected = np.asarray(keras_model(parity_images, training=False))
    numpy_model = NumpyModel.from_keras(keras_model)
    np.testing.assert_allclose(numpy_model.predict_logits(parity_images), expected, atol=TOLERANCE)
    traces = numpy_model.trace_many(parity_images)
    np.testing.assert_allclose(
        np.stack([trace.logits for trace in traces]), expected, atol=TOLERANCE
    )


def test_every_hidden_state_matches_keras(keras_model, parity_images):
    expected = keras_hidden_sequences(keras_model, parity_images)
    traces = NumpyModel.from_keras(keras_model).trace_many(parity_images)
    layer_keys = [(layer.name, layer.direction) for layer in traces[0].layers]
    assert layer_keys == list(expected)  # every layer, both directions where bidirectional
    for name, direction in layer_keys:
        hidden = np.stack([trace.layer(name, direction).hidden for trace in traces])
        np.testing.assert_allclose(
            hidden, expected[(name, direction)], atol=TOLERANCE, err_msg=f"{name} {direction}"
        )


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def keras_layer_outputs(layer, weights: list[np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """``layer`` (``return_sequences=True``) run by Keras with ``weights`` on ``inputs``."""
    layer.build((None, *inputs.shape[1:]))
    layer.set_weights([weight.astype(np.float32) for weight in weights])
    return np.asarray(layer(inputs.astype(np.float32)))


# One unit, one input, two steps x = 1 then x = −0.5: small enough to do by hand.
SEQUENCE = np.array([[[1.0], [-0.5]]])


def check_by_hand_and_against_keras(cell, expected: list[dict], keras_layer) -> None:
    """``cell``'s records on :data:`SEQUENCE` are the hand-computed ``expected`` (one
    dict per step), and its hidden states are ``keras_layer``'s with the same weights."""
    records = run_cell(cell, SEQUENCE)
    for step, values in enumerate(expected):
        for name, value in values.items():
            assert records[name][0, step, 0] == pytest.approx(value, abs=1e-12), (step, name)
    weights = [cell.kernel, cell.recurrent_kernel, cell.bias]
    keras_hidden = keras_layer_outputs(keras_layer, weights, SEQUENCE)
    np.testing.assert_allclose(records["hidden"], keras_hidden, atol=TOLERANCE)


def test_lstm_gate_order_and_bias_layout_with_known_weights():
    kernel = np.array([[0.5, -1.0, 2.0, 0.25]])  # columns i, f, c̃, o
    recurrent = np.array([[0.3, 0.6, -0.4, 0.9]])
    bias = np.array([0.1, 1.0, -0.2, 0.3])
    hidden = cell = 0.0
    expected = []
    for x in SEQUENCE[0, :, 0]:
        i = sigmoid(0.5 * x + 0.3 * hidden + 0.1)
        f = sigmoid(-1.0 * x + 0.6 * hidden + 1.0)
        candidate = math.tanh(2.0 * x - 0.4 * hidden - 0.2)
        o = sigmoid(0.25 * x + 0.9 * hidden + 0.3)
        cell = f * cell + i * candidate
        hidden = o * math.tanh(cell)
        expected.append(
            {
                "input_gate": i,
                "forget_gate": f,
                "candidate": candidate,
                "output_gate": o,
                "cell": cell,
                "hidden": hidden,
            }
        )
    check_by_hand_and_against_keras(
        LSTMCell(kernel, recurrent, bias), expected, layers.LSTM(1, return_sequences=True)
    )


def test_gru_reset_gate_scales_recurrent_term_including_its_bias():
    kernel = np.array([[0.5, -1.0, 2.0]])  # columns z, r, h̃
    recurrent = np.array([[0.3, 0.6, -0.8]])
    bias = np.array([[0.1, 0.2, -0.3], [0.4, -0.5, 0.7]])  # row 0: input, row 1: recurrent
    hidden = 0.0
    expected = []
    for x in SEQUENCE[0, :, 0]:
        z = sigmoid(0.5 * x + 0.1 + 0.3 * hidden + 0.4)
        r = sigmoid(-1.0 * x + 0.2 + 0.6 * hidden - 0.5)
        candidate = math.tanh(2.0 * x - 0.3 + r * (-0.8 * hidden + 0.7))
        hidden = z * hidden + (1 - z) * candidate
        expected.append(
            {"update_gate": z, "reset_gate": r, "candidate": candidate, "hidden": hidden}
        )
    check_by_hand_and_against_keras(
        GRUCell(kernel, recurrent, bias), expected, layers.GRU(1, return_sequences=True)
    )


def test_simple_rnn_pre_activation_is_what_tanh_squashes():
    kernel, recurrent, bias = np.array([[3.0]]), np.array([[-2.0]]), np.array([0.5])
    records = run_cell(SimpleRNNCell(kernel, recurrent, bias), SEQUENCE)
    first = 3.0 * 1.0 + 0.5
    second = 3.0 * -0.5 + 0.5 - 2.0 * math.tanh(first)
    np.testing.assert_allclose(records["pre_activation"][0, :, 0], [first, second], atol=1e-12)
    np.testing.assert_allclose(records["hidden"], np.tanh(records["pre_activation"]), atol=1e-12)
    keras_hidden = keras_layer_outputs(
        layers.SimpleRNN(1, return_sequences=True), [kernel, recurrent, bias], SEQUENCE
    )
    np.testing.assert_allclose(records["hidden"], keras_hidden, atol=TOLERANCE)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (layers.GRU(4, reset_after=False), "reset_after"),
        (layers.SimpleRNN(4, activation="relu"), "activation='tanh'"),
        (layers.LSTM(4, recurrent_activation="hard_sigmoid"), "recurrent_activation"),
        (layers.Dense(4), "SimpleRNN, GRU or LSTM"),
    ],
)
def test_layers_the_cells_cannot_reproduce_are_refused(layer, message):
    layer.build((None, 16, 16) if not isinstance(layer, layers.Dense) else (None, 16))
    with pytest.raises(ValueError, match=message):
        cell_from_keras(layer)
