"""Save and load trained models: Keras's native ``.keras`` file plus our metadata.

The metadata (config, dataset, metrics, history) travels inside the same
``.keras`` archive as one extra JSON entry, so a downloaded model is a single
file. :func:`save_model` also writes the model's NumPy twin beside it
(``x.keras`` → ``x.npz``, see :mod:`rnn_demo.twins.twin_file`), which the web process
reads without Keras. Loading uses Keras's safe mode (no code runs from the file: Lambda
layers and unknown custom objects are refused) and checks that the model
reads ``(16, 16)`` sequences and gives 10 outputs. Before Keras reads a byte,
:mod:`rnn_demo.engine.model_file` checks the zip's directory, the model's size
against the host's :class:`~rnn_demo.engine.model_file.ModelCaps` and the
metadata's types.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras

from rnn_demo.engine.model_file import (
    METADATA_ENTRY,
    UPLOAD_FOLDER_PREFIX,
    ModelCaps,
    ModelFileError,
    check_model_file,
    check_size,
)
from rnn_demo.engine.models import CLASSES, INPUTS_PER_STEP, TIMESTEPS
from rnn_demo.twins.model import NumpyModel
from rnn_demo.twins.twin_file import save_twin, twin_path


@dataclass(frozen=True)
class LoadedModel:
    model: keras.Model
    metadata: dict  # {} for a .keras file saved by something else
    path: Path


def save_model(
    model: keras.Model, path: str | os.PathLike, metadata: dict, *, with_twin: bool = True
) -> Path:
    """Write ``model`` to ``path`` (must end in ``.keras``) with ``metadata`` inside.

    With ``with_twin`` the NumPy twin and the same metadata go to ``path``
    with the suffix ``.npz``.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"{path}: a model file name must end in .keras")
    if path.parent and not path.parent.is_dir():
        raise ModelFileError(f"{path}: folder {path.parent} does not exist")
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(METADATA_ENTRY, json.dumps(metadata, indent=2))
    if with_twin:
        save_twin(twin_path(path), NumpyModel.from_keras(model), metadata)
    return path


def model_bytes(model: keras.Model, metadata: dict) -> bytes:
    """The ``.keras`` file ``save_model`` would write, as bytes (for a download)."""
    with tempfile.TemporaryDirectory() as folder:
        path = save_model(model, Path(folder) / "model.keras", metadata, with_twin=False)
        return path.read_bytes()


def load_model(
    path: str | os.PathLike, *, max_bytes: int | None = None, display_name: str | None = None,
    caps: ModelCaps | None = None,
) -> LoadedModel:
    """Load a ``.keras`` file in safe mode and check it fits this app.

    ``display_name`` names the file in error messages (default: its file name);
    ``caps`` bound the model (default: :class:`ModelCaps`, the config's bounds).
    """
    path = Path(path)
    name = display_name or path.name
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    metadata = check_model_file(path, name, caps or ModelCaps(), max_bytes)
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - Keras raises many types; all mean "refused"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelFileError(f"{name}: Keras refused to load it: {reason}") from error
    check_model_shape(model, name)
    return LoadedModel(model, metadata, path)


def load_model_bytes(data: bytes, name: str, *, max_bytes: int | None = None,
                     caps: ModelCaps | None = None) -> LoadedModel:
    """Load an uploaded ``.keras`` file from its bytes.

    The size is checked before anything is written; the bytes then go to a
    fresh private temporary folder (readable by this process's user only, its
    name unguessable) that is deleted before this returns, whatever happens, so
    no other visitor can ever reach the file. Its name carries this process's
    id: if the process is killed mid-load, its pool removes the folder.
    """
    check_size(name, len(data), max_bytes)
    with tempfile.TemporaryDirectory(prefix=f"{UPLOAD_FOLDER_PREFIX}{os.getpid()}_") as folder:
        path = Path(folder) / "upload.keras"
        path.write_bytes(data)
        loaded = load_model(path, display_name=name, caps=caps)
    return LoadedModel(loaded.model, loaded.metadata, Path(name))


def check_model_shape(model: keras.Model, name: str) -> None:
    """Refuse a model that does not map ``(batch, 16, 16)`` to ``(batch, 10)``."""
    try:
        input_shape = tuple(model.input_shape)
        output_shape = tuple(model.output_shape)
    except (AttributeError, ValueError) as error:
        raise ModelFileError(f"{name}: the model has no single input and output ({error})") from error
    if input_shape[1:] != (TIMESTEPS, INPUTS_PER_STEP) or output_shape[1:] != (CLASSES,):
        raise ModelFileError(
            f"{name}: the model maps {input_shape[1:]} to {output_shape[1:]}; this app needs "
            f"({TIMESTEPS}, {INPUTS_PER_STEP}) rows in and {CLASSES} class scores out"
        )
