"""The command line as a user runs it: real processes, real files, real training."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rnn_demo.data.idx import write_idx
from rnn_demo.data.sources import load_embedded

PYTHON_M = (sys.executable, "-m", "rnn_demo")


def run_cli(*arguments, env=None, timeout=300, command=PYTHON_M):
    environment = {**os.environ, "RNN_DEMO_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [*command, *arguments],
        capture_output=True, text=True, env=environment, timeout=timeout,
    )


def last_json(completed):
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "lstm.keras"
    completed = run_cli("train", "--arch", "lstm", "--iterations", "60", "--out", str(path), "--json")
    assert completed.returncode == 0, completed.stderr
    return path, last_json(completed)


def test_train_json_reports_what_the_readme_promises(saved_model):
    path, summary = saved_model
    for key in (
        "arch", "params", "dataset", "data_source", "n_train", "n_valid", "iterations",
        "val_accuracy", "val_loss", "train_seconds", "samples_per_second", "device", "backend",
    ):
        assert key in summary, key
    assert summary["params"] == 21_386 and summary["iterations"] == 60
    assert (summary["n_train"], summary["n_valid"]) == (4000, 1000)
    assert summary["data_source"] == "embedded" and summary["val_accuracy"] > 0.8
    assert path.is_file() and summary["saved_to"] == str(path)


def test_evaluate_on_held_out_digits_from_test_files_alone(saved_model, tmp_path):
    """The validation digits were never trained on; written as t10k IDX files they
    are all ``evaluate`` needs."""
    path, summary = saved_model
    digits = load_embedded()
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", digits.x_valid)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", digits.y_valid)
    completed = run_cli("evaluate", "--model", str(path), "--data-dir", str(tmp_path), "--json")
    assert completed.returncode == 0, completed.stderr
    scores = last_json(completed)
    assert scores["n"] == 1000 and scores["accuracy"] == pytest.approx(summary["val_accuracy"], abs=1e-6)
    assert set(scores) >= {"accuracy", "loss", "n"}


def test_progress_goes_to_stderr_and_human_output_to_stdout(saved_model):
    completed = run_cli("train", "--arch", "rnn", "--iterations", "20")
    assert completed.returncode == 0
    assert "20/20" in completed.stderr and "data: the embedded 5,000-digit MNIST sample" in completed.stderr
    assert completed.stdout.startswith("arch: rnn")


def test_info_json():
    completed = run_cli("info", "--json", env={"RNN_DEMO_DATA_DIR": ""})
    assert completed.returncode == 0, completed.stderr
    info = last_json(completed)
    assert info["backend"] == "tensorflow" and "cpu" in info["devices"]
    assert info["data_sources"]["embedded"].startswith("mnist_5k.npz")
    # The technical account of the data (the pages say it in plain words): the source and why.
    assert info["data_sources"]["mnist_now"].startswith("the embedded 5,000-digit MNIST sample: 4,000 training")
    assert info["data_sources"]["mnist_now"].endswith("full MNIST was not used (downloads are switched off)")


def test_the_installed_rnn_demo_command_is_the_same_cli():
    """``pip install -e .`` (the Makefile's install step) puts ``rnn-demo`` beside the interpreter."""
    script = Path(sys.executable).parent / "rnn-demo"
    assert script.is_file(), f"{script} is missing: install the project (make test runs pip install -e .)"
    completed = run_cli("info", "--json", command=(str(script),))
    assert completed.returncode == 0, completed.stderr
    info = last_json(completed)
    assert info["backend"] == "tensorflow" and "cpu" in info["devices"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["train", "--hidden", "abc"], "argument --hidden: invalid int value: 'abc'"),
        (["train", "--arch", "cnn"], "argument --arch: invalid choice: 'cnn'"),
        (["train", "--lr", "5"], "learning_rate must be between 1e-05 and 1; got 5.0"),
        (["train", "--batch", "4500"], "batch_size 4500 is larger than the training set (4000 images)"),
        (["train", "--out", "model.h5"], "--out must name a .keras file"),
        (["train", "--out", "/nonexistent/x.keras"], "folder '/nonexistent' does not exist"),
        (["train", "--out", "/proc/x.keras"], "cannot write in folder '/proc'"),
        (["train", "--data-dir", "/nonexistent"], "data directory /nonexistent does not exist"),
        (["train", "--dataset", "fashion"], "Fashion-MNIST is not available"),
        (["evaluate", "--model", "/nonexistent.keras"], "no such model file"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_fail_with_one_line_and_no_traceback(arguments, message):
    completed = run_cli(*arguments)
    assert completed.returncode != 0
    lines = completed.stderr.strip().splitlines()
    # One error line, at the end; before it at most the "data: …" status line.
    errors = [line for line in lines if "error:" in line]
    assert errors == [lines[-1]] and all(line.startswith("data: ") for line in lines[:-1]), lines
    assert message in lines[-1] and "Traceback" not in completed.stderr


def test_missing_gpu_is_a_one_line_error():
    completed = run_cli("train", "--device", "gpu", "--iterations", "1")
    if completed.returncode == 0:
        pytest.skip("this machine has a GPU")
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines()[-1].startswith("rnn_demo train: error: a GPU was requested")


def test_out_is_checked_before_training(tmp_path):
    """A model trained for nothing was the old answer to an --out that could not be written."""
    folder = tmp_path / "already.keras"
    folder.mkdir()
    for out, message in ((folder, "is a folder; name a .keras file inside it"),
                         (tmp_path / "missing" / "x.keras", "does not exist"),
                         ("/proc/x.keras", "cannot write in folder '/proc'")):
        completed = run_cli("train", "--iterations", "2000", "--out", str(out))
        assert completed.returncode == 2, completed.stderr
        lines = completed.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in completed.stderr, lines
    assert list(tmp_path.iterdir()) == [folder]  # nothing written, not even a probe


def test_evaluate_refuses_a_model_whose_metadata_dataset_is_a_list(saved_model, tmp_path):
    path, _ = saved_model
    odd = tmp_path / "odd.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(odd, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "rnn_demo.json":
                content = json.dumps({**json.loads(content), "dataset": ["mnist", "fashion"]}).encode()
            target.writestr(item.filename, content)
    completed = run_cli("evaluate", "--model", str(odd))
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines()[-1] == (
        "rnn_demo evaluate: error: odd.keras: its metadata's dataset must be one of mnist, fashion; got a list"
    )
