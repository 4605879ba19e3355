"""``python -m rnn_demo explain`` on real data and a really trained, saved model.

The digits are the embedded MNIST sample (tests run offline); the model is
trained for a few iterations by the project's own engine and saved as a
``.keras`` file. Every number in the JSON is checked against what
:class:`~rnn_demo.twins.model.NumpyModel` and :func:`~rnn_demo.twins.gradients.gradient_trace`
compute, and the ``input`` it reports is enough to recompute them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_demo.cli.main import EXIT_FAILURE, EXIT_USAGE, main
from rnn_demo.config import TrainConfig
from rnn_demo.engine.persistence import load_model, save_model
from rnn_demo.twins.gradients import gradient_trace
from rnn_demo.twins.model import NumpyModel, softmax

INDEX = 17


def run_cli(*arguments, timeout=300):
    environment = {**os.environ, "RNN_DEMO_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rnn_demo", *arguments],
        capture_output=True, text=True, env=environment, timeout=timeout,
    )


@pytest.fixture(scope="module")
def saved_bilstm(tmp_path_factory, embedded_digits):
    """A bidirectional LSTM (both directions, cell states) trained 20 iterations, saved."""
    from rnn_demo.engine.training import train

    config = TrainConfig(arch="bilstm", hidden_units=16, iterations=20)
    result = train(config, embedded_digits)
    path = tmp_path_factory.mktemp("explain") / "bilstm.keras"
    save_model(result.model, path, result.summary())
    return path


@pytest.fixture(scope="module")
def explained(saved_bilstm):
    completed = run_cli("explain", "--model", str(saved_bilstm), "--index", str(INDEX), "--json")
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_json_has_every_promised_key_and_shape(explained):
    assert explained["arch"] == "bilstm" and explained["dataset"] == "mnist"
    assert explained["data_source"] == "embedded" and explained["index"] == INDEX
    assert len(explained["probabilities"]) == 10
    assert np.shape(explained["readout_probabilities"]) == (16, 10)
    assert np.shape(explained["row_importance"]) == (16,)
    assert np.shape(explained["input_gradient_norms"]) == (16,)
    assert np.shape(explained["input"]) == (16, 16)
    assert set(explained["state_gradient_norms"]) == {"recurrent_1/forward", "recurrent_1/backward"}
    assert set(explained["cell_gradient_norms"]) == {"recurrent_1/forward", "recurrent_1/backward"}
    for norms in [*explained["state_gradient_norms"].values(), *explained["cell_gradient_norms"].values()]:
        assert np.shape(norms) == (16,) and min(norms) >= 0
    assert explained["loss_class"] == explained["true_class"]


def test_values_are_those_of_the_numpy_twin_and_the_real_digit(explained, saved_bilstm, embedded_digits):
    image = embedded_digits.valid_sequences[INDEX]
    assert explained["true_class"] == int(embedded_digits.y_valid[INDEX])
    np.testing.assert_array_equal(np.asarray(explained["input"], dtype=np.float32), image)
    model = load_model(saved_bilstm).model
    numpy_model = NumpyModel.from_keras(model)
    trace = numpy_model.trace(image)
    assert explained["predicted_class"] == trace.predicted_class
    np.testing.assert_allclose(explained["probabilities"], trace.probabilities, atol=1e-7)
    np.testing.assert_allclose(explained["readout_probabilities"], trace.readout_probabilities, atol=1e-7)
    np.testing.assert_allclose(explained["row_importance"], trace.row_importance, atol=1e-7)
    # The model itself agrees (the NumPy twin is the model).
    keras_probabilities = softmax(np.asarray(model(image[None], training=False), dtype=np.float64))[0]
    np.testing.assert_allclose(explained["probabilities"], keras_probabilities, atol=1e-5)
    # The gradients are those of the true class's cross-entropy, recomputable from "input".
    gradients = gradient_trace(numpy_model, np.asarray(explained["input"]), explained["true_class"])
    np.testing.assert_allclose(explained["input_gradient_norms"], gradients.input_gradient_norms, rtol=1e-12)
    for key, norms in gradients.state_gradient_norms.items():
        np.testing.assert_allclose(explained["state_gradient_norms"][key], norms, rtol=1e-12)
    for key, norms in gradients.cell_gradient_norms.items():
        np.testing.assert_allclose(explained["cell_gradient_norms"][key], norms, rtol=1e-12)
    assert explained["loss"] == pytest.approx(-np.log(trace.probabilities[explained["true_class"]]), rel=1e-5)


@pytest.mark.parametrize(("index", "message"), [("1000", "0–999"), ("-1", "0 or more")])
def test_a_bad_index_is_a_one_line_usage_error(saved_bilstm, capsys, index, message):
    status = main(["explain", "--model", str(saved_bilstm), "--index", index])
    error = capsys.readouterr().err.strip().splitlines()
    assert status == EXIT_USAGE == 2
    assert error[-1].startswith("rnn_demo explain: error: --index must be") and message in error[-1]
    assert not any("Traceback" in line for line in error)


def test_a_bad_index_in_a_real_process_exits_2_without_a_traceback(saved_bilstm):
    completed = run_cli("explain", "--model", str(saved_bilstm), "--index", "5000", "--json")
    assert completed.returncode == 2
    assert completed.stdout == "" and "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == (
        "rnn_demo explain: error: --index must be 0–999 (the validation/test split has 1,000 images); got 5000"
    )


def test_a_non_integer_index_and_a_missing_model_are_clean_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["explain", "--model", "x.keras", "--index", "seven"])
    assert raised.value.code == 2 and "invalid int value: 'seven'" in capsys.readouterr().err
    status = main(["explain", "--model", str(tmp_path / "none.keras"), "--index", "0"])
    assert status == EXIT_FAILURE
    assert "no such model file" in capsys.readouterr().err


def test_human_output_is_a_table_of_sixteen_rows(saved_bilstm, capsys):
    assert main(["explain", "--model", str(saved_bilstm), "--index", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("true class: ") and "recurrent_1/backward" in lines[1]
    assert len(lines) == 2 + 16 and lines[-1].split()[0] == "16"
