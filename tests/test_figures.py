"""The figure builders: pure functions from arrays to Plotly figures (no Streamlit)."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_demo import figures

RNG = np.random.default_rng(0)
IMAGE = RNG.random((16, 16)).astype(np.float32)


def test_training_curves_put_every_point_on_its_iteration():
    figure = figures.training_curves([2.3, 2.0, 1.5, 1.1], [2, 4], [1.9, 1.2], [0.4, 0.7], iterations=10)
    loss, val_loss, val_accuracy = figure.data
    assert list(loss.x) == [1, 2, 3, 4] and list(loss.y) == [2.3, 2.0, 1.5, 1.1]
    assert list(val_loss.x) == [2, 4] and list(val_accuracy.y) == [0.4, 0.7]
    assert val_accuracy.yaxis == "y2"  # accuracy has its own 0–1 axis
    assert tuple(figure.layout.xaxis.range) == (0, 10)  # the frame does not jump while it grows


def test_training_curves_accept_an_empty_start():
    figure = figures.training_curves([], [], [], [], iterations=100)
    assert all(len(trace.x) == 0 for trace in figure.data)


def test_state_figure_aligns_rows_with_timesteps():
    values = RNG.uniform(0, 1, (16, 64))
    figure = figures.state_figure(IMAGE, values, "forget_gate", "forget gate f")
    image, heatmap = figure.data
    np.testing.assert_array_equal(np.asarray(heatmap.z), values)
    assert list(heatmap.y) == list(range(1, 17)) and list(image.y) == list(range(1, 17))
    assert figure.layout.yaxis2.matches == "y"  # one shared time axis
    assert figure.layout.yaxis.autorange == "reversed"  # row 1 at the top, as in the image
    assert (heatmap.zmin, heatmap.zmax) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("input_gate", (0.0, 1.0)), ("hidden", (-1.0, 1.0)), ("candidate", (-1.0, 1.0)), ("cell", (-3.0, 3.0))],
)
def test_colour_ranges_follow_what_squashed_each_array(name, expected):
    values = np.array([[-3.0, 0.5]])
    scale = figures.colour_range(name, values)
    assert (scale["zmin"], scale["zmax"]) == expected


def test_readout_figure_shares_the_time_axis_and_shows_importance():
    readout = np.full((16, 10), 0.1)
    importance = np.linspace(-0.2, 0.5, 16)
    figure = figures.readout_figure(IMAGE, readout, importance, [str(d) for d in range(10)])
    image, heatmap, bars = figure.data
    assert np.asarray(heatmap.z).shape == (16, 10)
    np.testing.assert_allclose(np.asarray(bars.x), importance)
    assert bars.orientation == "h" and list(bars.y) == list(range(1, 17))


def test_probability_figure_highlights_the_prediction():
    probabilities = np.array([0.05, 0.05, 0.6, 0.3] + [0.0] * 6)
    (bars,) = figures.probability_figure(probabilities, [str(d) for d in range(10)]).data
    assert bars.marker.color[2] == figures.ACCENT
    assert sum(colour == figures.ACCENT for colour in bars.marker.color) == 1


def test_confusion_figure_shows_counts_and_colours_by_row_share():
    confusion = np.diag([90] * 10)
    confusion[3, 5] = 10
    (heatmap,) = figures.confusion_figure(confusion, [str(d) for d in range(10)]).data
    assert np.asarray(heatmap.text)[3, 5] == 10
    assert np.isclose(np.asarray(heatmap.z)[3, 5], 0.1)


def test_compare_figure_overlays_one_group_per_run():
    runs = [
        {"label": "#1 RNN", "arch": "rnn", "train_loss": [2.0, 1.0], "val_iterations": [2],
         "val_loss": [1.1], "val_accuracy": [0.6]},
        {"label": "#2 LSTM", "arch": "lstm", "train_loss": [2.1, 0.9], "val_iterations": [2],
         "val_loss": [1.0], "val_accuracy": [0.7]},
    ]
    figure = figures.compare_figure(runs)
    assert {trace.legendgroup for trace in figure.data} == {"#1 RNN", "#2 LSTM"}
    assert len(figure.data) == 6
    assert figure.data[0].line.color != figure.data[3].line.color


def test_sequence_figure_labels_all_sixteen_timesteps():
    figure = figures.sequence_figure(IMAGE)
    labels = [note.text for note in figure.layout.annotations if note.text.startswith("t=")]
    assert len(labels) == 16 and labels[0].startswith("t=1 ") and labels[-1].startswith("t=16 ")


def test_figures_do_not_import_streamlit():
    import subprocess
    import sys

    code = "import sys, rnn_demo.figures; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
