"""Where the digits live: hidden states projected onto a plane with PCA (NumPy SVD).

The final hidden state of a recurrent layer (``units`` numbers) is what the
model has made of a whole digit. Projecting the final states of many digits
onto their first two principal components shows whether digits of one class
end up together; projecting one digit's 16 per-timestep states onto the *same*
plane shows its path there as its rows are read::

    finals = final_hidden_states(numpy_model, images16)       # key → (n, units)
    plane = fit_pca(finals["recurrent_1/forward"])             # once per model and layer
    points = plane.transform(finals["recurrent_1/forward"])    # (n, 2)
    paths = hidden_state_paths(numpy_model, image16)           # key → (16, units)
    path = plane.transform(paths["recurrent_1/forward"])       # (16, 2), in reading order

Keys are ``"recurrent_1/forward"`` (:func:`rnn_demo.twins.model.layer_key`). The
*final* state is the state after reading all 16 rows: ``hidden[-1]`` reading
forwards, ``hidden[0]`` (after row 1) reading backwards. Paths are in
**reading order**: point ``k`` is the state after the ``k + 1``-th row read,
which is input row ``k + 1`` forwards and row ``16 − k`` backwards (see
:func:`reading_order`), so a path always ends on the digit's final state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_demo.twins.model import BACKWARD, NumpyModel, layer_key


@dataclass(frozen=True, eq=False)
class Projection:
    """A fitted PCA: ``transform(s) = (s − mean) @ components.T``.

    ``mean`` ``(units,)``; ``components`` ``(k, units)``, orthonormal rows, largest
    variance first, each signed so that its largest-magnitude loading is
    positive (SVD alone leaves the sign arbitrary; this keeps pictures stable);
    ``explained_variance`` ``(k,)`` (sample variance along each component) and
    ``explained_variance_ratio`` ``(k,)`` (its share of the total variance).
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray

    def transform(self, states) -> np.ndarray:
        """Coordinates ``(…, k)`` of ``states`` ``(…, units)`` on the fitted components."""
        states = np.asarray(states, dtype=np.float64)
        if states.shape[-1] != self.mean.shape[0]:
            raise ValueError(
                f"expected states with {self.mean.shape[0]} units in the last axis; got {states.shape}"
            )
        return (states - self.mean) @ self.components.T


def fit_pca(states, components: int = 2) -> Projection:
    """Principal components of ``states`` ``(n, units)``, ``n ≥ 2``, by SVD of the
    centred matrix; ``components`` (1 … units) of them are kept."""
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2 or states.shape[0] < 2:
        raise ValueError(f"expected states of shape (n ≥ 2, units); got {states.shape}")
    units = states.shape[1]
    if isinstance(components, bool) or not isinstance(components, (int, np.integer)) or not (
        1 <= components <= units
    ):
        raise ValueError(f"components must be an integer 1–{units}; got {components!r}")
    if not np.all(np.isfinite(states)):
        raise ValueError("states contain NaN or infinite values")
    mean = states.mean(axis=0)
    _, singular_values, right_vectors = np.linalg.svd(states - mean, full_matrices=False)
    variance = singular_values**2 / (len(states) - 1)  # (min(n, units),), descending
    total = float(variance.sum())
    kept = np.zeros((components, units))
    explained = np.zeros(components)
    available = min(components, len(right_vectors))
    kept[:available] = right_vectors[:available]
    explained[:available] = variance[:available]
    largest = np.abs(kept).argmax(axis=1)
    signs = np.where(kept[np.arange(components), largest] < 0, -1.0, 1.0)
    return Projection(
        mean=mean,
        components=kept * signs[:, None],
        explained_variance=explained,
        explained_variance_ratio=explained / total if total > 0 else np.zeros(components),
    )


def _hidden_sequences(numpy_model: NumpyModel, images) -> dict[str, np.ndarray]:
    """``"recurrent_1/forward"`` → ``(n, 16, units)`` hidden states, indexed by input row."""
    sequence = np.asarray(images, dtype=np.float64)
    if sequence.ndim != 3 or sequence.shape[2] != numpy_model.input_size:
        raise ValueError(f"expected images of shape (n, 16, {numpy_model.input_size}); got {sequence.shape}")
    records = numpy_model.forward(sequence).records
    return {
        layer_key(layer.name, direction): values["hidden"]
        for layer, directions in zip(numpy_model.layers, records, strict=True)
        for direction, values in directions.items()
    }


def reading_order(key: str, timesteps: int = 16) -> np.ndarray:
    """``(timesteps,)`` input-row indices (0-based) in the order ``key``'s direction reads them."""
    if key.endswith("/" + BACKWARD):
        return np.arange(timesteps - 1, -1, -1)
    return np.arange(timesteps)


def final_hidden_states(numpy_model: NumpyModel, images) -> dict[str, np.ndarray]:
    """``"recurrent_1/forward"`` → ``(n, units)`` state after all rows are read, for
    ``images`` ``(n, 16, 16)``; every layer and direction."""
    return {
        key: values[:, reading_order(key, values.shape[1])[-1]]
        for key, values in _hidden_sequences(numpy_model, images).items()
    }


def hidden_state_paths(numpy_model: NumpyModel, image) -> dict[str, np.ndarray]:
    """``"recurrent_1/forward"`` → ``(16, units)``: one ``(16, 16)`` image's hidden
    states in reading order (the last row is its final state)."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected one (16, 16) image; got shape {image.shape}")
    return {
        key: values[0, reading_order(key, values.shape[1])]
        for key, values in _hidden_sequences(numpy_model, image[None]).items()
    }
