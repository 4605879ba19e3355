"""What a ``.keras`` file may hold, checked from its zip directory and JSON before Keras reads it.

An uploaded file is untrusted: a few KB can declare a model of 12,000 units or
a metadata entry that inflates to a gigabyte. :func:`check_archive` refuses
such a file from the zip's directory (member count, sizes, compression ratio)
before any member is read; :func:`check_architecture` counts the model's
recurrent layers, hidden units and parameters from ``config.json`` against a
host's :class:`ModelCaps` before Keras builds a weight; :func:`validate_metadata`
types ``rnn_demo.json`` field by field; :func:`check_model_file` runs them all.
No Keras here: these run first, and anywhere (the web process checks an upload
before any worker sees it). See docs/hosting.md.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rnn_demo.config import ARCHITECTURES, BOUNDS, DATASETS, ConfigError, TrainConfig
from rnn_demo.errors import UserError

METADATA_ENTRY = "rnn_demo.json"
CONFIG_ENTRY = "config.json"
# A 20,000-iteration history (TrainConfig's most) is about 0.56 MB; the shipped
# 1,500-iteration models' entries are 42 KB.
MAX_METADATA_BYTES = 2**20
MAX_CONFIG_BYTES = 2**18  # the largest app model's config.json is 7 KB
MAX_OTHER_MEMBER_BYTES = 2**16  # Keras's own metadata.json is 64 bytes
MAX_MEMBERS = 16  # an app model's file has four
END_RECORD_SIGNATURE = b"PK\x05\x06"  # the zip's end of central directory record
END_RECORD_SIZE = 22
# Keras stores members uncompressed; JSON deflates about 5:1, float weights barely.
MAX_COMPRESSION_RATIO = 100
# model.weights.h5: the weights and their optimizer copies (about 12.5 bytes a
# parameter in the shipped files) plus HDF5's headers.
WEIGHT_FILE_BYTES_PER_PARAMETER = 16
WEIGHT_FILE_OVERHEAD = 2**20
MAX_TEXT_CHARS = 500  # a metadata string (a description, a device name)
UPLOAD_FOLDER_PREFIX = "rnn_demo_upload_"  # + the worker's pid + "_": swept when that worker dies
RECURRENT = ("SimpleRNN", "GRU", "LSTM")
# Layers a model of this app may hold (Lambda and the rest only to be refused
# by Keras's safe mode or the shape check with their own messages).
LAYERS = (*RECURRENT, "Bidirectional", "Dense", "InputLayer", "Flatten", "Dropout", "Lambda")
MODELS = ("Functional", "Sequential", "Model")
GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}
INPUTS_PER_STEP = 16  # rows of 16 pixels (rnn_demo.engine.models, which imports Keras)
CLASSES = 10


class ModelFileError(UserError, RuntimeError):
    """A model file is missing, unreadable, unsafe, too big or of the wrong shape."""


def recurrent_parameters(kind: str, inputs: int, units: int, *, use_bias: bool = True,
                         reset_after: bool = True) -> int:
    """Weights of one Keras ``kind`` layer reading ``inputs`` features (GRU: Keras's default ``reset_after``)."""
    gates = GATES[kind]
    biases = (2 if kind == "GRU" and reset_after else 1) * gates * units if use_bias else 0
    return gates * units * (inputs + units) + biases


def app_parameters(arch: str, units: int, layers: int) -> int:
    """Parameters of this app's ``arch`` model (:func:`rnn_demo.engine.models.build_model`)."""
    kind = {"rnn": "SimpleRNN", "birnn": "SimpleRNN", "lstm": "LSTM", "bilstm": "LSTM"}.get(arch, "GRU")
    if arch in ("birnn", "bilstm"):
        return 2 * recurrent_parameters(kind, INPUTS_PER_STEP, units) + (2 * units + 1) * CLASSES
    stack = layers if arch == "deep" else 1
    total = recurrent_parameters(kind, INPUTS_PER_STEP, units)
    total += (stack - 1) * recurrent_parameters(kind, units, units)
    return total + (units + 1) * CLASSES


@dataclass(frozen=True)
class ModelCaps:
    """The largest model a host reads: by default :data:`~rnn_demo.config.BOUNDS`' own.

    ``max_parameters`` is the largest model of this app within the two caps
    (the deep GRU at ``max_layers``, or the bidirectional LSTM).
    """

    max_hidden_units: int = int(BOUNDS["hidden_units"][1])
    max_layers: int = int(BOUNDS["layers"][1])

    @property
    def max_parameters(self) -> int:
        return max(app_parameters(arch, self.max_hidden_units, self.max_layers) for arch in ARCHITECTURES)

    @property
    def max_weight_file_bytes(self) -> int:
        return WEIGHT_FILE_BYTES_PER_PARAMETER * self.max_parameters + WEIGHT_FILE_OVERHEAD


def check_size(name: str, size: int, max_bytes: int | None) -> None:
    """Refuse an empty file, or one over ``max_bytes`` (a host's upload limit)."""
    if size == 0:
        raise ModelFileError(f"{name}: the file is empty")
    if max_bytes is not None and size > max_bytes:
        raise ModelFileError(
            f"{name}: {size / 2**20:.1f} MiB is over this server's {max_bytes / 2**20:.1f} MiB limit"
        )


def check_model_file(source: Path | bytes, name: str, caps: ModelCaps, max_bytes: int | None = None) -> dict:
    """Every check that needs no Keras, on a file (``source``: its path or its bytes):
    size, zip directory, architecture against ``caps``; the typed metadata (``{}``: none)."""
    check_size(name, source.stat().st_size if isinstance(source, Path) else len(source), max_bytes)
    with open(source, "rb") if isinstance(source, Path) else io.BytesIO(source) as stream:
        if not zipfile.is_zipfile(stream):
            raise ModelFileError(f"{name}: not a Keras .keras model file (it is not a zip archive)")
        check_member_count(stream, name)
        try:
            with zipfile.ZipFile(stream) as archive:
                check_archive(archive, name, caps)
                if CONFIG_ENTRY not in archive.namelist():
                    raise ModelFileError(f"{name}: not a Keras .keras model file (no config.json inside)")
                check_architecture(read_json(archive, CONFIG_ENTRY, name), name, caps)
                if METADATA_ENTRY not in archive.namelist():
                    return {}
                return validate_metadata(read_json(archive, METADATA_ENTRY, name), name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as error:
            raise ModelFileError(f"{name}: damaged model file ({error})") from error


def check_member_count(stream: BinaryIO, name: str) -> None:
    """Refuse a zip (``stream``, seekable) whose end record counts over :data:`MAX_MEMBERS`
    members, before ``zipfile`` parses its directory (200,000 empty members in 17 MB
    cost 116 MiB and 3 s).

    Finds the end record as ``zipfile`` does: at the very end, else the last one
    within a comment's reach (64 KiB).
    """
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - END_RECORD_SIZE - 2**16))
    tail = stream.read()
    start = len(tail) - END_RECORD_SIZE
    if not tail[start:].startswith(END_RECORD_SIGNATURE):
        start = tail.rfind(END_RECORD_SIGNATURE)
    if start < 0 or len(tail) - start < END_RECORD_SIZE:
        return  # no end record: zipfile refuses it with its own message
    (members,) = struct.unpack("<H", tail[start + 10 : start + 12])
    if members > MAX_MEMBERS:
        raise ModelFileError(f"{name}: {members} files inside; a model file of this app has at most {MAX_MEMBERS}")


