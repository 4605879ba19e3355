"""The chapter's recurrent classifiers, built with backend-agnostic Keras 3.

Every model reads a 16×16 image as a sequence of 16 timesteps (rows, top to
bottom) of 16 inputs (the row's pixels) and returns 10 logits from a dense
head applied to the last timestep's recurrent output.

Layer names are part of the contract with :mod:`rnn_demo.twins.model`: the input is
``rows``, recurrent layers are ``recurrent_1`` … ``recurrent_n`` (bottom to
top) and the head is ``logits``.
"""

from __future__ import annotations

import keras
from keras import layers

from rnn_demo.config import TrainConfig

TIMESTEPS = 16
INPUTS_PER_STEP = 16
CLASSES = 10


def _recurrent_layer(arch: str, units: int, *, return_sequences: bool, unroll: bool, name: str):
    """One recurrent layer (wrapped in Bidirectional for the bi- architectures)."""
    if arch in ("rnn", "birnn"):
        cell_layer = layers.SimpleRNN
    elif arch in ("deep", "gru"):
        cell_layer = layers.GRU
    else:
        cell_layer = layers.LSTM
    if arch in ("birnn", "bilstm"):
        # Bidirectional joins [forward, backward] along the feature axis,
        # so the head sees 2 × units values (the chapter's slip 2).
        return layers.Bidirectional(
            cell_layer(units, return_sequences=return_sequences, unroll=unroll), name=name
        )
    # LSTM: unit_forget_bias=True (Keras's default) is the chapter's forget_bias=1.0.
    return cell_layer(units, return_sequences=return_sequences, unroll=unroll, name=name)


def build_model(config: TrainConfig, *, unroll: bool = False) -> keras.Model:
    """Build (uncompiled) the classifier for ``config.arch``.

    Input ``(batch, 16, 16)`` float32 in [0, 1]; output ``(batch, 10)`` logits.
    The deep model stacks ``config.layers`` GRU layers, each a new layer with
    its own weights (the chapter's slip 3 reused one cell).

    ``unroll`` writes the 16 timesteps out as 16 copies of the cell instead of
    a symbolic loop: the same weights and the same arithmetic, a bigger graph
    that the backend traces faster and runs faster on a CPU (the training
    engine uses it; see :mod:`rnn_demo.engine.training`).
    """
    inputs = keras.Input(shape=(TIMESTEPS, INPUTS_PER_STEP), name="rows")
    hidden = inputs
    count = config.recurrent_layers
    for index in range(1, count + 1):
        hidden = _recurrent_layer(
            config.arch,
            config.hidden_units,
            return_sequences=index < count,
            unroll=unroll,
            name=f"recurrent_{index}",
        )(hidden)  # (batch, 16, units) below the top layer, (batch, units) at the top
    logits = layers.Dense(CLASSES, name="logits")(hidden)  # (batch, 10)
    return keras.Model(inputs, logits, name=f"{config.arch}_classifier")


def compile_model(model: keras.Model, learning_rate: float, metrics=None, jit_compile="auto") -> None:
    """Adam on softmax cross-entropy of the logits, as in the chapter."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=metrics,
        jit_compile=jit_compile,
    )
