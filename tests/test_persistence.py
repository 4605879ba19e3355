"""Saving and loading models: round trip, metadata, and files that must be refused."""

import tempfile
import zipfile

import keras
import numpy as np
import pytest

from rnn_demo.config import TrainConfig
from rnn_demo.engine.persistence import (
    METADATA_ENTRY,
    ModelFileError,
    load_model,
    load_model_bytes,
    model_bytes,
    save_model,
)
from rnn_demo.engine.training import train


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
