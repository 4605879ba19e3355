"""Bad input on the real app (AppTest): each gets a clear message and loses nothing."""

import pytest
from markdown_it import MarkdownIt

from rnn_demo.app.links import QUERY_FIELDS
from rnn_demo.config import ConfigError
from rnn_demo.data.canvas import NOTHING_DRAWN
from rnn_demo.ui import resources
from tests.test_app import click, finish_training, open_page


def page_text(at) -> str:
    """Every message-like element's text, as a visitor would read it."""
    elements = [*at.error, *at.warning, *at.info, *at.success, *at.caption, *at.markdown]
    return " ".join(str(element.value) for element in elements)


def test_a_dataset_that_cannot_be_loaded_is_a_message():
    at = open_page("train", dataset="fashion", arch="rnn", iterations="5")
    (message,) = [error.value for error in at.error]
    assert "Fashion-MNIST is not available" in message and "$RNN_DEMO_DATA_DIR" in message
    assert "training" not in at.session_state
    # Nothing is lost: switching back to MNIST brings the Train button back.
    at.selectbox(key="w_dataset").set_value("mnist").run()
    assert not at.error and [button for button in at.button if button.label == "Train"]


def test_an_empty_canvas_asks_for_a_drawing_instead_of_predicting():
    at = open_page("draw")
    assert not at.metric, "a prediction was shown for an empty canvas"
    assert NOTHING_DRAWN in [info.value for info in at.info]


def test_a_full_server_tells_the_visitor_and_keeps_the_page_working():
    queue = resources.training_queue()
    others = [f"visitor {number}" for number in range(queue.capacity + queue.max_waiting)]
    for ticket in others:
        queue.enter(ticket)
    try:
        at = open_page("train", arch="rnn", iterations="5")
        finish_training(click(at, "Train"))
        assert "The server is busy" in page_text(at) and "Try again in a moment" in page_text(at)
        assert [button for button in at.button if button.label == "Train"]  # nothing lost
    finally:
        for ticket in others:
            queue.leave(ticket)
    # Once the others are done, the same visitor trains normally.
    finish_training(click(at, "Train"))
    assert at.success[0].value == "Basic RNN: completed 5 iterations."


def test_host_limits_cap_the_controls_and_links(monkeypatch):
    monkeypatch.setenv("RNN_DEMO_MAX_HIDDEN", "32")
    resources.host_limits.clear()
    try:
        at = open_page("train", hidden="100")
        assert "`hidden=100` was not used: hidden_units 100 is over this server's limit of 32" in page_text(at)
        assert at.number_input(key="w_hidden").max == 32
    finally:
        resources.host_limits.clear()


# The reported link injection (issue 21, attack 6): a warning box with a working link and a remote image.
ATTACK = ("x` **Session expired** [Log in again](https://evil.example/login) "
          "![](https://evil.example/px.gif) `")
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def injected(at) -> list[str]:
    """Every message whose markdown renders a link, an image, bold text or HTML from the attack."""
    elements = [*at.error, *at.warning, *at.info, *at.success, *at.caption, *at.markdown, *at.subheader]
    rendered = [RENDERER.render(str(element.value)) for element in elements]
    return [html for html in rendered if "evil.example" in html and ("<a " in html or "<img" in html
                                                                       or "<strong>Session" in html)]


def attack_shown(at) -> bool:
    return any("Session expired" in str(element.value) for element in [*at.warning, *at.error])


@pytest.mark.parametrize(("page", "parameter"), [
    ("inside", "arch"), ("inside", "section"), ("learn", "step"), ("draw", "run"), ("inside", "run"),
    *[("train", key) for key in QUERY_FIELDS],
])
def test_a_hostile_link_shows_its_text_and_nothing_else(page, parameter):
    at = open_page(page, **{parameter: ATTACK})
    assert not injected(at)
    if (page, parameter) not in (("draw", "run"), ("inside", "run")):  # a malformed run id: one fixed sentence
        assert attack_shown(at), "the visitor is not told what the link said"


def test_a_link_that_would_hold_a_slot_for_an_hour_is_refused_with_its_estimate():
    at = open_page("train", arch="bilstm", hidden="256", batch="2000", iterations="2000")
    assert "would take about" in page_text(at) and "over its budget of 5 min" in page_text(at)
    assert at.session_state["w_hidden"] == 256  # the link's values are shown, not silently changed
    assert [button for button in at.button if button.label == "Train"][0].disabled
    assert at.session_state["training"] is None if "training" in at.session_state else True
    # A click that reaches the server all the same is refused there, with the same sentence.
    with pytest.raises(ConfigError, match="would take about"):
        resources.host_limits().check(at.session_state["train_config"])
    assert resources.training_queue().state().running == 0
