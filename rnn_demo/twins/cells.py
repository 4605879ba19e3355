"""NumPy twins of Keras's recurrent cells: one timestep of math each.

As in Keras, a *cell* knows one step, ``(x_t, state) -> (output, new_state)``;
the loop over time lives in :mod:`rnn_demo.twins.model`. Each ``step`` here also
returns every intermediate the pages draw (gates, candidate, cell state), so
nothing has to be recomputed to look inside.

The weight layouts are Keras 3's, read from ``layer.get_weights()``:

* SimpleRNN: ``h_t = tanh(x_t K + b + h_{t-1} R)``.
* GRU (``reset_after=True``): columns of ``K`` and ``R`` are ``z, r, h̃``; the
  bias is ``(2, 3U)`` with row 0 added to ``x K`` and row 1 to ``h R``, and the
  reset gate multiplies the whole recurrent term ``h R_h + b1_h``.
* LSTM: columns are ``i, f, c̃, o``; one bias ``(4U,)``.

Each cell also knows its step backwards: ``step_backward`` is the
vector-Jacobian product of ``step`` (given the gradient of the loss with
respect to the new state, the gradients with respect to the step's inputs and
previous state), and ``inputs_backward`` undoes ``project_inputs``. The loop
over time that chains them (backpropagation through time) lives in
:mod:`rnn_demo.twins.gradients`.

Arrays have any leading batch shape ``(…, features)``; the arithmetic runs in
float64 so that differences against Keras's float32 come from Keras alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# What each recorded array means, for axis labels and legends.
ARRAY_LABELS: dict[str, str] = {
    "hidden": "hidden state h",
    "pre_activation": "pre-activation x·K + h·R + b (tanh of this is h)",
    "input_gate": "input gate i",
    "forget_gate": "forget gate f",
    "candidate": "candidate (c̃ for LSTM, h̃ for GRU)",
    "output_gate": "output gate o",
    "cell": "cell state c",
    "update_gate": "update gate z (share of the old h kept)",
    "reset_gate": "reset gate r",
}


def sigmoid(values: np.ndarray) -> np.ndarray:
    """Logistic function written through tanh, which cannot overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * values))


