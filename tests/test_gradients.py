"""Parity: backpropagation through the NumPy twins matches the backend's autodiff.

The reference unrolls the Keras model's own cells (``layer.cell``,
``forward_layer.cell``, ``backward_layer.cell``) in a Python loop and adds a
zero *probe* tensor to every hidden state h_t (and LSTM cell state c_t) as it
is produced; the gradient of the loss with respect to a probe is then the
total derivative ``∂L/∂h_t`` (every path: later timesteps, the layer above,
the head), and the gradient with respect to the input is ``∂L/∂x``. The
gradients come from ``tf.GradientTape`` on TensorFlow and ``jax.grad`` on JAX.
A first test checks that the unrolled reference gives the real model's logits,
so the reference *is* the model.

Tolerance: every compared gradient array ``A`` (one image's ``∂L/∂x``
``(16, 16)``, or one layer and direction's ``∂L/∂h`` ``(16, units)``, or the
norms of either) must satisfy ``max |A_numpy − A_keras| ≤ 1e-5 · max |A_keras|``:
relative to the largest entry of that array, so the check stays meaningful
where early timesteps' gradients have vanished to almost nothing.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers, ops

from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.data.reduction import reduce_images
from rnn_demo.engine.models import build_model
from rnn_demo.twins.gradients import gradient_trace, gradient_traces, layer_key
from rnn_demo.twins.model import BACKWARD, FORWARD, NumpyModel

RELATIVE_TOLERANCE = 1e-5
LOGITS_TOLERANCE = 1e-5
CASES = [(arch, weights) for arch in ARCHITECTURES for weights in ("random", "trained")]
IMAGE_COUNT = 8  # 6 validation digits and 2 noise images


def randomize_weights(model: keras.Model, seed: int) -> None:
    """Every weight, biases included, drawn from N(0, 0.5²)."""
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.normal(0.0, 0.5, weight.shape).astype(np.float32) for weight in model.get_weights()]
    )


def _directions(layer) -> list[tuple[str, keras.layers.Layer]]:
    if isinstance(layer, layers.Bidirectional):
        return [(FORWARD, layer.forward_layer), (BACKWARD, layer.backward_layer)]
    return [(FORWARD, layer)]


def probe_shapes(model: keras.Model, count: int) -> dict[str, tuple[int, ...]]:
    """One zero probe per hidden state (and LSTM cell state): key → ``(n, 16, units)``."""
    shapes = {}
    for layer in model.layers:
        if not layer.name.startswith("recurrent_"):
            continue
        for direction, recurrent in _directions(layer):
            shape = (count, 16, recurrent.cell.units)
            shapes[layer_key(layer.name, direction)] = shape
            if isinstance(recurrent, layers.LSTM):
                shapes[layer_key(layer.name, direction) + "/cell"] = shape
    return shapes


def unrolled_logits(model: keras.Model, images, probes: dict):
    """The model's logits ``(n, 10)`` from its own cells, one ``cell.call`` per step,
    with ``probes[key][:, t]`` added to each new state as it is produced."""
    sequence = images  # (n, 16, features)
    timesteps = images.shape[1]
    features = None
    recurrent = [layer for layer in model.layers if layer.name.startswith("recurrent_")]
    for layer in recurrent:
        outputs = []
        for direction, rnn in _directions(layer):
            cell, key = rnn.cell, layer_key(layer.name, direction)
            is_lstm = isinstance(rnn, layers.LSTM)
            zeros = ops.zeros_like(probes[key][:, 0])
            state = [zeros, zeros] if is_lstm else [zeros]
            hidden = [None] * timesteps
            order = range(timesteps - 1, -1, -1) if direction == BACKWARD else range(timesteps)
            for timestep in order:
                inputs = sequence[:, timestep]
                new_hidden, new_state = cell.call(inputs, state, training=False)
                if is_lstm:
                    # h_t = o ⊙ tanh(c_t) happens inside the cell, so a probe on c_t
                    # added afterwards would miss that path. Recompute o from the
                    # cell's own weights and re-attach c_t's probe to h_t as well; the
                    # forward value is unchanged (the added term is exactly zero).
                    cell_state = new_state[1]
                    gates = (
                        ops.matmul(inputs, cell.kernel)
                        + ops.matmul(state[0], cell.recurrent_kernel)
                        + cell.bias
                    )
                    output_gate = ops.sigmoid(gates[:, 3 * cell.units :])
                    probed_cell = cell_state + probes[key + "/cell"][:, timestep]
                    new_hidden = new_hidden + output_gate * (ops.tanh(probed_cell) - ops.tanh(cell_state))
                    new_hidden = new_hidden + probes[key][:, timestep]
                    state = [new_hidden, probed_cell]
                else:
                    new_hidden = new_hidden + probes[key][:, timestep]
                    state = [new_hidden]
                hidden[timestep] = new_hidden
            outputs.append(hidden)
        if layer is recurrent[-1]:
            # The head reads the state after the whole sequence in each direction.
            finals = [outputs[0][-1]] + ([outputs[1][0]] if len(outputs) > 1 else [])
            features = ops.concatenate(finals, axis=-1)
        else:
            per_step = [ops.concatenate([out[t] for out in outputs], axis=-1) for t in range(timesteps)]
            sequence = ops.stack(per_step, axis=1)
    return model.get_layer("logits")(features)


def cross_entropy(logits, targets):
    """Summed softmax cross-entropy of ``targets``: images are independent, so the
    gradient with respect to one image's probes is that image's own gradient."""
    one_hot = ops.one_hot(targets, 10, dtype=logits.dtype)
    return ops.sum(ops.logsumexp(logits, axis=-1) - ops.sum(one_hot * logits, axis=-1))


def keras_gradients(model: keras.Model, images: np.ndarray, targets: np.ndarray):
    """``(logits (n, 10), ∂L/∂x (n, 16, 16), {probe key: ∂L/∂probe (n, 16, units)})``
    from the backend's own automatic differentiation."""
    shapes = probe_shapes(model, len(images))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        inputs = tf.constant(images)
        probes = {key: tf.zeros(shape) for key, shape in shapes.items()}
        with tf.GradientTape() as tape:
            tape.watch([inputs, *probes.values()])
            logits = unrolled_logits(model, inputs, probes)
            loss = cross_entropy(logits, targets)
        grad_inputs, grad_probes = tape.gradient(loss, [inputs, probes])
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        def loss_of(inputs, probes):
            logits = unrolled_logits(model, inputs, probes)
            return cross_entropy(logits, targets), logits

        probes = {key: jnp.zeros(shape) for key, shape in shapes.items()}
        (_, logits), (grad_inputs, grad_probes) = jax.value_and_grad(
            loss_of, argnums=(0, 1), has_aux=True
        )(jnp.asarray(images), probes)
    else:
        pytest.skip(f"no gradient reference written for the {backend} backend")
    as_numpy = {key: np.asarray(value, dtype=np.float64) for key, value in grad_probes.items()}
    return np.asarray(logits), np.asarray(grad_inputs, dtype=np.float64), as_numpy


