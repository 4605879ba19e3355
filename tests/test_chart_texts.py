"""The charts' text alternatives: what each says (pure, rnn_demo.views.chart_texts), and that
every chart the app shows carries one (AppTest: the text each chart is sent with, its accessible name)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from rnn_demo.ui.charts import ALT_CHARACTERS
from rnn_demo.ui.inside import SECTIONS
from rnn_demo.ui.navigation import PAGE
from rnn_demo.views import chart_texts
from tests.test_app import charts_on

APP = str(Path(__file__).resolve().parent.parent / "app.py")
NAMES = [str(digit) for digit in range(10)]


def test_a_state_heatmap_names_its_strongest_unit_and_row():
    values = np.zeros((16, 128))
    values[8, 40] = -0.93  # row 9, unit 41: the strongest, negative
    values[2, 3] = 0.5
    text = chart_texts.state_text(values, "hidden state h of layer 1")
    assert text.startswith("Heatmap of hidden state h of layer 1, 128 units across, over the 16 rows")
    assert "-0.93, is unit 41's at row 9" in text


def test_the_readout_says_the_answer_when_it_settled_and_the_row_that_matters():
    readout = np.full((16, 10), 0.05)
    readout[:, 1] = 0.5  # a 1 until row 6 …
    readout[5:, 1], readout[5:, 7] = 0.05, 0.9  # … then a 7 to the end
    importance = np.zeros(16)
    importance[11] = 0.4
    text = chart_texts.readout_text(readout, importance, NAMES)
    assert "the model says 7 (90%), its top answer from row 6 on" in text
    assert "blanking row 12 lowers that answer most" in text
    steps = chart_texts.step_through_text(np.zeros((16, 64)), readout, NAMES, "hidden state h")
    assert "16 frames" in steps and "hidden state h" in steps and "7 (90%), the top answer from row 6" in steps


def test_training_curves_say_where_the_loss_and_accuracy_got():
    assert "empty until the first of 100 iterations" in chart_texts.training_curves_text([], [], [], [], iterations=100)
    text = chart_texts.training_curves_text([2.31, 1.5, 0.42], [3], [0.5], [0.861], iterations=100)
    assert "after 3 of 100 iterations" in text and "from 2.31 to 0.42" in text
    assert "at iteration 3 the validation loss is 0.50 and the validation accuracy 86%" in text


def test_the_confusion_matrix_names_its_commonest_mistake():
    confusion = np.diag(np.full(10, 95))
    confusion[4, 9] = 5  # a 4 read as 9, five times
    confusion[3, 5] = 2
    text = chart_texts.confusion_text(confusion, NAMES)
    assert "of 957 validation digits" in text and "950 (99%) read right" in text
    assert "a 4 read as 9 (5 times)" in text


def test_several_runs_are_named_and_counted():
    runs = [{"label": f"run {number}", "recipe": "LSTM", "train_loss": [2.0, 0.3], "val_iterations": [2],
             "val_accuracy": [0.5 + number / 100]} for number in range(8)]
    text = chart_texts.compare_text(runs)
    assert "of 8 runs" in text and "run 0: loss 0.30, accuracy 50%" in text and "and 2 more" in text
    assert "run 7" not in text  # the sentence stays short
    board = chart_texts.board_text(runs)
    assert "8 runs posted" in board and "run 7 (LSTM), 57%" in board
    assert "none measured yet" in chart_texts.board_text([{**runs[0], "val_accuracy": []}])


def test_the_gradients_plane_sequence_and_picture_say_what_stands_out():
    models = [{"title": "Basic RNN", "hidden": {"recurrent_1/forward": np.geomspace(1e-6, 1e-2, 16)}}]
    assert "Basic RNN: 1.0e-02 at row 16, 1.0e-06 at row 1" in chart_texts.gradient_norms_text(models)
    points = np.array([[0.0, 0.0], [0.2, 0.0], [5.0, 5.0], [5.2, 5.0]])
    path = np.array([[9.0, 9.0], [5.1, 4.9]])
    assert chart_texts.state_plane_text(points, np.array([0, 0, 3, 3]), path, NAMES).endswith("nearest the 3s.")
    image = np.zeros((16, 16))
    image[3:12, 6] = 1.0
    assert "the ink is in rows 4 to 12" in chart_texts.sequence_text(image)
    assert chart_texts.image_text(np.zeros((28, 28)), "Validation") == (
        "Validation: a 28×28 picture of the digit, white ink on black.")


def _alts(page: str, state: dict | None = None, **query: str) -> list[str]:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page(PAGE[page].script).run()
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if state:
        at.run()
    assert not at.exception, [error.value for error in at.exception]
    return [chart["alt"] for chart in charts_on(at)]


def test_every_chart_of_look_inside_and_of_a_lesson_step_has_its_text():
    # The readout and the open view's chart, for each of /inside's views (one tab each,
    # drawn when chosen); the states with the forget gate's tab chosen.
    inside = _alts("inside", {"inside_array_tab_Recurrent layer · LSTM": "forget gate f"})
    for section in SECTIONS[1:]:
        inside += _alts("inside", section=section)[1:]
    assert len(inside) == 5 and all(inside), inside
    assert len(set(inside)) == len(inside)  # each says what its own chart shows
    assert all(len(alt) <= ALT_CHARACTERS for alt in inside)
    assert any(alt.startswith("How the prediction forms") for alt in inside)
    assert any(alt.startswith("Heatmap of forget gate") for alt in inside)
    lesson = _alts("learn", step="3")  # both reading directions, side by side
    assert len(lesson) == 2 and all("reading" in alt for alt in lesson), lesson


def test_the_app_shows_charts_only_through_the_helper_that_gives_them_their_text():
    root = Path(__file__).resolve().parent.parent
    helper = root / "rnn_demo" / "ui" / "charts.py"
    sources = [*(root / "rnn_demo").rglob("*.py"), *(root / "pages").glob("*.py"), root / "app.py"]
    direct = [str(path.relative_to(root)) for path in sources if path != helper and "plotly_chart(" in path.read_text()]
    assert direct == []
