"""A model's NumPy twin as plain arrays, and the ``.npz`` file that holds it.

The web process never imports Keras: it receives a trained model as the
arrays of its :class:`~rnn_demo.twins.model.NumpyModel` (from a worker, or from the
``.npz`` written beside every saved ``.keras`` file) and rebuilds the twin
here. The layout, one array per name::

    recurrent_1/kind                  ()  "rnn" | "gru" | "lstm"
    recurrent_1/forward/kernel        (inputs, gate columns)
    recurrent_1/forward/recurrent_kernel   (units, gate columns)
    recurrent_1/forward/bias          (gate columns,) or GRU's (2, 3 units)
    recurrent_1/backward/…            the same, bidirectional layers only
    …                                 recurrent_2, … bottom to top
    logits/kernel                     (features, 10)
    logits/bias                       (10,)

The file adds ``metadata``: a 0-d string array holding JSON (the run's
summary: config, dataset, scores). Files are read with ``allow_pickle=False``,
so loading one runs no code.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnn_demo.errors import UserError
from rnn_demo.twins.cells import GRUCell, LSTMCell, SimpleRNNCell
from rnn_demo.twins.model import BACKWARD, FORWARD, NumpyModel, NumpyRecurrentLayer

CELL_CLASSES = {"rnn": SimpleRNNCell, "gru": GRUCell, "lstm": LSTMCell}
WEIGHT_NAMES = ("kernel", "recurrent_kernel", "bias")
METADATA_KEY = "metadata"


class TwinFileError(UserError, ValueError):
    """A twin ``.npz`` file is missing, damaged or not laid out as this module writes it."""


@dataclass(frozen=True, eq=False)
class Twin:
    """A NumPy twin and the metadata saved with it (``{}`` when there is none)."""

    numpy_model: NumpyModel
    metadata: dict


def twin_arrays(numpy_model: NumpyModel) -> dict[str, np.ndarray]:
    """The arrays that rebuild ``numpy_model`` (layout in the module docstring)."""
    arrays: dict[str, np.ndarray] = {}
    for layer in numpy_model.layers:
        arrays[f"{layer.name}/kind"] = np.array(layer.kind)
        cells = {FORWARD: layer.forward, BACKWARD: layer.backward}
        for direction, cell in cells.items():
            if cell is None:
                continue
            for weight in WEIGHT_NAMES:
                arrays[f"{layer.name}/{direction}/{weight}"] = np.asarray(getattr(cell, weight))
    arrays["logits/kernel"] = numpy_model.head_kernel
    arrays["logits/bias"] = numpy_model.head_bias
    return arrays


def twin_from_arrays(arrays: Mapping[str, np.ndarray]) -> NumpyModel:
    """Rebuild a :class:`NumpyModel` from :func:`twin_arrays`' layout.

    Raises :class:`TwinFileError` naming the first missing or unknown entry.
    """
    layers = []
    index = 1
    while f"recurrent_{index}/kind" in arrays:
        name = f"recurrent_{index}"
        kind = str(arrays[f"{name}/kind"])
        if kind not in CELL_CLASSES:
            raise TwinFileError(f"{name}/kind is {kind!r}; expected one of {', '.join(CELL_CLASSES)}")
        cells = {}
        for direction in (FORWARD, BACKWARD):
            keys = [f"{name}/{direction}/{weight}" for weight in WEIGHT_NAMES]
            present = [key in arrays for key in keys]
            if direction == BACKWARD and not any(present):
                cells[direction] = None
                continue
            if not all(present):
                missing = next(key for key, here in zip(keys, present, strict=True) if not here)
                raise TwinFileError(f"missing array {missing}")
            cells[direction] = CELL_CLASSES[kind](*(np.asarray(arrays[key]) for key in keys))
        layers.append(NumpyRecurrentLayer(name, cells[FORWARD], cells[BACKWARD]))
        index += 1
    if not layers:
        raise TwinFileError("missing array recurrent_1/kind: no recurrent layer")
    for key in ("logits/kernel", "logits/bias"):
        if key not in arrays:
            raise TwinFileError(f"missing array {key}")
    try:
        return NumpyModel(layers, np.asarray(arrays["logits/kernel"]), np.asarray(arrays["logits/bias"]))
    except ValueError as error:
        raise TwinFileError(str(error)) from error


def twin_path(model_path: str | os.PathLike) -> Path:
    """Where the twin of ``model_path`` (``x.keras``) lives: ``x.npz`` beside it."""
    return Path(model_path).with_suffix(".npz")


def save_twin(path: str | os.PathLike, numpy_model: NumpyModel, metadata: dict) -> Path:
    """Write ``numpy_model`` and ``metadata`` (JSON-ready) to ``path`` (``.npz``)."""
    path = Path(path)
    arrays = twin_arrays(numpy_model)
    arrays[METADATA_KEY] = np.array(json.dumps(metadata))
    with path.open("wb") as file:
        np.savez_compressed(file, **arrays)
    return path


def load_twin(path: str | os.PathLike) -> Twin:
    """Read a twin written by :func:`save_twin` (no code runs from the file)."""
    path = Path(path)
    if not path.is_file():
        raise TwinFileError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise TwinFileError(f"{path}: not a readable .npz file ({error})") from error
    metadata: dict = {}
    if METADATA_KEY in arrays:
        try:
            loaded = json.loads(str(arrays.pop(METADATA_KEY)))
        except json.JSONDecodeError as error:
            raise TwinFileError(f"{path}: damaged metadata ({error})") from error
        metadata = loaded if isinstance(loaded, dict) else {}
    try:
        return Twin(twin_from_arrays(arrays), metadata)
    except TwinFileError as error:
        raise TwinFileError(f"{path}: {error}") from error