def assert_relatively_close(actual, expected, what: str) -> None:
    """``max |actual − expected| ≤ RELATIVE_TOLERANCE · max |expected|``."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    scale = float(np.abs(expected).max())
    error = float(np.abs(actual - expected).max())
    assert error <= RELATIVE_TOLERANCE * scale, (
        f"{what}: max error {error:.3g} > {RELATIVE_TOLERANCE:g} × largest value {scale:.3g}"
    )


@pytest.fixture(scope="module")
def images_and_targets(embedded_digits):
    """``(8, 16, 16)`` float32 (6 validation digits, 2 noise images) and true/random classes."""
    digits = reduce_images(embedded_digits.x_valid[:6])
    noise = np.random.default_rng(2).random((2, 16, 16), dtype=np.float32)
    targets = np.concatenate([embedded_digits.y_valid[:6], [3, 8]]).astype(np.int64)
    return np.concatenate([digits, noise]), targets


@pytest.fixture(scope="module", params=CASES, ids=[f"{arch}-{weights}" for arch, weights in CASES])
def keras_model(request, train_for_real) -> keras.Model:
    arch, weights = request.param
    if weights == "trained":
        # 24 Adam steps at the chapter's learning rate on the real digits.
        return train_for_real(TrainConfig(arch=arch, hidden_units=32), epochs=3)
    model = build_model(TrainConfig(arch=arch, hidden_units=12))
    randomize_weights(model, seed=len(arch) + 7)
    return model


@pytest.fixture(scope="module")
def reference(keras_model, images_and_targets):
    images, targets = images_and_targets
    return keras_gradients(keras_model, images, targets)


def test_unrolled_reference_is_the_model(keras_model, images_and_targets, reference):
    images, _ = images_and_targets
    logits, _, _ = reference
    expected = np.asarray(keras_model(images, training=False))
    np.testing.assert_allclose(logits, expected, atol=LOGITS_TOLERANCE)


def test_every_gradient_matches_autodiff(keras_model, images_and_targets, reference):
    images, targets = images_and_targets
    _, grad_inputs, grad_probes = reference
    traces = gradient_traces(NumpyModel.from_keras(keras_model), images, targets)
    keys = [layer.key for layer in traces[0].layers]
    assert keys == [key for key in grad_probes if not key.endswith("/cell")]
    for index, trace in enumerate(traces):
        assert trace.target_class == targets[index]
        assert_relatively_close(trace.input_gradient, grad_inputs[index], f"image {index} ∂L/∂x")
        assert_relatively_close(
            trace.input_gradient_norms,
            np.linalg.norm(grad_inputs[index], axis=-1),
            f"image {index} ‖∂L/∂x_t‖",
        )
        for layer in trace.layers:
            expected = grad_probes[layer.key][index]
            assert_relatively_close(layer.hidden_gradient, expected, f"image {index} {layer.key} ∂L/∂h")
            assert_relatively_close(
                trace.state_gradient_norms[layer.key],
                np.linalg.norm(expected, axis=-1),
                f"image {index} {layer.key} ‖∂L/∂h_t‖",
            )
            if layer.kind == "lstm":
                expected_cell = grad_probes[layer.key + "/cell"][index]
                assert_relatively_close(layer.cell_gradient, expected_cell, f"image {index} {layer.key} ∂L/∂c")
                assert_relatively_close(
                    trace.cell_gradient_norms[layer.key],
                    np.linalg.norm(expected_cell, axis=-1),
                    f"image {index} {layer.key} ‖∂L/∂c_t‖",
                )
            else:
                assert layer.cell_gradient is None and layer.key not in trace.cell_gradient_norms


def test_forward_pass_and_loss_agree_with_the_numpy_model(keras_model, images_and_targets):
    images, targets = images_and_targets
    numpy_model = NumpyModel.from_keras(keras_model)
    traces = gradient_traces(numpy_model, images, targets)
    probabilities = numpy_model.predict_probabilities(images)
    for index, trace in enumerate(traces):
        np.testing.assert_allclose(trace.probabilities, probabilities[index], atol=1e-6)
        assert trace.loss == pytest.approx(-np.log(trace.probabilities[targets[index]]), rel=1e-9)
    one = gradient_trace(numpy_model, images[0], int(targets[0]))
    np.testing.assert_allclose(one.input_gradient, traces[0].input_gradient, rtol=1e-12, atol=1e-15)


def _numpy_model(arch: str, seed: int = 3) -> NumpyModel:
    model = build_model(TrainConfig(arch=arch, hidden_units=6))
    randomize_weights(model, seed)
    return NumpyModel.from_keras(model)


def test_the_last_state_read_in_each_direction_gets_the_head_gradient_directly():
    """Index t is input row t + 1 in both directions: the head reads the forward
    state at row 16 and the backward state at row 1, and nothing else reaches them."""
    numpy_model = _numpy_model("birnn")
    image = np.random.default_rng(4).random((16, 16))
    trace = gradient_trace(numpy_model, image, 5)
    grad_logits = trace.probabilities - np.eye(10)[5]
    grad_features = numpy_model.head_kernel @ grad_logits
    forward = trace.layer("recurrent_1", FORWARD).hidden_gradient
    backward = trace.layer("recurrent_1", BACKWARD).hidden_gradient
    np.testing.assert_allclose(forward[-1], grad_features[:6], rtol=1e-12)
    np.testing.assert_allclose(backward[0], grad_features[6:], rtol=1e-12)


def test_input_gradient_matches_finite_differences():
    numpy_model = _numpy_model("lstm")
    image = np.random.default_rng(5).random((16, 16))
    trace = gradient_trace(numpy_model, image, 2)

    def loss(values):
        logits = numpy_model.predict_logits(values).astype(np.float64)  # float32 out; step is large
        return float(np.log(np.exp(logits[0]).sum()) - logits[0, 2])

    step = 1e-2
    for row, column in [(0, 0), (7, 3), (15, 15)]:
        plus, minus = image.copy(), image.copy()
        plus[row, column] += step
        minus[row, column] -= step
        estimate = (loss(plus) - loss(minus)) / (2 * step)
        assert trace.input_gradient[row, column] == pytest.approx(estimate, rel=1e-2, abs=1e-5)


def test_default_target_is_the_predicted_class_and_bad_targets_are_refused():
    numpy_model = _numpy_model("gru")
    image = np.random.default_rng(6).random((16, 16))
    predicted = int(numpy_model.predict_probabilities(image).argmax())
    assert gradient_trace(numpy_model, image).target_class == predicted
    mixed = gradient_traces(numpy_model, np.stack([image, image]), [None, 1])
    assert [trace.target_class for trace in mixed] == [predicted, 1]
    with pytest.raises(ValueError, match="integer 0–9; got 10"):
        gradient_trace(numpy_model, image, 10)
    with pytest.raises(ValueError, match="one per image"):
        gradient_traces(numpy_model, np.stack([image, image]), [1])
    with pytest.raises(ValueError, match=r"one \(16, 16\) image"):
        gradient_trace(numpy_model, image[None])
    with pytest.raises(ValueError, match="no layer 'recurrent_2'"):
        gradient_trace(numpy_model, image).layer("recurrent_2")
