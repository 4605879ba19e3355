"""Saving and loading models: round trip, metadata, and files that must be refused."""

import io
import json
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.engine.model_file import app_parameters, check_architecture, validate_metadata
from rnn_demo.engine.models import build_model
from rnn_demo.engine.persistence import (
    METADATA_ENTRY,
    ModelCaps,
    ModelFileError,
    load_model,
    load_model_bytes,
    model_bytes,
    save_model,
)
from rnn_demo.engine.training import train

SHIPPED = Path(__file__).parent.parent / "rnn_demo" / "assets" / "models"


@pytest.fixture(scope="module")
def trained(embedded_digits):
    return train(TrainConfig(arch="gru", iterations=20), embedded_digits)


def test_round_trip_keeps_predictions_and_metadata(trained, embedded_digits, tmp_path):
    metadata = {**trained.summary(), "history": trained.history.to_dict()}
    path = save_model(trained.model, tmp_path / "gru.keras", metadata)
    loaded = load_model(path)
    sample = embedded_digits.valid_sequences[:50]
    # The trained GRU predicts through XLA (the engine compiles its steps so), the
    # loaded one through TensorFlow's own kernels: the same weights, float32 rounding apart.
    np.testing.assert_allclose(
        np.asarray(loaded.model.predict_on_batch(sample)),
        np.asarray(trained.model.predict_on_batch(sample)),
        rtol=1e-5, atol=1e-5,
    )
    assert loaded.metadata["arch"] == "gru"
    assert loaded.metadata["history"]["train_loss"] == trained.history.train_loss


def test_model_bytes_is_the_same_single_file(trained, tmp_path):
    path = tmp_path / "download.keras"
    path.write_bytes(model_bytes(trained.model, {"arch": "gru"}))
    assert load_model(path).metadata == {"arch": "gru"}


def test_name_must_end_in_keras(trained, tmp_path):
    with pytest.raises(ModelFileError, match="must end in .keras"):
        save_model(trained.model, tmp_path / "model.h5", {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"definitely not a model", "not a zip archive"),
    ],
)
def test_garbage_files_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.keras"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_a_zip_without_a_model_and_a_truncated_model_are_refused(trained, tmp_path):
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="no config.json inside"):
        load_model(other)
    whole = save_model(trained.model, tmp_path / "whole.keras", {}).read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelFileError):
        load_model(truncated)


def test_missing_and_oversized_files(trained, tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "missing.keras")
    path = save_model(trained.model, tmp_path / "big.keras", {})
    with pytest.raises(ModelFileError, match="over this server's 0.0 MiB limit"):
        load_model(path, max_bytes=1000)


def test_lambda_layer_is_refused_in_safe_mode(tmp_path):
    inputs = keras.Input(shape=(16, 16))
    flattened = keras.layers.Flatten()(inputs)
    doubled = keras.layers.Lambda(lambda values: values * 2)(flattened)
    model = keras.Model(inputs, keras.layers.Dense(10)(doubled))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="Keras refused to load it"):
        load_model(path)


def test_wrong_shape_model_is_refused(tmp_path):
    inputs = keras.Input(shape=(28, 28))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    path = tmp_path / "wide.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match=r"maps \(28, 28\) to \(10,\); this app needs \(16, 16\)"):
        load_model(path)
    with zipfile.ZipFile(path) as archive:
        assert METADATA_ENTRY not in archive.namelist()


def test_uploaded_bytes_load_from_a_private_folder_that_is_then_removed(trained, tmp_path, monkeypatch):
    data = model_bytes(trained.model, {"arch": "gru"})
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # watch where the upload goes
    loaded = load_model_bytes(data, "mine.keras", max_bytes=len(data))
    assert loaded.metadata == {"arch": "gru"} and loaded.path.name == "mine.keras"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "mine.keras: the file is empty"),
        (b"PK\x03\x04 truncated", "mine.keras: "),
        (b"x" * 2000, "mine.keras: 0.0 MiB is over this server's 0.0 MiB limit"),
    ],
)
def test_bad_uploads_are_refused_with_the_uploaded_name(data, message, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ModelFileError, match=message):
        load_model_bytes(data, "mine.keras", max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


def test_uploaded_lambda_model_is_refused(tmp_path):
    inputs = keras.Input(shape=(16, 16))
    outputs = keras.layers.Dense(10)(keras.layers.Lambda(lambda v: v[:, -1] * 2)(inputs))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ModelFileError, match="evil.keras: Keras refused to load it"):
        load_model_bytes(path.read_bytes(), "evil.keras")


