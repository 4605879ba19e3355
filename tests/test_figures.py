"""The figure builders: pure functions from arrays to Plotly figures (no Streamlit)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnn_demo.views import class_figures, figures, inside_figures, panels

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


def test_refreshed_training_curves_equal_a_new_figure_of_the_same_points():
    live = figures.training_curves([2.3], [], [], [], iterations=10)
    points = ([2.3, 2.0, 1.5, 1.1], [2, 4], [1.9, 1.2], [0.4, 0.7])
    refreshed = figures.refresh_training_curves(live, *points)
    assert refreshed is live  # changed in place: no new figure to build
    assert refreshed.to_plotly_json() == figures.training_curves(*points, iterations=10).to_plotly_json()


def test_state_figure_aligns_rows_with_timesteps():
    values = RNG.uniform(0, 1, (16, 64))
    figure = inside_figures.state_figure(IMAGE, values, "forget_gate", "forget gate f")
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
    scale = inside_figures.colour_range(name, values)
    assert (scale["zmin"], scale["zmax"]) == expected


def test_readout_figure_shares_the_time_axis_and_shows_importance():
    readout = np.full((16, 10), 0.1)
    importance = np.linspace(-0.2, 0.5, 16)
    figure = inside_figures.readout_figure(IMAGE, readout, importance, [str(d) for d in range(10)])
    image, heatmap, bars = figure.data
    assert np.asarray(heatmap.z).shape == (16, 10)
    np.testing.assert_allclose(np.asarray(bars.x), importance)
    assert bars.orientation == "h" and list(bars.y) == list(range(1, 17))


def test_probability_bars_highlight_the_prediction():
    probabilities = np.array([0.05, 0.05, 0.6, 0.3] + [0.0] * 6)
    bars = panels.probability_bars(probabilities, [str(d) for d in range(10)])
    colours = re.findall(r"background: (#[0-9a-f]{6})", bars)  # one bar per class, in order
    assert len(colours) == 10 and colours[2] == figures.ACCENT
    assert sum(colour == figures.ACCENT for colour in colours) == 1


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
    rows = figure.layout.yaxis2  # the rows pulled apart, each labelled on the right
    assert list(rows.tickvals) == list(range(1, 17)) and rows.side == "right"
    assert rows.ticktext[0].startswith("t=1 ") and rows.ticktext[-1].startswith("t=16 ")


def test_every_figure_sets_the_one_font_size_and_titles_wrap_only_our_words():
    figure = inside_figures.state_figure(IMAGE, RNG.normal(size=(16, 8)), "hidden", "layer 1: hidden state h")
    assert figure.layout.font.size == figures.FONT_SIZE == 16
    assert figure.layout.title.text == "layer 1: hidden<br>state h"
    assert figure.layout.margin.t >= 14 + 2 * figures.LINE_PX  # room for both lines
    assert figures.wrapped("a b c", 3) == "a b<br>c" and figures.wrapped("unbreakable", 3) == "unbreakable"


def test_figures_do_not_import_streamlit():
    import subprocess
    import sys

    code = "import sys, rnn_demo.views.figures, rnn_demo.views.inside_figures; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_gradient_norms_figure_puts_two_models_side_by_side_on_one_log_axis():
    hidden = {"recurrent_1/forward": np.geomspace(1e-6, 1.0, 16), "recurrent_1/backward": np.geomspace(1.0, 1e-3, 16)}
    lstm = {
        "title": "LSTM", "hidden": {"recurrent_1/forward": np.full(16, 0.1)},
        "cell": {"recurrent_1/forward": np.full(16, 0.2)}, "input": np.r_[0.0, np.full(15, 0.3)],
    }
    figure = inside_figures.gradient_norms_figure([{"title": "Bidirectional RNN", "hidden": hidden}, lstm])
    assert len(figure.data) == 2 + 3  # one line per layer and direction, plus the LSTM's c and x
    assert figure.layout.xaxis.type == "log" and figure.layout.xaxis2.type == "log"
    assert figure.layout.xaxis2.matches == "x"  # both panels on the same scale
    assert figure.layout.yaxis.autorange == "reversed"  # row 1 at the top
    first = figure.data[0]
    np.testing.assert_allclose(np.asarray(first.x), hidden["recurrent_1/forward"])
    assert list(first.y) == list(range(1, 17)) and first.xaxis == "x"
    forward_in_lstm = figure.data[2]
    assert forward_in_lstm.xaxis == "x2" and forward_in_lstm.line.color == first.line.color
    assert not forward_in_lstm.showlegend  # one legend entry per series across panels
    assert figure.data[3].line.dash == "dot"  # the LSTM cell state
    assert np.isnan(np.asarray(figure.data[4].x, dtype=float)[0])  # a zero norm has no place on a log axis


def test_state_plane_figure_colours_ten_classes_and_draws_the_path():
    points = RNG.normal(size=(100, 2))
    labels = np.repeat(np.arange(10), 10)
    path = np.cumsum(RNG.normal(size=(16, 2)), axis=0)
    figure = inside_figures.state_plane_figure(
        points, labels, path, [str(d) for d in range(10)],
        path_rows=range(16, 0, -1), explained_variance_ratio=[0.41, 0.2],
    )
    *classes, digit = figure.data
    assert len(classes) == 10 and all(len(trace.x) == 10 for trace in classes)
    assert len({trace.marker.color for trace in classes}) == 10
    np.testing.assert_allclose(np.column_stack([digit.x, digit.y]), path)
    assert list(digit.text)[0] == "16" and list(digit.text)[-1] == "1"
    assert digit.marker.symbol[-1] == "star"  # the final state
    assert "41%" in figure.layout.xaxis.title.text and "20%" in figure.layout.yaxis.title.text


def test_step_through_figure_has_sixteen_frames_that_fill_in_row_by_row():
    states = RNG.uniform(-1, 1, (16, 8))
    readout = np.full((16, 10), 0.1)
    readout[:, 4] = np.linspace(0.1, 0.9, 16)
    figure = inside_figures.step_through_figure(IMAGE, states, readout, [str(d) for d in range(10)])
    assert len(figure.frames) == 16 and [frame.name for frame in figure.frames] == [str(t) for t in range(1, 17)]
    for row, frame in enumerate(figure.frames, start=1):
        outline, heatmap, bars = frame.data
        assert list(frame.traces) == [1, 2, 3]
        assert (min(outline.y), max(outline.y)) == (row - 0.5, row + 0.5)  # row t outlined
        z = np.asarray(heatmap.z, dtype=float)
        np.testing.assert_allclose(z[:row], states[:row])
        assert np.isnan(z[row:]).all()  # rows not read yet are blank
        np.testing.assert_allclose(np.asarray(bars.y), readout[row - 1])
        assert (heatmap.zmin, heatmap.zmax) == (-1.0, 1.0)  # one colour scale in every frame
    slider = figure.layout.sliders[0]
    assert len(slider.steps) == 16 and list(slider.steps[15].args[0]) == ["16"]
    labels = [button.label for button in figure.layout.updatemenus[0].buttons]
    assert any("play" in label for label in labels) and any("pause" in label for label in labels)
    assert np.asarray(figure.data[0].z).shape == (16, 16)  # the image itself stays


# --- Colours colour-blind viewers can read ---

# Machado, Oliveira & Fernandes (2009): linear-RGB matrices that simulate full dichromacy.
COLOUR_BLINDNESS = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
# CIELAB distance below which two small marks are easily confused; Plotly's own D3
# palette comes to 4.6 under protanopia, the palette chosen to 15.6.
DISTINCT_LAB = 12.0


def _linear_rgb(colour: str) -> np.ndarray:
    from plotly.colors import convert_colors_to_same_type, unlabel_rgb

    srgb = np.array(unlabel_rgb(convert_colors_to_same_type(colour)[0][0])) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", [None, *COLOUR_BLINDNESS])
def test_the_class_colours_stay_apart_with_each_colour_blindness(vision):
    linear = [_linear_rgb(colour) for colour in figures.CLASS_COLOURS]
    if vision:
        linear = [np.clip(np.array(COLOUR_BLINDNESS[vision]) @ colour, 0, 1) for colour in linear]
    labs = [_lab(colour) for colour in linear]
    closest = min(np.linalg.norm(a - b) for index, a in enumerate(labs) for b in labs[index + 1:])
    assert len(set(figures.CLASS_COLOURS)) == 10 and closest >= DISTINCT_LAB


def test_line_colours_stand_out_on_white():
    def luminance(colour: str) -> float:
        return float(np.array([0.2126, 0.7152, 0.0722]) @ _linear_rgb(colour))

    assert all(1.05 / (luminance(colour) + 0.05) >= 3.0 for colour in figures.LINE_COLOURS)
    assert set(figures.LINE_COLOURS) <= set(figures.CLASS_COLOURS)  # one palette


def _scale(name: str):
    import plotly.graph_objects as go

    return go.Heatmap(colorscale=name).colorscale


def test_every_figure_colours_from_the_shared_scales_and_palette():
    states = RNG.uniform(-1, 1, (16, 8))
    readout = np.full((16, 10), 0.1)
    names = [str(d) for d in range(10)]
    gate = inside_figures.state_figure(IMAGE, RNG.uniform(0, 1, (16, 8)), "forget_gate", "f").data[1]
    hidden = inside_figures.state_figure(IMAGE, states, "hidden", "h").data[1]
    assert gate.colorscale == _scale(inside_figures.SEQUENTIAL) == _scale("Viridis")
    assert hidden.colorscale == _scale(inside_figures.DIVERGING) == _scale("PuOr_r")
    stepping = inside_figures.step_through_figure(IMAGE, states, readout, names).data[2]
    assert stepping.colorscale == _scale(inside_figures.DIVERGING)
    plane = inside_figures.state_plane_figure(RNG.normal(size=(20, 2)), np.arange(20) % 10,
                                              RNG.normal(size=(16, 2)), names)
    assert [trace.marker.color for trace in plane.data[:10]] == list(figures.CLASS_COLOURS)
    curves = figures.training_curves([2.3, 2.0], [2], [1.9], [0.4])
    assert [trace.line.color for trace in curves.data] == list(figures.LINE_COLOURS[:3])
    runs = [{"label": arch, "arch": arch, "recipe": arch, "train_loss": [2.0, 1.0], "val_iterations": [2],
             "val_loss": [1.2], "val_accuracy": [0.6]} for arch in ("rnn", "lstm")]
    compared = figures.compare_figure(runs)
    board = class_figures.board_curves_figure(runs)
    for figure in (compared, board):
        assert {trace.line.color for trace in figure.data} == {figures.ARCH_COLOURS["rnn"], figures.ARCH_COLOURS["lstm"]}
    assert set(figures.ARCH_COLOURS.values()) <= set(figures.LINE_COLOURS)
    norms = inside_figures.gradient_norms_figure([{"title": "a", "hidden": {"recurrent_1/forward": np.ones(16),
                                                                          "recurrent_2/forward": np.ones(16)}}])
    assert [trace.line.color for trace in norms.data] == list(inside_figures.SERIES_COLOURS[:2])
