"""Look inside a trained classifier: every state and gate at every timestep, in NumPy.

:class:`NumpyModel` copies a Keras model's weights once (from
:func:`rnn_demo.engine.models.build_model`: input ``rows``, layers ``recurrent_1`` …
``recurrent_n``, head ``logits``) and then re-runs it in plain NumPy, so a full
trace of one image takes milliseconds and needs no Keras backend::

    numpy_model = NumpyModel.from_keras(model)        # once per trained model
    trace = numpy_model.trace(image16)                # (16, 16) float32 in [0, 1]
    trace.layer("recurrent_1").arrays["forget_gate"]  # (16, units)
    numpy_model.predict_probabilities(images16)       # (n, 10)
    numpy_model.forward(images16).records             # every layer's arrays, (n, 16, units)

Axes everywhere: **timestep** ``t`` is the input row (index 0 = row 1, the top
row; index 15 = row 16, the bottom); **unit** is the recurrent unit's index;
**class** is the digit 0–9.

Bidirectional layers give two :class:`LayerTrace` objects. The backward
direction reads the rows bottom to top, and its arrays are flipped back so
that index ``t`` is still input row ``t + 1``: there its state has read rows
16, 15, …, t + 1 (it has seen row t + 1 and everything *below* it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_demo.twins.cells import Cell, cell_from_keras, is_keras_layer

FORWARD = "forward"
BACKWARD = "backward"


@dataclass(frozen=True, eq=False)
class LayerTrace:
    """One recurrent layer in one reading direction, over the 16 timesteps of one image.

    ``name``: the Keras layer (``recurrent_1`` is the bottom layer).
    ``direction``: ``"forward"`` (reads rows top to bottom) or ``"backward"``
    (bottom to top; arrays still indexed by input row, see the module docstring).
    ``kind``: ``"rnn"``, ``"gru"`` or ``"lstm"``.
    ``arrays``: name → float32 ``(16, units)``, row ``t`` = after reading input row ``t + 1``:

    * every kind: ``hidden`` (h);
    * ``rnn``: ``pre_activation`` (the value tanh squashes; |value| > 2 means saturated);
    * ``gru``: ``update_gate`` (z), ``reset_gate`` (r), ``candidate`` (h̃);
    * ``lstm``: ``input_gate`` (i), ``forget_gate`` (f), ``candidate`` (c̃),
      ``output_gate`` (o), ``cell`` (c).

    :data:`rnn_demo.twins.cells.ARRAY_LABELS` has a human label for each name.
    """

    name: str
    direction: str
    kind: str
    arrays: dict[str, np.ndarray]

    @property
    def hidden(self) -> np.ndarray:
        """``(16, units)`` hidden state h."""
        return self.arrays["hidden"]

    @property
    def units(self) -> int:
        return self.hidden.shape[1]


@dataclass(frozen=True, eq=False)
class ModelTrace:
    """Everything the model computes for one image.

    ``image``: ``(16, 16)`` float32, the input (row = timestep).
    ``layers``: one :class:`LayerTrace` per recurrent layer and direction, bottom
    layer first, forward before backward.
    ``readout_logits`` / ``readout_probabilities``: ``(16, 10)``; row ``t`` is what
    the head would output if the image ended after input row ``t + 1``, i.e. the
    model run on rows 1 … t + 1 only. For a one-directional top layer that is the
    head applied to the top layer's ``hidden[t]``. For a bidirectional top layer
    the forward half is the forward ``hidden[t]`` (rows 1 … t + 1) and the
    backward half is the backward direction re-run over the same shortened
    sequence, i.e. after reading rows t + 1, t, …, 1 — *not* the backward
    ``hidden[t]`` of the full image, which has read the rows below. So row 15
    always equals the final output.
    ``logits`` / ``probabilities``: ``(10,)`` the model's output for the full image.
    ``predicted_class``: argmax of ``probabilities``.
    ``row_importance``: ``(16,)``; entry ``t`` is how much the predicted class's
    probability drops when input row ``t + 1`` is set to 0 (negative: blanking
    that row made the model more sure).
    """

    image: np.ndarray
    layers: tuple[LayerTrace, ...]
    readout_logits: np.ndarray
    readout_probabilities: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray
    predicted_class: int
    row_importance: np.ndarray

    def layer(self, name: str, direction: str = FORWARD) -> LayerTrace:
        """The trace of layer ``name`` (e.g. ``"recurrent_1"``) in ``direction``."""
        for layer_trace in self.layers:
            if layer_trace.name == name and layer_trace.direction == direction:
                return layer_trace
        available = [(trace.name, trace.direction) for trace in self.layers]
        raise ValueError(f"no layer {name!r} ({direction}); available: {available}")


@dataclass(frozen=True, eq=False)
class ForwardPass:
    """A batch run forward through a :class:`NumpyModel`, every record kept, float64.

    ``layer_inputs``: per layer, bottom first, the sequence it read ``(n, T, features)``:
    the images for ``recurrent_1``, the hidden states of the layer below otherwise.
    ``records``: per layer, direction → name → ``(n, T, units)`` (the names of
    :class:`LayerTrace`). ``logits``: ``(n, 10)``, the head's output.
    """

    layer_inputs: tuple[np.ndarray, ...]
    records: tuple[dict[str, dict[str, np.ndarray]], ...]
    logits: np.ndarray


def layer_key(name: str, direction: str) -> str:
    """``"recurrent_1/forward"``: how a layer and direction are named in dicts and JSON."""
    return f"{name}/{direction}"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so exp cannot overflow."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def run_cell(cell: Cell, inputs: np.ndarray, *, backward: bool = False) -> dict[str, np.ndarray]:
    """The loop over time: run ``cell`` from a zero state over ``inputs`` ``(n, T, features)``.

    ``backward=True`` reads from the last timestep to the first, as Keras's
    backward layer does. Returns ``cell.records`` name → ``(n, T, units)``,
    indexed by input timestep in both directions.
    """
    count, timesteps = inputs.shape[:2]
    projected = cell.project_inputs(inputs)  # (n, T, gate columns)
    state = cell.initial_state((count,))
    records = {name: np.empty((count, timesteps, cell.units)) for name in cell.records}
    order = range(timesteps - 1, -1, -1) if backward else range(timesteps)
    for timestep in order:
        _, state, arrays = cell.step(projected[:, timestep], state)
        for name in cell.records:
            records[name][:, timestep] = arrays[name]
    return records


def run_backward_on_prefixes(cell: Cell, inputs: np.ndarray) -> np.ndarray:
    """Backward direction's final hidden state on every prefix of the sequence.

    ``inputs`` ``(n, T, features)``; returns ``(n, T, units)`` whose ``[:, t]`` is the
    state after reading timesteps ``t, t − 1, …, 0`` (the prefix ending at ``t``,
    reversed). All T prefixes run together as one batch: walking from the last
    timestep down, a prefix's state only updates once its own last timestep is
    reached, so every prefix starts from zeros at the right place.
    """
    count, timesteps = inputs.shape[:2]
    projected = cell.project_inputs(inputs)  # (n, T, gate columns)
    state = cell.initial_state((count, timesteps))  # one state per prefix
    prefix_end = np.arange(timesteps)
    for timestep in range(timesteps - 1, -1, -1):
        _, new_state, _ = cell.step(projected[:, timestep, None, :], state)
        reached = (prefix_end >= timestep)[None, :, None]  # prefixes that contain this timestep
        state = tuple(
            np.where(reached, new, old) for new, old in zip(new_state, state, strict=True)
        )
    return state[0]


@dataclass(frozen=True, eq=False)
class NumpyRecurrentLayer:
    """One recurrent layer's cells: ``backward`` is ``None`` unless bidirectional."""

    name: str
    forward: Cell
    backward: Cell | None

    @property
    def kind(self) -> str:
        return self.forward.kind

    @property
    def output_size(self) -> int:
        """Features per timestep this layer passes on (2 × units when bidirectional)."""
        return self.forward.units * (1 if self.backward is None else 2)

    def run(self, inputs: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """direction → (name → ``(n, T, units)``) for ``inputs`` ``(n, T, features)``."""
        directions = {FORWARD: run_cell(self.forward, inputs)}
        if self.backward is not None:
            directions[BACKWARD] = run_cell(self.backward, inputs, backward=True)
        return directions


def _layer_from_keras(layer) -> NumpyRecurrentLayer:
    if is_keras_layer(layer, "Bidirectional"):
        if layer.merge_mode != "concat":
            raise ValueError(
                f"layer {layer.name!r}: only merge_mode='concat' is supported; "
                f"got {layer.merge_mode!r}"
            )
        return NumpyRecurrentLayer(
            layer.name, cell_from_keras(layer.forward_layer), cell_from_keras(layer.backward_layer)
        )
    if layer.go_backwards:
        raise ValueError(
            f"layer {layer.name!r}: go_backwards outside Bidirectional is not supported"
        )
    return NumpyRecurrentLayer(layer.name, cell_from_keras(layer), None)


class NumpyModel:
    """A classifier from :func:`rnn_demo.engine.models.build_model`, re-run in NumPy.

    ``layers``: the recurrent layers, bottom first; ``head_kernel`` ``(features, 10)``
    and ``head_bias`` ``(10,)``: the ``logits`` dense layer. Weights are copies,
    so later training of the Keras model does not change this object.
    """

    def __init__(
        self, layers: list[NumpyRecurrentLayer], head_kernel: np.ndarray, head_bias: np.ndarray
    ) -> None:
        for layer in layers[:-1]:
            if layer.backward is not None:
                # A bidirectional layer below the top would make every prefix
                # readout need a full re-run; build_model never stacks them.
                raise ValueError(f"layer {layer.name!r}: bidirectional only as the top layer")
        if head_kernel.shape[0] != layers[-1].output_size:
            raise ValueError(
                f"head expects {head_kernel.shape[0]} features; "
                f"top layer gives {layers[-1].output_size}"
            )
        self.layers = tuple(layers)
        self.head_kernel = np.asarray(head_kernel, dtype=np.float64)
        self.head_bias = np.asarray(head_bias, dtype=np.float64)
        self.input_size = layers[0].forward.kernel.shape[0]

    @classmethod
    def from_keras(cls, model) -> NumpyModel:
        """Copy the weights of ``model`` (layers ``recurrent_1`` … and ``logits``)."""
        recurrent = []
        index = 1
        while any(layer.name == f"recurrent_{index}" for layer in model.layers):
            recurrent.append(_layer_from_keras(model.get_layer(f"recurrent_{index}")))
            index += 1
        if not recurrent:
            raise ValueError(f"model {model.name!r} has no layer named 'recurrent_1'")
        head_kernel, head_bias = model.get_layer("logits").get_weights()
        return cls(recurrent, head_kernel, head_bias)

    def _check_images(self, images) -> np.ndarray:
        """``(n, T, inputs)`` float64 from ``(T, inputs)`` or ``(n, T, inputs)``."""
        array = np.asarray(images)
        if array.ndim == 2:
            array = array[None]
        if array.ndim != 3 or array.shape[2] != self.input_size or array.shape[1] < 1:
            raise ValueError(
                f"expected images of shape (16, {self.input_size}) or "
                f"(n, 16, {self.input_size}); got {np.shape(images)}"
            )
        if not np.issubdtype(array.dtype, np.number):
            raise ValueError(f"expected numeric images; got dtype {array.dtype}")
        return array.astype(np.float64)

    def forward(self, images) -> ForwardPass:
        """Run ``(n, 16, 16)`` (or one ``(16, 16)``) images forward: the one forward
        pass that predictions, traces and gradients all read."""
        return self._forward(self._check_images(images))

    def _forward(self, images: np.ndarray) -> ForwardPass:
        """:meth:`forward` of images already checked, ``(n, T, inputs)`` float64."""
        layer_inputs, records = [], []
        sequence = images
        for layer in self.layers:
            layer_inputs.append(sequence)
            directions = layer.run(sequence)
            records.append(directions)
            # A bidirectional layer passes on [forward, backward] joined per timestep.
            sequence = np.concatenate([values["hidden"] for values in directions.values()], -1)
        top = records[-1]
        # The head reads the last forward state and, for a bidirectional layer, the
        # backward state after reading the whole sequence (stored at input timestep 0).
        features = [top[FORWARD]["hidden"][:, -1]]
        if BACKWARD in top:
            features.append(top[BACKWARD]["hidden"][:, 0])
        logits = np.concatenate(features, axis=-1) @ self.head_kernel + self.head_bias
        return ForwardPass(tuple(layer_inputs), tuple(records), logits)

    def predict_logits(self, images) -> np.ndarray:
        """``(n, 10)`` float32 logits for ``(n, 16, 16)`` (or one ``(16, 16)``) images."""
        return self.forward(images).logits.astype(np.float32)

    def predict_probabilities(self, images) -> np.ndarray:
        """``(n, 10)`` float32 class probabilities for ``(n, 16, 16)`` or ``(16, 16)`` images."""
        return softmax(self.forward(images).logits).astype(np.float32)

    def predict_readout(self, images) -> np.ndarray:
        """``(n, 16, 10)`` float32: the class probabilities had each image ended after
        row t, for ``(n, 16, 16)`` images (the readout of :meth:`trace_many`, alone)."""
        return softmax(self._readout_logits(self.forward(images))).astype(np.float32)

    def _readout_logits(self, forward_pass: ForwardPass) -> np.ndarray:
        """``(n, T, 10)``: the output had the image ended after each timestep."""
        top_layer = self.layers[-1]
        forward_hidden = forward_pass.records[-1][FORWARD]["hidden"]  # (n, T, units), causal: prefix-exact
        if top_layer.backward is None:
            return forward_hidden @ self.head_kernel + self.head_bias
        backward_on_prefixes = run_backward_on_prefixes(top_layer.backward, forward_pass.layer_inputs[-1])
        joined = np.concatenate([forward_hidden, backward_on_prefixes], axis=-1)
        return joined @ self.head_kernel + self.head_bias

    def _row_importance(self, images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """``(n, T)`` drop of the predicted class's probability when each row is set to 0."""
        count, timesteps = images.shape[:2]
        # All n × T blanked copies in one batch: copy (i, t) is image i with row t zeroed.
        keep = 1.0 - np.eye(timesteps)[:, :, None]  # (T copies, T rows, 1)
        blanked = (images[:, None] * keep[None]).reshape(count * timesteps, *images.shape[1:])
        blanked_probabilities = softmax(self._forward(blanked).logits).reshape(count, timesteps, -1)
        predicted = probabilities.argmax(axis=-1)  # (n,)
        rows = np.arange(count)
        return probabilities[rows, predicted][:, None] - blanked_probabilities[rows, :, predicted]

    def trace_many(self, images) -> list[ModelTrace]:
        """One :class:`ModelTrace` per image of ``(n, 16, 16)``, computed as one batch."""
        forward_pass = self.forward(images)
        batch, logits = forward_pass.layer_inputs[0], forward_pass.logits
        probabilities = softmax(logits)
        readout_logits = self._readout_logits(forward_pass)
        readout_probabilities = softmax(readout_logits)
        row_importance = self._row_importance(batch, probabilities)
        traces = []
        for index in range(len(batch)):
            layer_traces = tuple(
                LayerTrace(
                    layer.name,
                    direction,
                    layer.kind,
                    {name: values[index].astype(np.float32) for name, values in records.items()},
                )
                for layer, directions in zip(self.layers, forward_pass.records, strict=True)
                for direction, records in directions.items()
            )
            traces.append(
                ModelTrace(
                    image=batch[index].astype(np.float32),
                    layers=layer_traces,
                    readout_logits=readout_logits[index].astype(np.float32),
                    readout_probabilities=readout_probabilities[index].astype(np.float32),
                    logits=logits[index].astype(np.float32),
                    probabilities=probabilities[index].astype(np.float32),
                    predicted_class=int(probabilities[index].argmax()),
                    row_importance=row_importance[index].astype(np.float32),
                )
            )
        return traces

    def trace(self, image) -> ModelTrace:
        """The :class:`ModelTrace` of one ``(16, 16)`` image."""
        if np.ndim(image) != 2:
            raise ValueError(f"trace takes one (16, 16) image; got shape {np.shape(image)}")
        return self.trace_many(image)[0]

