"""Gradients through time: backpropagation through the NumPy twins, in float64.

For one image and one class, the loss is the softmax cross-entropy of that
class, ``L = −log softmax(logits)[class]`` (the true class for a digit of the
data set, the predicted class for a drawn one). :func:`gradient_trace` runs the
model forward (:meth:`rnn_demo.twins.model.NumpyModel.forward`) and then backwards
through every timestep, layer and direction, and reports how large the loss's
gradient is at each step::

    gradients = gradient_trace(numpy_model, image16, target_class=7)
    gradients.input_gradient_norms                        # (16,)  ‖∂L/∂x_t‖₂
    gradients.state_gradient_norms["recurrent_1/forward"]  # (16,)  ‖∂L/∂h_t‖₂
    gradients.layer("recurrent_1").cell_gradient_norms     # (16,)  ‖∂L/∂c_t‖₂, LSTM only

Every gradient is a *total* derivative: ``∂L/∂h_t`` gathers what reaches h_t
through the later timesteps of its own layer, through the layer above (which
reads h_t at step t) and, for the final state, through the head. For the LSTM,
``∂L/∂c_t`` gathers the path through c_{t+1} (scaled by the forget gate: the
LSTM's fix for vanishing gradients) and the path through h_t = o_t ⊙ tanh(c_t).

Axes are those of :mod:`rnn_demo.twins.model`: index ``t`` is input row ``t + 1`` in
both directions (the backward direction's arrays are flipped back), ``x_t`` is
the t-th 16-pixel row of the ``(16, 16)`` input as the model reads it. The
division of labour follows Keras: a cell's ``step_backward`` does one step
(:mod:`rnn_demo.twins.cells`); the loops over time and layers live here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_demo.twins.cells import Cell
from rnn_demo.twins.model import BACKWARD, FORWARD, NumpyModel, layer_key, softmax


@dataclass(frozen=True, eq=False)
class LayerGradient:
    """Gradients of the loss for one recurrent layer in one direction, one image.

    ``hidden_gradient`` ``(16, units)``: ``∂L/∂h_t``, row ``t`` = input row ``t + 1``.
    ``cell_gradient`` ``(16, units)``: ``∂L/∂c_t`` for an LSTM, else ``None``.
    """

    name: str
    direction: str
    kind: str
    hidden_gradient: np.ndarray
    cell_gradient: np.ndarray | None

    @property
    def key(self) -> str:
        return layer_key(self.name, self.direction)

    @property
    def hidden_gradient_norms(self) -> np.ndarray:
        """``(16,)`` ``‖∂L/∂h_t‖₂``."""
        return np.linalg.norm(self.hidden_gradient, axis=-1)

    @property
    def cell_gradient_norms(self) -> np.ndarray | None:
        """``(16,)`` ``‖∂L/∂c_t‖₂`` for an LSTM, else ``None``."""
        if self.cell_gradient is None:
            return None
        return np.linalg.norm(self.cell_gradient, axis=-1)


@dataclass(frozen=True, eq=False)
class GradientTrace:
    """The loss's gradients for one image, all float64.

    ``image`` ``(16, 16)``: the input as the model reads it (row = timestep).
    ``target_class``: the class whose cross-entropy ``loss`` was differentiated.
    ``logits`` / ``probabilities`` ``(10,)``: the forward pass they came from.
    ``input_gradient`` ``(16, 16)``: ``∂L/∂x``; row ``t`` is ``∂L/∂x_t``.
    ``layers``: one :class:`LayerGradient` per layer and direction, bottom layer
    first, forward before backward (the order of :class:`rnn_demo.twins.model.ModelTrace`).
    """

    image: np.ndarray
    target_class: int
    loss: float
    logits: np.ndarray
    probabilities: np.ndarray
    input_gradient: np.ndarray
    layers: tuple[LayerGradient, ...]

    @property
    def input_gradient_norms(self) -> np.ndarray:
        """``(16,)`` ``‖∂L/∂x_t‖₂`` per input row."""
        return np.linalg.norm(self.input_gradient, axis=-1)

    @property
    def state_gradient_norms(self) -> dict[str, np.ndarray]:
        """``"recurrent_1/forward"`` → ``(16,)`` ``‖∂L/∂h_t‖₂``, every layer and direction."""
        return {layer.key: layer.hidden_gradient_norms for layer in self.layers}

    @property
    def cell_gradient_norms(self) -> dict[str, np.ndarray]:
        """``"recurrent_1/forward"`` → ``(16,)`` ``‖∂L/∂c_t‖₂``, LSTM layers only (else empty)."""
        return {
            layer.key: layer.cell_gradient_norms for layer in self.layers if layer.cell_gradient is not None
        }

    def layer(self, name: str, direction: str = FORWARD) -> LayerGradient:
        """The gradients of layer ``name`` (e.g. ``"recurrent_1"``) in ``direction``."""
        for layer_gradient in self.layers:
            if layer_gradient.name == name and layer_gradient.direction == direction:
                return layer_gradient
        available = [layer_gradient.key for layer_gradient in self.layers]
        raise ValueError(f"no layer {name!r} ({direction}); available: {available}")


def _previous_states(cell: Cell, records: dict[str, np.ndarray], backward: bool) -> list[np.ndarray]:
    """The state each step started from, per state record ``(n, T, units)``.

    Reading forwards, step t starts from the state after step t − 1; reading
    backwards, from the state after step t + 1. The first step read starts from zeros.
    """
    shifted = []
    for name in cell.state_records:
        values = records[name]
        previous = np.zeros_like(values)
        if backward:
            previous[:, :-1] = values[:, 1:]
        else:
            previous[:, 1:] = values[:, :-1]
        shifted.append(previous)
    return shifted


def cell_backward(
    cell: Cell, records: dict[str, np.ndarray], grad_outputs: np.ndarray, *, backward: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Backpropagation through time for one cell over one sequence: the loop of
    :func:`rnn_demo.twins.model.run_cell` run in reverse.

    ``records``: what ``run_cell(cell, inputs, backward=backward)`` returned, name →
    ``(n, T, units)``. ``grad_outputs`` ``(n, T, units)``: the gradient reaching each
    output h_t from outside this direction (the layer above, or the head).
    Returns ``(∂L/∂inputs (n, T, features), ∂L/∂h (n, T, units), ∂L/∂c (n, T, units)
    or None)``, total derivatives indexed by input timestep.
    """
    count, timesteps, units = grad_outputs.shape
    previous_states = _previous_states(cell, records, backward)
    grad_hidden_total = np.empty_like(grad_outputs)
    grad_cell_total = np.empty_like(grad_outputs) if "cell" in cell.state_records else None
    grad_projected = None
    # The gradient carried back from the step read after this one: (∂L/∂h, [∂L/∂c]).
    carried = [np.zeros((count, units)) for _ in cell.state_records]
    # Walk the steps in the opposite order to how the cell read them.
    order = range(timesteps) if backward else range(timesteps - 1, -1, -1)
    for timestep in order:
        grad_hidden = grad_outputs[:, timestep] + carried[0]
        grad_hidden_total[:, timestep] = grad_hidden
        state = tuple(previous[:, timestep] for previous in previous_states)
        arrays = {name: values[:, timestep] for name, values in records.items()}
        grad_step, carried, extras = cell.step_backward(state, arrays, (grad_hidden, *carried[1:]))
        carried = list(carried)
        if grad_projected is None:
            grad_projected = np.empty((count, timesteps, grad_step.shape[-1]))
        grad_projected[:, timestep] = grad_step
        if grad_cell_total is not None:
            grad_cell_total[:, timestep] = extras["cell"]
    # The input projection is the same at every step: one product for all of them.
    return cell.inputs_backward(grad_projected), grad_hidden_total, grad_cell_total


