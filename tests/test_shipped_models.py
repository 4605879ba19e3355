"""The shipped models: every file loads (Keras and NumPy twin) and scores what docs/models.md says."""

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from rnn_demo.app.shipped import SHIPPED_ARCHITECTURES, calibration_error, shipped_model_path
from rnn_demo.config import TrainConfig
from rnn_demo.data.drawn_digits import drawn_digit_set
from rnn_demo.data.font_digits import font_digit_set
from rnn_demo.data.sources import load_embedded
from rnn_demo.engine.persistence import load_model
from rnn_demo.twins.twin_file import load_twin, twin_path

MODELS_DOC = Path(__file__).resolve().parents[1] / "docs" / "models.md"
TOLERANCE = 0.005  # the accuracies in docs/models.md, ± 0.5 percentage points
CALIBRATION_TOLERANCE = 0.0015  # its calibration errors, printed to 0.1 percentage point
PERCENT = r"\s*(?P<{}>[\d.]+) %\s*"
ROW = re.compile(
    r"^\|\s*`(?P<arch>\w+)`[^|]*\|" + PERCENT.format("held_out") + r"\|" + PERCENT.format("drawn") + r"\|"
    + PERCENT.format("font") + r"\|" + PERCENT.format("raw_error") + "→" + PERCENT.format("error") + r"\|"
    + r"\s*(?P<temperature>[\d.]+)\s*\|"
)


@lru_cache(maxsize=1)
def readme_figures() -> dict[str, dict[str, float]]:
    """``{arch: {column: figure}}`` (accuracies and errors as fractions) from docs/models.md's
    "Shipped models" table."""
    text = MODELS_DOC.read_text(encoding="utf-8")
    section = text.split("## Shipped models", 1)[1].split("\n## ", 1)[0]
    figures = {}
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            figures[match["arch"]] = {
                key: float(value) / (1 if key == "temperature" else 100)
                for key, value in match.groupdict().items() if key != "arch"
            }
    return figures


def accuracy(logits, labels) -> float:
    return float((np.asarray(logits).argmax(axis=1) == labels).mean())


def test_the_readme_lists_all_six():
    assert set(readme_figures()) == set(SHIPPED_ARCHITECTURES)


@pytest.mark.parametrize("arch", SHIPPED_ARCHITECTURES)
def test_shipped_model_scores_what_the_readme_says(arch):
    path = shipped_model_path(arch)
    assert path.is_file() and twin_path(path).is_file()
    assert path.stat().st_size < 1_000_000 and twin_path(path).stat().st_size < 1_000_000
    loaded = load_model(path)
    metadata = loaded.metadata
    # Trained with augmentation on the 4,000 training digits only: the 1,000
    # validation digits are real MNIST digits it never saw.
    assert metadata["arch"] == arch and metadata["config"]["augment"] is True
    assert (metadata["data_source"], metadata["n_train"], metadata["n_valid"]) == ("embedded", 4000, 1000)
    digits = load_embedded()
    sets = {"held_out": (digits.valid_sequences, digits.y_valid)}
    drawn, fonts = drawn_digit_set(), font_digit_set()
    sets["drawn"], sets["font"] = (drawn.sequences, drawn.labels), (fonts.sequences, fonts.labels)
    documented = readme_figures()[arch]
    twin = load_twin(twin_path(path))
    # Loading fills in fields the file predates (lr_decay); the twin's metadata is read as written.
    assert TrainConfig.from_dict(twin.metadata["config"]) == TrainConfig.from_dict(metadata["config"])
    for name, (sequences, labels) in sets.items():
        keras_logits = np.asarray(loaded.model.predict_on_batch(sequences))
        twin_logits = twin.numpy_model.predict_logits(sequences)
        assert accuracy(keras_logits, labels) == pytest.approx(documented[name], abs=TOLERANCE), name
        assert accuracy(twin_logits, labels) == pytest.approx(documented[name], abs=TOLERANCE), name
        if name == "held_out":
            assert accuracy(keras_logits, labels) == pytest.approx(metadata["val_accuracy"], abs=1e-6)
            temperature = twin.metadata["temperature"]
            assert temperature == pytest.approx(documented["temperature"], abs=0.005)
            raw_error = calibration_error(twin_logits, labels)
            assert raw_error == pytest.approx(documented["raw_error"], abs=CALIBRATION_TOLERANCE)
            error = calibration_error(twin_logits, labels, temperature)
            assert error == pytest.approx(documented["error"], abs=CALIBRATION_TOLERANCE)


def test_the_shipped_lstm_reads_real_and_drawn_digits():
    figures = readme_figures()["lstm"]
    assert figures["held_out"] >= 0.95 and figures["drawn"] >= 0.90
