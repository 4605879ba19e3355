"""The shipped models: every file loads (Keras and NumPy twin) and scores what docs/models.md says."""

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from rnn_demo.app.shipped import SHIPPED_ARCHITECTURES, shipped_model_path
from rnn_demo.data.drawn_digits import drawn_digit_set
from rnn_demo.data.sources import load_embedded
from rnn_demo.engine.persistence import load_model
from rnn_demo.twins.twin_file import load_twin, twin_path

MODELS_DOC = Path(__file__).resolve().parents[1] / "docs" / "models.md"
TOLERANCE = 0.005  # the figures in docs/models.md, ± 0.5 percentage points
ROW = re.compile(r"^\|\s*`(?P<arch>\w+)`[^|]*\|\s*(?P<held_out>[\d.]+) %\s*\|\s*(?P<drawn>[\d.]+) %\s*\|")


@lru_cache(maxsize=1)
def readme_figures() -> dict[str, tuple[float, float]]:
    """``{arch: (held-out accuracy, drawn accuracy)}`` from docs/models.md's "Shipped models" table."""
    text = MODELS_DOC.read_text(encoding="utf-8")
    section = text.split("## Shipped models", 1)[1].split("\n## ", 1)[0]
    figures = {}
    for line in section.splitlines():
        match = ROW.match(line.strip())
        if match:
            figures[match["arch"]] = (float(match["held_out"]) / 100, float(match["drawn"]) / 100)
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
    drawn = drawn_digit_set()
    held_out = accuracy(loaded.model.predict_on_batch(digits.valid_sequences), digits.y_valid)
    drawn_accuracy = accuracy(loaded.model.predict_on_batch(drawn.sequences), drawn.labels)
    readme_held_out, readme_drawn = readme_figures()[arch]
    assert held_out == pytest.approx(readme_held_out, abs=TOLERANCE)
    assert drawn_accuracy == pytest.approx(readme_drawn, abs=TOLERANCE)
    assert held_out == pytest.approx(metadata["val_accuracy"], abs=1e-6)
    twin = load_twin(twin_path(path))
    assert twin.metadata["config"] == metadata["config"]
    twin_held_out = accuracy(twin.numpy_model.predict_logits(digits.valid_sequences), digits.y_valid)
    twin_drawn = accuracy(twin.numpy_model.predict_logits(drawn.sequences), drawn.labels)
    assert twin_held_out == pytest.approx(readme_held_out, abs=TOLERANCE)
    assert twin_drawn == pytest.approx(readme_drawn, abs=TOLERANCE)


def test_the_shipped_lstm_reads_real_and_drawn_digits():
    held_out, drawn = readme_figures()["lstm"]
    assert held_out >= 0.95 and drawn >= 0.90