def check_archive(archive: zipfile.ZipFile, name: str, caps: ModelCaps) -> None:
    """Refuse ``archive`` from its directory alone: too many members, one too big or too compressed."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ModelFileError(f"{name}: {len(members)} files inside; a model file of this app has at most {MAX_MEMBERS}")
    for member in members:
        cap = {METADATA_ENTRY: MAX_METADATA_BYTES, CONFIG_ENTRY: MAX_CONFIG_BYTES,
               "model.weights.h5": caps.max_weight_file_bytes}.get(member.filename, MAX_OTHER_MEMBER_BYTES)
        if member.file_size > cap:
            raise ModelFileError(
                f"{name}: {member.filename[:80]!r} inside is {member.file_size:,} bytes; this server reads at most {cap:,}"
            )
        if member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1):
            raise ModelFileError(
                f"{name}: {member.filename[:80]!r} inside is compressed over {MAX_COMPRESSION_RATIO}:1 "
                "(a compression bomb, not a model)"
            )


def read_json(archive: zipfile.ZipFile, entry: str, name: str):
    """The JSON value of ``entry`` (already size-checked by :func:`check_archive`)."""
    try:
        return json.loads(archive.read(entry))
    except (ValueError, RecursionError) as error:  # JSONDecodeError, bad UTF-8, too deep
        raise ModelFileError(f"{name}: damaged {entry} inside ({type(error).__name__})") from None


def check_architecture(config: object, name: str, caps: ModelCaps) -> int:
    """The parameters of the model ``config.json`` describes; refused over ``caps``, before Keras builds it.

    Walks the layers in order, keeping the width of what flows between them, and
    counts each layer's weights as Keras would make them.
    """
    if not isinstance(config, dict) or config.get("class_name") not in MODELS:
        raise ModelFileError(f"{name}: config.json does not describe a Keras model")
    layers = (config.get("config") or {}).get("layers") if isinstance(config.get("config"), dict) else None
    if not isinstance(layers, list):
        raise ModelFileError(f"{name}: config.json lists no layers")
    shape: tuple[int, ...] = ()
    parameters = recurrent = 0
    for layer in layers:
        kind = layer.get("class_name") if isinstance(layer, dict) else None
        if kind not in LAYERS:
            raise ModelFileError(
                f"{name}: a layer of type {str(kind)[:40]!r}; this app reads models of "
                "SimpleRNN, GRU, LSTM, Bidirectional and Dense layers"
            )
        settings = layer.get("config")
        if not isinstance(settings, dict):
            raise ModelFileError(f"{name}: config.json's {kind} layer has no settings")
        if kind == "InputLayer":
            shape = _dimensions(settings.get("batch_shape"), name)[1:]
        elif kind == "Flatten":
            shape = (math.prod(shape),)
        elif kind == "Dense":
            units = _units(settings, kind, name, caps.max_parameters)
            parameters += _width(shape) * units + (units if settings.get("use_bias", True) else 0)
            shape = (*shape[:-1], units)
        elif kind in RECURRENT or kind == "Bidirectional":
            recurrent += 1
            if recurrent > caps.max_layers:
                raise ModelFileError(f"{name}: more than {caps.max_layers} recurrent layers, this server's limit")
            if kind == "Bidirectional":
                # Keras copies the forward layer backwards unless it is given its own.
                forward = settings.get("layer")
                parts = [forward, settings.get("backward_layer") or forward]
            else:
                parts = [layer]
            widths, sequences = [], False
            for part in parts:
                weights, units, sequences = _recurrent(part, _width(shape), name, caps)
                parameters += weights
                widths.append(units)
            concatenated = kind != "Bidirectional" or settings.get("merge_mode", "concat") == "concat"
            merged = sum(widths) if concatenated else max(widths)
            shape = (*shape[:-1], merged) if sequences else (merged,)
        if parameters > caps.max_parameters:
            raise ModelFileError(
                f"{name}: the model has over {caps.max_parameters:,} parameters, the most this server reads"
            )
    return parameters


def _recurrent(layer: object, inputs: int, name: str, caps: ModelCaps) -> tuple[int, int, bool]:
    """``(parameters, units, return_sequences)`` of one recurrent layer's config."""
    kind = layer.get("class_name") if isinstance(layer, dict) else None
    if kind not in RECURRENT or not isinstance(layer.get("config"), dict):
        raise ModelFileError(f"{name}: a Bidirectional layer around {str(kind)[:40]!r}")
    settings = layer["config"]
    units = _units(settings, kind, name, caps.max_hidden_units)
    parameters = recurrent_parameters(kind, inputs, units, use_bias=settings.get("use_bias", True) is not False,
                                      reset_after=settings.get("reset_after", True) is not False)
    return parameters, units, settings.get("return_sequences") is True


