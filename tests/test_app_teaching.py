"""The teaching views through AppTest: /inside's gradients, step-through and state
plane, and the lesson at /learn?step=N with its Back/Next."""

from __future__ import annotations

from rnn_demo.ui.inside import SECTIONS
from rnn_demo.ui.lesson import step_of
from rnn_demo.views.teaching import LESSON
from tests.test_app import array, click, figures_on, open_page


def test_inside_shows_gradients_for_two_models_a_step_through_and_the_state_plane():
    # Each view is a tab of its own, opened by the link's ?section=; only the open one is drawn.
    views = {section: figures_on(open_page("inside", arch="rnn", section=section)) for section in SECTIONS}
    assert all(len(charts) == 2 for charts in views.values())  # the readout and the open view
    at = open_page("inside", arch="rnn", section="Gradients through time")
    gradients = next(figure for figure in figures_on(at) if figure.layout.xaxis.type == "log")
    titles = [annotation.text for annotation in gradients.layout.annotations]
    assert titles[:2] == ["Shipped Basic RNN", "Shipped LSTM"]  # the chosen model, then the second
    assert gradients.layout.xaxis2.type == "log"
    sentence = next(block.value for block in at.markdown if block.value.startswith("On this digit"))
    assert "Shipped Basic RNN" in sentence and "Shipped LSTM" in sentence
    animation = next(figure for figure in views["Step through time"] if figure.frames)
    assert len(animation.frames) == 16 and animation.layout.updatemenus[0].buttons[0].method == "animate"
    plane = next(figure for figure in views["Where the digits live"] if any(trace.name == "this digit, row by row" for trace in figure.data))
    dots = sum(len(array(trace.x)) for trace in plane.data if trace.name != "this digit, row by row")
    assert dots == 1000


def test_the_lesson_steps_forward_and_back_through_the_url():
    at = open_page("learn", step="1")
    assert at.title[0].value == LESSON[0].title
    click(at, "Next")
    assert at.query_params["step"] in ("2", ["2"]) and at.title[0].value == LESSON[1].title
    click(at, "Back")
    assert at.query_params["step"] in ("1", ["1"]) and at.title[0].value == LESSON[0].title
    assert [button.disabled for button in at.button if button.label == "Back"] == [True]
    click(at, "Leave the lesson")
    assert "step" not in at.query_params and at.title[0].value.startswith("Learn:")


def test_every_lesson_step_draws_its_view():
    for number, step in enumerate(LESSON, start=1):
        at = open_page("learn", step=str(number))
        assert at.title[0].value == step.title
        assert f"?step={number}" in at.code[0].value
    at = open_page("learn", step=str(step_of("gradients")))
    assert any(block.value.startswith("On this digit") for block in at.markdown)


def test_a_bad_step_shows_the_whole_learn_page_with_a_message():
    at = open_page("learn", step="99")
    assert "steps 1–8" in at.warning[0].value and at.title[0].value.startswith("Learn:")
