"""Save and load trained models: Keras's native ``.keras`` file plus our metadata.

The metadata (config, dataset, metrics, history) travels inside the same
``.keras`` archive as one extra JSON entry, so a downloaded model is a single
file. Loading uses Keras's safe mode (no code runs from the file: Lambda
layers and unknown custom objects are refused) and checks that the model
reads ``(16, 16)`` sequences and gives 10 outputs.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras

from rnn_demo.models import CLASSES, INPUTS_PER_STEP, TIMESTEPS

METADATA_ENTRY = "rnn_demo.json"


class ModelFileError(RuntimeError):
    """A model file is missing, unreadable, unsafe or of the wrong shape."""


@dataclass(frozen=True)
class LoadedModel:
    model: keras.Model
    metadata: dict  # {} for a .keras file saved by something else
    path: Path


def save_model(model: keras.Model, path: str | os.PathLike, metadata: dict) -> Path:
    """Write ``model`` to ``path`` (must end in ``.keras``) with ``metadata`` inside."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelFileError(f"{path}: a model file name must end in .keras")
    if path.parent and not path.parent.is_dir():
        raise ModelFileError(f"{path}: folder {path.parent} does not exist")
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(METADATA_ENTRY, json.dumps(metadata, indent=2))
    return path


def model_bytes(model: keras.Model, metadata: dict) -> bytes:
    """The ``.keras`` file ``save_model`` would write, as bytes (for a download)."""
    with tempfile.TemporaryDirectory() as folder:
        path = save_model(model, Path(folder) / "model.keras", metadata)
        return path.read_bytes()


def load_model(path: str | os.PathLike, *, max_bytes: int | None = None) -> LoadedModel:
    """Load a ``.keras`` file in safe mode and check it fits this app."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ModelFileError(
            f"{path.name}: {size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.1f} MiB limit"
        )
    if size == 0 or not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path.name}: not a Keras .keras model file (it is empty or not a zip archive)")
    metadata: dict = {}
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ModelFileError(f"{path.name}: not a Keras .keras model file (no config.json inside)")
            if METADATA_ENTRY in archive.namelist():
                metadata = json.loads(archive.read(METADATA_ENTRY))
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{path.name}: damaged model file ({error})") from error
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # noqa: BLE001 - Keras raises many types; all mean "refused"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelFileError(f"{path.name}: Keras refused to load it: {reason}") from error
    check_model_shape(model, path.name)
    return LoadedModel(model, metadata if isinstance(metadata, dict) else {}, path)


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