def gradient_traces(numpy_model: NumpyModel, images, target_classes=None) -> list[GradientTrace]:
    """One :class:`GradientTrace` per image of ``images`` ``(n, 16, 16)``, as one batch.

    ``target_classes`` ``(n,)`` ints in 0–9: the class whose cross-entropy is
    differentiated for each image; ``None`` (or a ``None`` entry) means the
    model's own prediction.
    """
    if np.ndim(images) != 3:
        raise ValueError(
            f"expected images of shape (n, 16, {numpy_model.input_size}); got {np.shape(images)}"
        )
    forward_pass = numpy_model.forward(images)
    batch, logits = forward_pass.layer_inputs[0], forward_pass.logits  # (n, T, inputs), (n, 10)
    count = len(batch)
    probabilities = softmax(logits)  # (n, 10)
    targets = _targets(target_classes, probabilities)
    rows = np.arange(count)
    losses = -np.log(np.maximum(probabilities[rows, targets], np.finfo(np.float64).tiny))

    # Backward: softmax cross-entropy, then the head, then each layer from the top down.
    grad_logits = probabilities.copy()
    grad_logits[rows, targets] -= 1.0  # ∂L/∂logits = softmax − one-hot
    grad_features = grad_logits @ numpy_model.head_kernel.T  # (n, features)
    top_layer = numpy_model.layers[-1]
    timesteps = batch.shape[1]
    grad_sequence = np.zeros((count, timesteps, top_layer.output_size))
    units = top_layer.forward.units
    grad_sequence[:, -1, :units] = grad_features[:, :units]  # the last forward state
    if top_layer.backward is not None:
        grad_sequence[:, 0, units:] = grad_features[:, units:]  # the backward state after row 1
    layer_gradients: list[list[LayerGradient]] = []
    for layer, directions, inputs in zip(
        reversed(numpy_model.layers),
        reversed(forward_pass.records),
        reversed(forward_pass.layer_inputs),
        strict=True,
    ):
        grad_inputs = np.zeros_like(inputs)
        found = []
        cells = {FORWARD: layer.forward, BACKWARD: layer.backward}
        for position, (direction, records) in enumerate(directions.items()):
            cell = cells[direction]
            columns = slice(position * cell.units, (position + 1) * cell.units)
            grad_in, grad_hidden, grad_cell = cell_backward(
                cell, records, grad_sequence[..., columns], backward=direction == BACKWARD
            )
            grad_inputs += grad_in
            found.append((layer.name, direction, layer.kind, grad_hidden, grad_cell))
        layer_gradients.append(found)
        grad_sequence = grad_inputs
    ordered = [entry for found in reversed(layer_gradients) for entry in found]
    return [
        GradientTrace(
            image=batch[index],
            target_class=int(targets[index]),
            loss=float(losses[index]),
            logits=logits[index],
            probabilities=probabilities[index],
            input_gradient=grad_sequence[index],
            layers=tuple(
                LayerGradient(
                    name, direction, kind, grad_hidden[index],
                    None if grad_cell is None else grad_cell[index],
                )
                for name, direction, kind, grad_hidden, grad_cell in ordered
            ),
        )
        for index in range(count)
    ]


