"""PCA of hidden states: known answers, stable signs, and the same states the trace shows."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_demo.config import TrainConfig
from rnn_demo.engine.models import build_model
from rnn_demo.twins.model import BACKWARD, FORWARD, NumpyModel
from rnn_demo.twins.projection import (
    final_hidden_states,
    fit_pca,
    hidden_state_paths,
    reading_order,
)


def rotation(size: int, seed: int) -> np.ndarray:
    """A random ``(size, size)`` orthogonal matrix."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(size, size)))
    return q * np.sign(np.diag(r))


# A cross of points in the plane: along axis 1 at ±3, along axis 2 at ±1, so the
# sample variances are known exactly: 18/3 = 6 and 2/3 (n − 1 = 3 in the denominator).
PLANE = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 1.0], [0.0, -1.0]])


def test_a_rotated_plane_is_recovered_with_its_variances():
    q = rotation(5, seed=0)
    offset = np.arange(5.0)
    states = np.pad(PLANE, ((0, 0), (0, 3))) @ q.T + offset  # the plane rotated into 5-D
    projection = fit_pca(states)
    np.testing.assert_allclose(projection.mean, offset, atol=1e-12)
    np.testing.assert_allclose(projection.explained_variance, [6.0, 2 / 3], rtol=1e-12)
    np.testing.assert_allclose(projection.explained_variance_ratio, [0.9, 0.1], rtol=1e-12)
    # The components are the rotated axes, up to sign; the coordinates are the plane's.
    np.testing.assert_allclose(np.abs(projection.components @ q[:, :2]), np.eye(2), atol=1e-12)
    coordinates = projection.transform(states)
    np.testing.assert_allclose(np.abs(coordinates), np.abs(PLANE), atol=1e-12)
    np.testing.assert_allclose(projection.components @ projection.components.T, np.eye(2), atol=1e-12)


def test_components_come_in_order_of_explained_variance():
    rng = np.random.default_rng(1)
    states = rng.normal(size=(200, 6)) * np.array([0.1, 5.0, 1.0, 3.0, 0.5, 2.0])
    projection = fit_pca(states, components=6)
    assert np.all(np.diff(projection.explained_variance) <= 0)
    assert projection.explained_variance_ratio.sum() == pytest.approx(1.0)
    assert np.argmax(np.abs(projection.components[0])) == 1  # the widest axis comes first


def test_signs_are_deterministic():
    rng = np.random.default_rng(2)
    states = rng.normal(size=(50, 4)) @ rotation(4, seed=3)
    first, mirrored = fit_pca(states), fit_pca(-states)
    # Flipping the data flips no component: each is signed by its largest loading.
    np.testing.assert_allclose(first.components, mirrored.components, atol=1e-12)
    largest = first.components[np.arange(2), np.abs(first.components).argmax(axis=1)]
    assert np.all(largest > 0)
    np.testing.assert_allclose(fit_pca(states).transform(states), first.transform(states))


def test_transform_keeps_leading_axes_and_maps_the_mean_to_the_origin():
    states = np.random.default_rng(4).normal(size=(30, 8))
    projection = fit_pca(states)
    assert projection.transform(np.zeros((3, 16, 8))).shape == (3, 16, 2)
    np.testing.assert_allclose(projection.transform(states.mean(axis=0)), [0.0, 0.0], atol=1e-12)


def test_constant_states_give_zero_variance_not_nan():
    projection = fit_pca(np.ones((5, 3)))
    np.testing.assert_array_equal(projection.explained_variance_ratio, [0.0, 0.0])
    assert np.all(np.isfinite(projection.components))


@pytest.mark.parametrize(
    ("states", "components", "message"),
    [
        (np.zeros((1, 4)), 2, r"n ≥ 2"),
        (np.zeros((5,)), 2, r"n ≥ 2"),
        (np.zeros((5, 4)), 0, "integer 1–4; got 0"),
        (np.zeros((5, 4)), 5, "integer 1–4; got 5"),
        (np.full((5, 4), np.nan), 2, "NaN"),
    ],
)
def test_bad_inputs_are_refused(states, components, message):
    with pytest.raises(ValueError, match=message):
        fit_pca(states, components)


def test_transform_refuses_the_wrong_unit_count():
    with pytest.raises(ValueError, match="with 4 units"):
        fit_pca(np.random.default_rng(5).normal(size=(6, 4))).transform(np.zeros((2, 3)))


@pytest.mark.parametrize("arch", ["bilstm", "deep"])
def test_final_states_and_paths_are_the_traced_states(arch):
    numpy_model = NumpyModel.from_keras(build_model(TrainConfig(arch=arch, hidden_units=5)))
    images = np.random.default_rng(6).random((4, 16, 16), dtype=np.float32)
    finals = final_hidden_states(numpy_model, images)
    traces = numpy_model.trace_many(images)
    assert list(finals) == [f"{layer.name}/{layer.direction}" for layer in traces[0].layers]
    for layer in traces[0].layers:
        key = f"{layer.name}/{layer.direction}"
        hidden = np.stack([trace.layer(layer.name, layer.direction).hidden for trace in traces])
        final_row = -1 if layer.direction == FORWARD else 0
        np.testing.assert_allclose(finals[key], hidden[:, final_row], atol=1e-6)
        path = hidden_state_paths(numpy_model, images[2])[key]
        np.testing.assert_allclose(path, hidden[2, reading_order(key)], atol=1e-6)
        np.testing.assert_allclose(path[-1], finals[key][2], atol=1e-12)  # a path ends at its final state
    assert list(reading_order(f"recurrent_1/{BACKWARD}", 4)) == [3, 2, 1, 0]