def _dimensions(batch_shape: object, name: str) -> tuple[int, ...]:
    if not isinstance(batch_shape, list) or not batch_shape or not all(
        dimension is None or (type(dimension) is int and 0 < dimension <= 2**20) for dimension in batch_shape[1:]
    ):
        raise ModelFileError(f"{name}: config.json's input shape is not a list of sizes")
    return tuple(dimension or 1 for dimension in batch_shape)


def _width(shape: tuple[int, ...]) -> int:
    return shape[-1] if shape else 1


def _units(settings: dict, kind: str, name: str, most: int) -> int:
    units = settings.get("units")
    if type(units) is not int or not 1 <= units <= most:
        raise ModelFileError(f"{name}: its {kind} layer has {str(units)[:20]} units; this server reads 1 to {most:,}")
    return units


# ------------------------------------------------------------------- metadata

STATUSES = ("completed", "stopped", "diverged")
COUNTS = ("params", "n_train", "n_valid", "iterations")
# temperature: the calibration's softmax temperature (rnn_demo.app.shipped).
FIGURES = ("val_accuracy", "val_loss", "train_seconds", "samples_per_second", "temperature")
TEXTS = ("data_source", "data_description", "message", "device", "backend")
HISTORY = ("train_loss", "val_iterations", "val_loss", "val_accuracy")
MAX_HISTORY = int(BOUNDS["iterations"][1])


