"""The NumPy twin as arrays and as the ``.npz`` written beside every ``.keras`` file."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.engine.models import build_model
from rnn_demo.engine.persistence import load_model, save_model
from rnn_demo.twins.model import NumpyModel
from rnn_demo.twins.twin_file import (
    TwinFileError,
    load_twin,
    twin_arrays,
    twin_from_arrays,
    twin_path,
)


def _random_model(arch: str) -> keras.Model:
    keras.utils.set_random_seed(3)
    model = build_model(TrainConfig(arch=arch, hidden_units=8, layers=2))
    # Non-zero biases, so a bias put in the wrong place shows.
    model.set_weights([w + 0.1 * np.random.default_rng(1).standard_normal(w.shape) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_arrays_rebuild_the_same_model(arch):
    model = _random_model(arch)
    images = np.random.default_rng(0).random((5, 16, 16)).astype(np.float32)
    rebuilt = twin_from_arrays(twin_arrays(NumpyModel.from_keras(model)))
    np.testing.assert_allclose(rebuilt.predict_logits(images), model.predict_on_batch(images), atol=1e-5)


def test_save_model_writes_the_twin_beside_the_keras_file(tmp_path):
    model = _random_model("birnn")
    path = save_model(model, tmp_path / "m.keras", {"arch": "birnn", "val_accuracy": 0.5})
    assert twin_path(path) == tmp_path / "m.npz" and twin_path(path).is_file()
    twin = load_twin(twin_path(path))
    assert twin.metadata == {"arch": "birnn", "val_accuracy": 0.5}
    images = np.random.default_rng(2).random((4, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(
        twin.numpy_model.predict_logits(images), load_model(path).model.predict_on_batch(images), atol=1e-5
    )


def test_damaged_and_incomplete_files_are_refused(tmp_path):
    with pytest.raises(TwinFileError, match="no such file"):
        load_twin(tmp_path / "missing.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(TwinFileError, match="garbage.npz: not a readable"):
        load_twin(garbage)
    arrays = twin_arrays(NumpyModel.from_keras(_random_model("lstm")))
    del arrays["recurrent_1/forward/bias"]
    with pytest.raises(TwinFileError, match="missing array recurrent_1/forward/bias"):
        twin_from_arrays(arrays)
    arrays = twin_arrays(NumpyModel.from_keras(_random_model("lstm")))
    arrays["recurrent_1/kind"] = np.array("transformer")
    with pytest.raises(TwinFileError, match="'transformer'"):
        twin_from_arrays(arrays)


def test_reading_a_twin_imports_no_keras(tmp_path):
    path = save_model(_random_model("gru"), tmp_path / "g.keras", {})
    code = (
        "import sys; from rnn_demo.twins.twin_file import load_twin; "
        f"t = load_twin({str(twin_path(path))!r}); t.numpy_model.trace(__import__('numpy').zeros((16, 16))); "
        "bad = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