def _float64(array) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class _CellWeights:
    """What every cell shares: its weights, its size, its zero start and ``∂L/∂x``.

    ``kernel`` (inputs, gate columns), ``recurrent_kernel`` (U, gate columns) and
    ``bias`` in Keras's layout (see each cell); ``state_records`` names the
    records that make up the state tuple (h; the LSTM's is (h, c)).
    """

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray

    state_records = ("hidden",)

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    def initial_state(self, batch_shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
        """Keras starts every sequence from zeros: one ``batch_shape + (U,)`` per state record."""
        return tuple(np.zeros(batch_shape + (self.units,)) for _ in self.state_records)

    def inputs_backward(self, grad_projected: np.ndarray) -> np.ndarray:
        """``∂L/∂x`` ``(…, inputs)`` from ``∂L/∂(x K + b)`` ``(…, gate columns)``."""
        return grad_projected @ self.kernel.T


@dataclass(frozen=True, eq=False)
class SimpleRNNCell(_CellWeights):
    """Basic tanh RNN cell. ``kernel`` (inputs, U), ``recurrent_kernel`` (U, U), ``bias`` (U,)."""

    kind = "rnn"
    records = ("hidden", "pre_activation")

    def project_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """``x K + b`` for all timesteps at once, ``(…, inputs) -> (…, U)``.

        It does not depend on the state, so the loop need not redo it per step.
        """
        return inputs @ self.kernel + self.bias

    def step(self, projected: np.ndarray, state: tuple[np.ndarray, ...]):
        """One timestep from ``projected = x_t K + b`` ``(…, U)`` and ``state = (h_{t-1},)``.

        Returns ``(h_t, (h_t,), {"hidden", "pre_activation"})``, each ``(…, U)``.
        """
        (hidden,) = state
        pre_activation = projected + hidden @ self.recurrent_kernel
        hidden = np.tanh(pre_activation)
        return hidden, (hidden,), {"hidden": hidden, "pre_activation": pre_activation}

    def step_backward(self, state, arrays, grad_state):
        """Vector-Jacobian product of :meth:`step`.

        ``state = (h_{t-1},)`` and ``arrays`` are the step's input state and
        intermediates; ``grad_state = (∂L/∂h_t,)`` ``(…, U)`` is the loss's total
        gradient with respect to the new state. Returns ``(∂L/∂projected (…, U),
        (∂L/∂h_{t-1} through this step,), {})``.
        """
        (grad_hidden,) = grad_state
        grad_pre_activation = grad_hidden * (1.0 - arrays["hidden"] ** 2)  # tanh' = 1 − tanh²
        return grad_pre_activation, (grad_pre_activation @ self.recurrent_kernel.T,), {}


@dataclass(frozen=True, eq=False)
class GRUCell(_CellWeights):
    """GRU cell, ``reset_after=True``. ``kernel`` (inputs, 3U), ``recurrent_kernel`` (U, 3U),
    ``bias`` (2, 3U): row 0 input bias, row 1 recurrent bias; column blocks ``z, r, h̃``."""

    kind = "gru"
    records = ("hidden", "update_gate", "reset_gate", "candidate")

    def project_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """``x K + b_input`` for all timesteps, ``(…, inputs) -> (…, 3U)``."""
        return inputs @ self.kernel + self.bias[0]

    def step(self, projected: np.ndarray, state: tuple[np.ndarray, ...]):
        """One timestep from ``projected = x_t K + b_0`` ``(…, 3U)`` and ``state = (h_{t-1},)``.

        Returns ``(h_t, (h_t,), {"hidden", "update_gate", "reset_gate", "candidate"})``,
        each ``(…, U)``; ``h_t = z ⊙ h_{t-1} + (1 − z) ⊙ h̃``.
        """
        (previous,) = state
        units = self.units
        recurrent = previous @ self.recurrent_kernel + self.bias[1]  # (…, 3U)
        update_gate = sigmoid(projected[..., :units] + recurrent[..., :units])
        reset_gate = sigmoid(projected[..., units : 2 * units] + recurrent[..., units : 2 * units])
        # reset_after: the reset gate scales the recurrent term after its bias is added.
        candidate = np.tanh(projected[..., 2 * units :] + reset_gate * recurrent[..., 2 * units :])
        hidden = update_gate * previous + (1.0 - update_gate) * candidate
        arrays = {
            "hidden": hidden,
            "update_gate": update_gate,
            "reset_gate": reset_gate,
            "candidate": candidate,
        }
        return hidden, (hidden,), arrays

    def step_backward(self, state, arrays, grad_state):
        """Vector-Jacobian product of :meth:`step`.

        ``state = (h_{t-1},)`` and ``arrays`` are the step's input state and
        intermediates; ``grad_state = (∂L/∂h_t,)`` ``(…, U)``. Returns
        ``(∂L/∂projected (…, 3U), (∂L/∂h_{t-1} through this step,), {})``.
        """
        (previous,) = state
        (grad_hidden,) = grad_state
        units = self.units
        update_gate, reset_gate = arrays["update_gate"], arrays["reset_gate"]
        candidate = arrays["candidate"]
        # The candidate's recurrent term h R_h + b1_h is not recorded; it is one product.
        recurrent_candidate = previous @ self.recurrent_kernel[:, 2 * units :] + self.bias[1, 2 * units :]
        grad_candidate_in = grad_hidden * (1.0 - update_gate) * (1.0 - candidate**2)
        grad_update_in = grad_hidden * (previous - candidate) * update_gate * (1.0 - update_gate)
        grad_reset_in = grad_candidate_in * recurrent_candidate * reset_gate * (1.0 - reset_gate)
        grad_projected = np.concatenate([grad_update_in, grad_reset_in, grad_candidate_in], axis=-1)
        grad_recurrent = np.concatenate(
            [grad_update_in, grad_reset_in, grad_candidate_in * reset_gate], axis=-1
        )  # (…, 3U): gradient of h R + b1, whose candidate block the reset gate scales
        grad_previous = grad_hidden * update_gate + grad_recurrent @ self.recurrent_kernel.T
        return grad_projected, (grad_previous,), {}


@dataclass(frozen=True, eq=False)
class LSTMCell(_CellWeights):
    """LSTM cell. ``kernel`` (inputs, 4U), ``recurrent_kernel`` (U, 4U), ``bias`` (4U,);
    column blocks ``i, f, c̃, o`` (Keras's ``unit_forget_bias`` only sets the initial f bias)."""

    kind = "lstm"
    records = ("hidden", "input_gate", "forget_gate", "candidate", "output_gate", "cell")
    state_records = ("hidden", "cell")

    def project_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """``x K + b`` for all timesteps, ``(…, inputs) -> (…, 4U)``."""
        return inputs @ self.kernel + self.bias

    def step(self, projected: np.ndarray, state: tuple[np.ndarray, ...]):
        """One timestep from ``projected = x_t K + b`` ``(…, 4U)`` and ``state = (h_{t-1}, c_{t-1})``.

        Returns ``(h_t, (h_t, c_t), arrays)`` with arrays ``hidden``, ``input_gate``,
        ``forget_gate``, ``candidate`` (c̃), ``output_gate``, ``cell`` (c_t), each ``(…, U)``.
        """
        previous_hidden, previous_cell = state
        units = self.units
        gates = projected + previous_hidden @ self.recurrent_kernel  # (…, 4U)
        input_gate = sigmoid(gates[..., :units])
        forget_gate = sigmoid(gates[..., units : 2 * units])
        candidate = np.tanh(gates[..., 2 * units : 3 * units])
        output_gate = sigmoid(gates[..., 3 * units :])
        cell = forget_gate * previous_cell + input_gate * candidate
        hidden = output_gate * np.tanh(cell)
        arrays = {
            "hidden": hidden,
            "input_gate": input_gate,
            "forget_gate": forget_gate,
            "candidate": candidate,
            "output_gate": output_gate,
            "cell": cell,
        }
        return hidden, (hidden, cell), arrays

    def step_backward(self, state, arrays, grad_state):
        """Vector-Jacobian product of :meth:`step`.

        ``state = (h_{t-1}, c_{t-1})`` and ``arrays`` are the step's input state
        and intermediates. ``grad_state = (∂L/∂h_t, ∂L/∂c_t through later steps)``:
        the first is the total gradient of h_t; the second only what reaches
        c_t through c_{t+1}, since h_t's own dependence on c_t is inside this step.
        Returns ``(∂L/∂projected (…, 4U), (∂L/∂h_{t-1}, ∂L/∂c_{t-1}) through this
        step, {"cell": ∂L/∂c_t total})``, each ``(…, U)`` but the first.
        """
        (_, previous_cell) = state
        grad_hidden, grad_cell_later = grad_state
        input_gate, forget_gate = arrays["input_gate"], arrays["forget_gate"]
        candidate, output_gate = arrays["candidate"], arrays["output_gate"]
        squashed_cell = np.tanh(arrays["cell"])
        # h_t = o ⊙ tanh(c_t): the cell gradient gathers the carry and this step's output.
        grad_cell = grad_cell_later + grad_hidden * output_gate * (1.0 - squashed_cell**2)
        grad_gates = np.concatenate(
            [
                grad_cell * candidate * input_gate * (1.0 - input_gate),
                grad_cell * previous_cell * forget_gate * (1.0 - forget_gate),
                grad_cell * input_gate * (1.0 - candidate**2),
                grad_hidden * squashed_cell * output_gate * (1.0 - output_gate),
            ],
            axis=-1,
        )  # (…, 4U) in the column order i, f, c̃, o
        grad_previous = (grad_gates @ self.recurrent_kernel.T, grad_cell * forget_gate)
        return grad_gates, grad_previous, {"cell": grad_cell}


Cell = SimpleRNNCell | GRUCell | LSTMCell


def _activation_name(function) -> str:
    return getattr(function, "__name__", repr(function))


def is_keras_layer(layer, class_name: str) -> bool:
    """Whether ``layer`` is a Keras ``class_name`` (or a subclass of one), read without importing Keras.

    The twins copy weights out of Keras objects they are handed; only :mod:`rnn_demo.engine` imports Keras.
    """
    return any(cls.__name__ == class_name and cls.__module__.startswith("keras.")
               for cls in type(layer).__mro__)


def cell_from_keras(layer) -> Cell:
    """The NumPy cell holding a copy of a Keras ``SimpleRNN``, ``GRU`` or ``LSTM`` layer's weights.

    Raises ``ValueError`` for anything the NumPy twin does not reproduce exactly
    (another layer type, non-default activations, ``reset_after=False``).
    """
    if is_keras_layer(layer, "LSTM"):
        cell_type = LSTMCell
    elif is_keras_layer(layer, "GRU"):
        cell_type = GRUCell
    elif is_keras_layer(layer, "SimpleRNN"):
        cell_type = SimpleRNNCell
    else:
        raise ValueError(f"expected a SimpleRNN, GRU or LSTM layer; got {type(layer).__name__}")
    keras_cell = layer.cell
    if _activation_name(keras_cell.activation) != "tanh":
        raise ValueError(
            f"layer {layer.name!r}: only activation='tanh' is supported; "
            f"got {_activation_name(keras_cell.activation)!r}"
        )
    recurrent_activation = getattr(keras_cell, "recurrent_activation", None)
    if recurrent_activation is not None and _activation_name(recurrent_activation) != "sigmoid":
        raise ValueError(
            f"layer {layer.name!r}: only recurrent_activation='sigmoid' is supported; "
            f"got {_activation_name(recurrent_activation)!r}"
        )
    if cell_type is GRUCell and not keras_cell.reset_after:
        raise ValueError(f"layer {layer.name!r}: only reset_after=True is supported; got False")
    weights = [_float64(weight) for weight in layer.get_weights()]
    kernel, recurrent_kernel = weights[0], weights[1]
    if keras_cell.use_bias:
        bias = weights[2]
    else:
        bias_shape = (2, kernel.shape[1]) if cell_type is GRUCell else (kernel.shape[1],)
        bias = np.zeros(bias_shape)
    return cell_type(kernel, recurrent_kernel, bias)
