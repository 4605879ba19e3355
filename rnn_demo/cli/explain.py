"""``rnn-demo explain``: everything the pages show about one digit, as JSON.

:func:`explain_digit` gathers the trace and the gradients through time of one
``(16, 16)`` image under a NumPy twin; :func:`explain_model_file` does it for digit
``index`` of a saved model's validation/test split. Keys (timestep ``t`` = row ``t + 1``):

* ``true_class`` (``None`` without a label), ``predicted_class``, ``loss_class`` (the
  class whose cross-entropy ``loss`` is differentiated: the true one, else the predicted);
* ``probabilities`` (10), ``readout_probabilities`` (16 × 10: had the image ended after
  each row), ``row_importance`` (16: the drop in the predicted class when a row is 0);
* ``input_gradient_norms`` (16: ``‖∂L/∂x_t‖₂``); ``state_gradient_norms``
  (``{"recurrent_1/forward": 16 values of ‖∂L/∂h_t‖₂, …}``); ``cell_gradient_norms``
  (``‖∂L/∂c_t‖₂`` of LSTM layers, else empty);
* ``input`` (16 × 16): the values the model reads, so anyone can recompute the rest.
"""

from __future__ import annotations

import os

import numpy as np

from rnn_demo.config import ConfigError
from rnn_demo.twins.gradients import gradient_trace
from rnn_demo.twins.model import NumpyModel


def _floats(array) -> list:
    """Nested lists of Python floats (JSON has no NumPy types)."""
    return np.asarray(array, dtype=np.float64).tolist()


def explain_digit(numpy_model: NumpyModel, image, true_class: int | None = None) -> dict:
    """The trace and gradient numbers of one ``(16, 16)`` ``image`` (see the module
    docstring for the keys); ``true_class`` ``None`` differentiates the prediction."""
    trace = numpy_model.trace(image)
    loss_class = trace.predicted_class if true_class is None else int(true_class)
    gradients = gradient_trace(numpy_model, trace.image, loss_class)
    return {
        "true_class": None if true_class is None else int(true_class),
        "predicted_class": trace.predicted_class,
        "loss_class": loss_class,
        "loss": gradients.loss,
        "probabilities": _floats(trace.probabilities),
        "readout_probabilities": _floats(trace.readout_probabilities),
        "row_importance": _floats(trace.row_importance),
        "input_gradient_norms": _floats(gradients.input_gradient_norms),
        "state_gradient_norms": {key: _floats(norms) for key, norms in gradients.state_gradient_norms.items()},
        "cell_gradient_norms": {key: _floats(norms) for key, norms in gradients.cell_gradient_norms.items()},
        "input": _floats(trace.image),
    }


def check_index(index: object, count: int, split: str = "validation/test") -> int:
    """``index`` as an int in ``0 … count − 1``, else :class:`ConfigError` naming the range."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ConfigError(f"--index must be an integer; got {index!r}")
    if count == 0:
        raise ConfigError(f"the {split} split has no images")
    if not 0 <= index < count:
        raise ConfigError(
            f"--index must be 0–{count - 1} (the {split} split has {count:,} images); got {index}"
        )
    return int(index)


def explain_model_file(
    model_path: str | os.PathLike,
    index: int,
    *,
    dataset: str | None = None,
    data_dir: str | os.PathLike | None = None,
) -> dict:
    """:func:`explain_digit` for digit ``index`` of the validation/test split of
    ``dataset`` (default: the model's own, else ``"mnist"``) and the ``.keras`` file
    at ``model_path``, plus ``model``, ``arch``, ``dataset``, ``data_source``,
    ``data_description``, ``split``, ``index``, ``true_name`` and ``predicted_name``.

    Raises :class:`~rnn_demo.config.ConfigError` for a negative or too large
    ``index``, :class:`~rnn_demo.engine.persistence.ModelFileError` for a model file
    that cannot be loaded or re-run in NumPy, :class:`~rnn_demo.data.sources.DataError`
    for missing data.
    """
    from rnn_demo.data.sources import load_dataset
    from rnn_demo.engine.persistence import ModelFileError, load_model

    if isinstance(index, (int, np.integer)) and not isinstance(index, bool) and index < 0:
        raise ConfigError(f"--index must be 0 or more; got {index}")  # before any loading
    loaded = load_model(model_path)
    try:
        numpy_model = NumpyModel.from_keras(loaded.model)
    except ValueError as error:
        raise ModelFileError(f"{loaded.path.name}: cannot be re-run in NumPy: {error}") from error
    data = load_dataset(dataset or loaded.metadata.get("dataset", "mnist"), data_dir, need_train=False)
    index = check_index(index, data.n_valid)
    true_class = int(data.y_valid[index])
    explained = explain_digit(numpy_model, data.valid_sequences[index], true_class)
    return {
        "model": str(loaded.path),
        "arch": loaded.metadata.get("arch"),
        "dataset": data.name,
        "data_source": data.source,
        "data_description": data.description,
        "split": "validation",
        "index": index,
        "true_name": data.class_names[true_class],
        "predicted_name": data.class_names[explained["predicted_class"]],
        **explained,
    }


def human_lines(explained: dict) -> list[str]:
    """A short table of :func:`explain_digit`'s numbers for a terminal."""
    true_class, predicted = explained["true_class"], explained["predicted_class"]
    probability = explained["probabilities"][predicted]
    lines = [
        f"true class: {true_class}, predicted: {predicted} (probability {probability:.4f}); "
        f"gradients of the cross-entropy of class {explained['loss_class']} (L = {explained['loss']:.4f})",
    ]
    state_keys = list(explained["state_gradient_norms"])
    lines.append(
        "row  P(pred) so far  importance   |dL/dx_t|  "
        + "  ".join(f"|dL/dh_t| {key}" for key in state_keys)
    )
    for row in range(len(explained["input_gradient_norms"])):
        states = "  ".join(
            f"{explained['state_gradient_norms'][key][row]:>{len(key) + 10}.3e}" for key in state_keys
        )
        lines.append(
            f"{row + 1:>3}  {explained['readout_probabilities'][row][predicted]:>14.4f}  "
            f"{explained['row_importance'][row]:>10.4f}  {explained['input_gradient_norms'][row]:>10.3e}  "
            + states
        )
    return lines