def _targets(target_classes, probabilities: np.ndarray) -> np.ndarray:
    """``(n,)`` int class per image; ``None`` entries become the predicted class."""
    count, classes = probabilities.shape
    predicted = probabilities.argmax(axis=-1)
    if target_classes is None:
        return predicted
    entries = list(np.atleast_1d(np.asarray(target_classes, dtype=object)))
    if len(entries) != count:
        raise ValueError(f"expected {count} target classes, one per image; got {len(entries)}")
    targets = np.empty(count, dtype=np.int64)
    for index, entry in enumerate(entries):
        if entry is None:
            targets[index] = predicted[index]
            continue
        if isinstance(entry, bool) or not isinstance(entry, (int, np.integer)) or not 0 <= entry < classes:
            raise ValueError(f"target class must be an integer 0–{classes - 1}; got {entry!r}")
        targets[index] = entry
    return targets


def gradient_trace(numpy_model: NumpyModel, image, target_class: int | None = None) -> GradientTrace:
    """The :class:`GradientTrace` of one ``(16, 16)`` image for ``target_class``
    (the true class; ``None``: the model's predicted class, e.g. for a drawn digit)."""
    if np.ndim(image) != 2:
        raise ValueError(f"gradient_trace takes one (16, 16) image; got shape {np.shape(image)}")
    return gradient_traces(numpy_model, np.asarray(image)[None], [target_class])[0]

