"""Model upload on /draw and /inside (AppTest with real .keras files)."""

import keras
import pytest

from rnn_demo.config import TrainConfig
from rnn_demo.engine.persistence import model_bytes
from rnn_demo.engine.training import train
from rnn_demo.ui import resources
from tests.test_app import metric, open_page


@pytest.fixture(scope="module")
def good_upload(embedded_digits):
    result = train(TrainConfig(arch="gru", iterations=30), embedded_digits)
    return model_bytes(result.model, {**result.summary()})


def lambda_model_bytes(tmp_path) -> bytes:
    inputs = keras.Input(shape=(16, 16))
    outputs = keras.layers.Dense(10)(keras.layers.Lambda(lambda v: v[:, -1] * 2)(inputs))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    return path.read_bytes()


def dense_model_bytes(tmp_path, input_shape) -> bytes:
    inputs = keras.Input(shape=input_shape)
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(inputs))
    path = tmp_path / "dense.keras"
    keras.Model(inputs, outputs).save(path)
    return path.read_bytes()


def upload(at, name: str, data: bytes):
    at.file_uploader[0].upload(name, data).run()
    assert not at.exception, [error.value for error in at.exception]
    return at


def model_labels(at) -> list[str]:
    """The labels the visitor sees in the model switch."""
    return list(at.selectbox(key="model_choice_widget").options)


def messages(at) -> str:
    return " ".join(str(element.value) for element in [*at.error, *at.success])


@pytest.mark.parametrize("page", ["draw", "inside"])
def test_a_good_upload_becomes_the_chosen_model(page, good_upload):
    at = upload(open_page(page), "my_gru.keras", good_upload)
    chosen = at.selectbox(key="model_choice_widget")
    # A drop-down shows plain text; the upload is kept as one of the visitor's runs, with its score.
    assert chosen.format_func(chosen.value).startswith("Uploaded: my_gru.keras · ")
    assert "Loaded my_gru.keras" in messages(at)
    if page == "inside":
        assert metric(at, "Prediction")


def test_the_upload_is_not_seen_by_another_visitor(good_upload):
    mine = upload(open_page("draw"), "mine.keras", good_upload)
    assert any(label.startswith("Uploaded: mine.keras") for label in model_labels(mine))
    other = open_page("draw")
    assert not any("mine.keras" in label for label in model_labels(other))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp_path: b"", "the file is empty"),
        (lambda tmp_path: b"not a zip at all", "not a Keras .keras model file"),
        (lambda_model_bytes, "Keras refused to load it"),
        (lambda tmp_path: dense_model_bytes(tmp_path, (28, 28)), "maps (28, 28) to (10,)"),
        (lambda tmp_path: dense_model_bytes(tmp_path, (16, 16)), "can only read models built like its own"),
    ],
)
def test_bad_uploads_are_refused_with_a_message(make, message, tmp_path):
    at = upload(open_page("draw"), "bad.keras", make(tmp_path))
    assert message in messages(at)
    chosen = at.selectbox(key="model_choice_widget")
    assert not any("bad.keras" in label for label in model_labels(at))
    assert chosen.format_func(chosen.value) == "Shipped LSTM"  # nothing lost: the page keeps working


def test_an_oversized_upload_is_refused(good_upload, monkeypatch):
    monkeypatch.setenv("RNN_DEMO_MAX_UPLOAD_MB", "0.01")
    resources.host_limits.clear()
    try:
        at = upload(open_page("draw"), "big.keras", good_upload)
        assert "over this server's 0.0 MiB limit" in messages(at)
    finally:
        resources.host_limits.clear()


def test_an_upload_wider_than_the_hosts_cap_is_refused_from_its_config(good_upload, monkeypatch):
    monkeypatch.setenv("RNN_DEMO_MAX_HIDDEN", "32")  # the upload's GRU has 64 units
    resources.host_limits.clear()
    try:
        at = open_page("draw")
        reads_before = resources.worker_pool().status().jobs.get("read_upload", 0)
        upload(at, "wide.keras", good_upload)
        assert "its GRU layer has 64 units; this server reads 1 to 32" in messages(at)
        assert all("wide.keras" not in label for label in model_labels(at))
        # Refused in the web process, from the file's config: no worker was asked.
        assert resources.worker_pool().status().jobs.get("read_upload", 0) == reads_before
    finally:
        resources.host_limits.clear()


def test_a_visit_gets_a_count_and_a_rate_of_uploads(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_DEMO_MAX_UPLOADS", "2")
    monkeypatch.setenv("RNN_DEMO_UPLOAD_INTERVAL_SECONDS", "30")
    resources.host_limits.clear()
    try:
        at = upload(open_page("draw"), "first.keras", b"not a zip at all")
        assert "not a Keras .keras model file" in messages(at)
        at = upload(at, "second.keras", b"not a zip either")
        assert "One upload every 30 s on this server" in " ".join(warning.value for warning in at.warning)
        assert resources.training_queue().state().running == 0  # no slot kept by a refused read
    finally:
        resources.host_limits.clear()