def validate_metadata(value: object, name: str) -> dict:
    """``rnn_demo.json``'s value, typed field by field; unknown fields are dropped.

    ``arch`` and ``dataset`` must be this app's names, counts whole numbers,
    figures numbers, texts short strings, ``config`` a valid
    :class:`~rnn_demo.config.TrainConfig` and ``history`` lists of numbers.
    Anything else is a :class:`ModelFileError` naming the field.
    """
    if not isinstance(value, dict):
        raise ModelFileError(f"{name}: its {METADATA_ENTRY} is not a JSON object")
    clean: dict = {}
    for field, choices in (("arch", ARCHITECTURES), ("dataset", DATASETS), ("status", STATUSES)):
        if field in value:
            clean[field] = _choice(value[field], choices, field, name)
    for field in COUNTS:
        if field in value:
            if type(value[field]) is not int or value[field] < 0:
                raise _field_error(name, field, "a whole number", value[field])
            clean[field] = value[field]
    for field in FIGURES:
        if field in value:
            clean[field] = _number(value[field], field, name)
    for field in TEXTS:
        if field in value:
            if not isinstance(value[field], str) or len(value[field]) > MAX_TEXT_CHARS:
                raise _field_error(name, field, f"a text of at most {MAX_TEXT_CHARS} characters", value[field])
            clean[field] = value[field]
    if "config" in value:
        clean["config"] = _config(value["config"], name)
    if "history" in value:
        clean["history"] = _history(value["history"], name)
    return clean


def _field_error(name: str, field: str, expected: str, got: object) -> ModelFileError:
    return ModelFileError(f"{name}: its metadata's {field} must be {expected}; got {_kind(got)}")


def _kind(value: object) -> str:
    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'JSON object'}"
    return repr(value)[:40] if isinstance(value, (str, int, float, bool)) or value is None else type(value).__name__


def _choice(value: object, choices, field: str, name: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise _field_error(name, field, f"one of {', '.join(choices)}", value)
    return value


def _number(value: object, field: str, name: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _field_error(name, field, "a number", value)
    return value


def _config(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise _field_error(name, "config", "a JSON object", value)
    try:
        known = TrainConfig.from_dict(value).to_dict()
    except (ConfigError, TypeError, OverflowError) as error:  # unhashable choices; a 400-digit learning rate
        raise ModelFileError(f"{name}: its metadata's config is not this app's: {error}") from None
    return {key: item for key, item in value.items() if key in known}  # as written: no defaults filled in


def _history(value: object, name: str) -> dict:
    if not isinstance(value, dict):
        raise _field_error(name, "history", "a JSON object", value)
    clean = {}
    for field in (field for field in HISTORY if field in value):
        curve = value[field]
        if not isinstance(curve, list) or len(curve) > MAX_HISTORY:
            raise _field_error(name, f"history.{field}", f"a list of at most {MAX_HISTORY:,} numbers", curve)
        clean[field] = [_number(item, f"history.{field}", name) for item in curve]
    return clean