# ---------------------------------------------------------------- hostile files
# What the app's host allows by default (rnn_demo.app.limits.HostLimits), passed as caps.
HOST_CAPS = ModelCaps(max_hidden_units=256, max_layers=4)


@pytest.fixture(scope="module")
def honest_file(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("honest") / "honest.keras"
    return save_model(build_model(TrainConfig(arch="rnn", hidden_units=4)), path, {"arch": "rnn"},
                      with_twin=False).read_bytes()


def rewritten(data: bytes, *, config=None, entries: dict | None = None,
              compression: int = zipfile.ZIP_STORED) -> bytes:
    """``data`` (a .keras file) with its config.json changed by ``config`` and ``entries`` added or replaced."""
    entries = dict(entries or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", compression) as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "config.json" and config is not None:
                content = json.dumps(config(json.loads(content))).encode()
            if item.filename not in entries:
                target.writestr(item.filename, content)
        for filename, content in entries.items():
            target.writestr(filename, content)
    return buffer.getvalue()


def with_units(units: int, kind: str = "SimpleRNN"):
    def change(config):
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "SimpleRNN":
                layer["class_name"] = kind
                layer["config"]["units"] = units
        return config
    return change


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_parameters_counted_from_the_config_are_keras_own(arch, tmp_path):
    config = TrainConfig(arch=arch, hidden_units=7, layers=3)
    model = build_model(config)
    path = save_model(model, tmp_path / "m.keras", {}, with_twin=False)
    with zipfile.ZipFile(path) as archive:
        counted = check_architecture(json.loads(archive.read("config.json")), "m.keras", ModelCaps())
    assert counted == model.count_params() == app_parameters(arch, 7, 3)


def test_the_host_caps_allow_every_recipe_the_host_allows():
    largest = max(build_model(TrainConfig(arch=arch, hidden_units=256, layers=4)).count_params()
                  for arch in ARCHITECTURES)
    assert HOST_CAPS.max_parameters == largest


def test_a_huge_model_in_a_small_file_is_refused_before_any_weight_is_built(honest_file, tmp_path, monkeypatch):
    """The 252 KB file of an 8,000-unit SimpleRNN cost the web process 525 MiB; 12,000 LSTM units held a
    worker for 60 s."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for units, kind in ((8000, "SimpleRNN"), (12000, "LSTM"), (257, "GRU")):
        data = rewritten(honest_file, config=with_units(units, kind))
        assert len(data) < 100_000
        started = time.perf_counter()
        with pytest.raises(ModelFileError, match=f"its {kind} layer has {units} units; this server reads 1 to 256"):
            load_model_bytes(data, "big.keras", caps=HOST_CAPS)
        assert time.perf_counter() - started < 1.0
    assert list(tmp_path.iterdir()) == []


def test_too_many_layers_or_parameters_are_refused(honest_file):
    def stacked(config):
        layers = config["config"]["layers"]
        recurrent = next(layer for layer in layers if layer["class_name"] == "SimpleRNN")
        layers[1:2] = [recurrent] * 5
        return config

    with pytest.raises(ModelFileError, match="more than 4 recurrent layers"):
        load_model_bytes(rewritten(honest_file, config=stacked), "deep.keras", caps=HOST_CAPS)

    def wide_head(config):
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["units"] = 10**6
        return config

    with pytest.raises(ModelFileError, match=f"over {HOST_CAPS.max_parameters:,} parameters"):
        load_model_bytes(rewritten(honest_file, config=wide_head), "wide.keras", caps=HOST_CAPS)
    with pytest.raises(ModelFileError, match="a layer of type 'Conv2D'"):
        load_model_bytes(rewritten(honest_file, config=with_units(4, "Conv2D")), "conv.keras")


def test_a_metadata_bomb_is_refused_from_the_zip_directory(honest_file):
    """1.05 MB on the wire whose rnn_demo.json inflates to 1 GB took a worker to 2.8 GB for 26 s."""
    bomb = rewritten(honest_file, entries={METADATA_ENTRY: b" " * 200 * 2**20}, compression=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match="rnn_demo.json' inside is 209,715,200 bytes; this server reads at most"):
        load_model_bytes(bomb, "bomb.keras")
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < 1.0 and peak < 20 * 2**20, (seconds, peak)
    # Under the size cap but compressed past any JSON's ratio.
    dense = rewritten(honest_file, entries={"assets/x": b"\0" * 60_000}, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError, match="compressed over 100:1"):
        load_model_bytes(dense, "dense.keras")
    crowded = rewritten(honest_file, entries={f"x{index}": b"" for index in range(20)})
    with pytest.raises(ModelFileError, match="20 files inside|24 files inside"):
        load_model_bytes(crowded, "crowded.keras")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"dataset": ["mnist"]}, "dataset must be one of mnist, fashion; got a list"),
        ({"arch": {"x": 1}}, "arch must be one of rnn, .*; got a JSON object"),
        ({"arch": "x` [Log in](https://evil.example)"}, "arch must be one of"),
        ({"iterations": "12"}, "iterations must be a whole number; got '12'"),
        ({"iterations": True}, "iterations must be a whole number; got True"),
        ({"val_accuracy": "0.9"}, "val_accuracy must be a number"),
        ({"message": "x" * 501}, "message must be a text of at most 500 characters"),
        ({"config": {"hidden_units": 10**9}}, "config is not this app's: hidden_units must be between"),
        ({"config": {"arch": ["lstm"]}}, "config is not this app's"),
        ({"config": {"learning_rate": 10**400}}, "config is not this app's"),  # found by tests/test_hostile_input.py
        ({"history": {"train_loss": ["0.1"]}}, "history.train_loss must be a number"),
        ([1, 2], "is not a JSON object"),
    ],
)
def test_metadata_is_typed_field_by_field(honest_file, metadata, message):
    data = rewritten(honest_file, entries={METADATA_ENTRY: json.dumps(metadata)})
    with pytest.raises(ModelFileError, match=f"typed.keras: (its )?.*{message}"):
        load_model_bytes(data, "typed.keras")


def test_valid_metadata_comes_back_whole_and_unknown_fields_are_dropped(honest_file):
    metadata = {"arch": "gru", "dataset": "fashion", "iterations": 3, "val_loss": float("nan"), "temperature": 1.5,
                "config": TrainConfig(arch="gru").to_dict(), "history": {"train_loss": [0.5, 0.25]},
                "colour": "<b>red</b>"}
    loaded = load_model_bytes(rewritten(honest_file, entries={METADATA_ENTRY: json.dumps(metadata)}), "ok.keras")
    assert loaded.metadata.keys() == metadata.keys() - {"colour"}
    assert loaded.metadata["history"] == {"train_loss": [0.5, 0.25]}


def test_a_damaged_metadata_entry_is_refused(honest_file):
    for content in (b"{not json", b"\xff\xfe", b"[" * 100_000):
        with pytest.raises(ModelFileError, match="damaged rnn_demo.json inside"):
            load_model_bytes(rewritten(honest_file, entries={METADATA_ENTRY: content}), "bad.keras")


def test_a_zip_of_many_members_is_refused_before_its_directory_is_parsed(tmp_path):
    """200,000 empty members fit in 17 MB; parsing their directory cost 116 MiB and 3 s."""
    path = tmp_path / "crowd.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(50_000):
            archive.writestr(str(index), b"")
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="crowd.keras: 50000 files inside; a model file of this app has at most 16"):
        load_model(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**20, peak


def test_every_field_the_app_writes_survives_the_typing_whole(trained):
    """A field the app starts writing must be typed here too, not silently dropped."""
    written = {**trained.summary(), "history": trained.history.to_dict()}
    assert validate_metadata(json.loads(json.dumps(written)), "run.keras") == written
    for path in sorted(SHIPPED.glob("*.keras")):
        with zipfile.ZipFile(path) as archive:
            raw = json.loads(archive.read(METADATA_ENTRY))
        assert validate_metadata(raw, path.name) == raw, path.name
