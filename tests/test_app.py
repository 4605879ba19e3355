"""Every page, headless, through Streamlit's AppTest: what a visitor would see.

No mocks: training really runs (a few iterations on the embedded sample, in
the app's own background thread) and predictions come from the shipped model.
AppTest does not replay a fragment's timed reruns, so tests wait for the
training thread through the session's training (``LiveTraining.wait``) and then run
the script once more, which is what the live fragment's last poll does.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import numpy as np
import plotly.io
import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo.app.limits import HostLimits
from rnn_demo.app.links import QUERY_FIELDS, config_from_query, config_to_query
from rnn_demo.ui import resources
from rnn_demo.ui.charts import CHART_COMPONENT
from rnn_demo.ui.navigation import PAGE, PAGES
from tests.harness import HEADINGS, wait_for

os.environ["RNN_DEMO_OFFLINE"] = "1"
APP = str(Path(__file__).resolve().parent.parent / "app.py")
# A generous ceiling for a few iterations on a loaded 2-core machine: the tests
# wait on the training itself and only fail here if it never ends.
TRAINING_SECONDS = 300


def open_page(page: str, **query: str) -> AppTest:
    """A fresh session (a new visitor) on page ``page`` (a name in ``PAGES``) with URL query ``query``."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.run()
    at.switch_page(PAGE[page].script).run()
    assert not at.exception, [error.value for error in at.exception]
    return at


def click(at: AppTest, label: str) -> AppTest:
    matches = [button for button in at.button if button.label == label]
    assert matches, f"no button {label!r}; buttons: {[button.label for button in at.button]}"
    matches[0].click().run()
    assert not at.exception, [error.value for error in at.exception]
    return at


def finish_training(at: AppTest) -> AppTest:
    """Wait for this session's training thread, then rerun as the live view would."""
    assert at.session_state["training"].wait(TRAINING_SECONDS), "training did not finish in time"
    at.run()
    assert not at.exception, [error.value for error in at.exception]
    return at


def array(value) -> np.ndarray:
    """A Plotly data array: a list, or a typed array ``{"dtype", "bdata"[, "shape"]}``."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(size) for size in str(shape).split(",")]) if shape else flat
    return np.asarray(value)


def charts_on(at: AppTest) -> list[dict]:
    """Each chart the run showed, as the browser receives it: ``{"alt": text, "figure": Plotly
    JSON}`` (rnn_demo.ui.charts)."""
    return [json.loads(element.proto.bytes) for element in at.get("bidi_component")
            if element.proto.component_name == CHART_COMPONENT]


def figures_on(at: AppTest) -> list:
    return [plotly.io.from_json(json.dumps(chart["figure"])) for chart in charts_on(at)]


def trace_named(figures, name: str):
    for figure in figures:
        for trace in figure.data:
            if trace.name == name:
                return trace
    raise AssertionError(f"no trace named {name!r}")


def metric(at: AppTest, label: str) -> str:
    values = [item.value for item in at.metric if item.label == label]
    assert values, f"no metric {label!r}; metrics: {[item.label for item in at.metric]}"
    return values[0]


@pytest.mark.parametrize("page", [page.name for page in PAGES])
def test_every_page_renders_without_error(page):
    at = open_page(page)
    assert at.title[0].value == HEADINGS[page]
    assert not at.error


# What a page says of its data, once: plain words, the embedded sample's own counts.
DATA_LINE = ("Models here learn from a 4,000-digit sample of MNIST that ships with the app and are tested "
             "on 1,000 other digits; the full 60,000 digits need an internet connection.")


def data_lines(at: AppTest) -> list[str]:
    """The captions that say what the models learn from (the page should have one)."""
    return [caption.value for caption in at.caption if "learn from" in caption.value or "MNIST" in caption.value]


def test_train_page_trains_and_streams_the_curve():
    at = open_page("train", arch="rnn", iterations="6", batch="100", hidden="16")
    assert data_lines(at) == [DATA_LINE]
    queue = resources.training_queue()
    others = [f"visitor {number}" for number in range(queue.capacity)]
    for ticket in others:  # every slot taken: the training must wait, whatever the machine's speed
        queue.enter(ticket)
    try:
        training = click(at, "Train").session_state["training"]
        wait_for(lambda: training.snapshot().queue_state is not None, TRAINING_SECONDS,  # it asked the queue
                 message="the training never asked the queue")
        at.run()
        # The live view (fragment) shows the training's place in the queue, and nothing trains yet.
        state = training.snapshot().queue_state
        assert state.position == 1 and not training.snapshot().train_loss
        assert [info.value for info in at.info] == [state.message]
        assert "Leave the queue" in [button.label for button in at.button]
        assert [button.disabled for button in at.button if button.label == "Train"] == [True]
        assert data_lines(at) == [DATA_LINE]
    finally:
        for ticket in others:
            queue.leave(ticket)
    finish_training(at)
    assert at.success[0].value == "Basic RNN: completed 6 iterations."
    loss = trace_named(figures_on(at), "training loss (this batch)")
    assert len(array(loss.x)) == 6 and np.all(np.isfinite(array(loss.y)))
    validation = trace_named(figures_on(at), "validation accuracy")
    assert list(array(validation.x)) == [1, 2, 3, 4, 5, 6]  # validate_every gives ~15 points, capped by 6
    # The accuracy shown is the trained model's own on the 1,000 validation digits,
    # recomputed here by its NumPy twin (the same model the other pages use).
    trained = at.session_state["trained"][-1]
    digits = resources.get_dataset("mnist")
    predicted = trained.numpy_model.predict_probabilities(digits.valid_sequences).argmax(axis=1)
    assert metric(at, "Validation accuracy") == f"{np.mean(predicted == digits.y_valid):.1%}"
    assert metric(at, "Validation accuracy") == f"{array(validation.y)[-1]:.1%}"
    assert metric(at, "Parameters") == f"{16 * 16 + 16 * 16 + 16 + 16 * 10 + 10:,}"
    assert at.get("download_button"), "no model download"
    assert data_lines(at) == [DATA_LINE]


def test_stop_ends_training_early_and_keeps_the_model():
    at = open_page("train", arch="rnn", iterations="2000", batch="100", hidden="8")
    click(at, "Train")
    at.run()
    click(at, "Stop")
    training = at.session_state["training"]
    assert training.stop_event.is_set()
    assert training.wait(TRAINING_SECONDS), "training did not stop"
    at.run()
    (message,) = [info.value for info in at.info]
    assert message.startswith("Stopped on request after") and "keeps what it learned" in message
    result = at.session_state["trained"][-1].result
    assert result.status == "stopped" and result.iterations_done < 2000


def test_a_diverging_run_is_a_warning_and_keeps_its_curve():
    at = open_page("train", arch="rnn", iterations="60", lr="1")
    finish_training(click(at, "Train"))
    assert any("diverged" in warning.value for warning in at.warning)
    assert len(array(trace_named(figures_on(at), "training loss (this batch)").x)) >= 1


def test_bad_query_parameters_give_messages_and_defaults():
    at = open_page("train", lr="abc", arch="transformer", hidden="0", iterations="20")
    warnings = " ".join(warning.value for warning in at.warning)
    assert "`lr=abc` was not used" in warnings and "learning_rate must be a number" in warnings
    assert "`arch=transformer` was not used" in warnings
    assert "`hidden=0` was not used" in warnings
    assert at.session_state["w_lr"] == 0.01 and at.session_state["w_arch"] == "lstm"
    assert at.session_state["w_iterations"] == 20  # the good value is kept
    # The URL now holds the config actually used, so a copied link is a good one.
    assert at.query_params["lr"] == ["0.01"] or at.query_params["lr"] == "0.01"


def test_the_url_follows_the_controls_and_defaults_can_be_restored():
    at = open_page("train")
    at.radio(key="w_arch").set_value("birnn").run()
    at.number_input(key="w_iterations").set_value(250).run()
    query = {key: (value[0] if isinstance(value, list) else value) for key, value in at.query_params.items()}
    assert query["arch"] == "birnn" and query["iterations"] == "250"
    click(at, "Restore the chapter's defaults")
    assert at.session_state["w_arch"] == "lstm" and at.session_state["w_iterations"] == 100


def test_config_query_round_trip_and_refusals():
    from rnn_demo.config import TrainConfig

    config = TrainConfig(arch="deep", hidden_units=32, layers=2, learning_rate=0.003, batch_size=250,
                         iterations=40, seed=7, device="cpu")
    assert set(config_to_query(config)) == set(QUERY_FIELDS)
    assert config_from_query(config_to_query(config)) == (config, [])
    parsed, problems = config_from_query({"device": "gpu", "seed": "1.5"}, gpus_available=False)
    assert parsed == TrainConfig() and len(problems) == 2
    assert "seed must be a whole number" in problems[0] and "no GPU" in problems[1]
    parsed, problems = config_from_query({"iterations": "5000", "hidden": "32"}, limits=HostLimits())
    assert parsed == TrainConfig(hidden_units=32)
    assert problems == ["The link's `iterations=5000` was not used: iterations 5000 is over this "
                        "server's limit of 2000. Using the default, 100."]


def test_draw_page_predicts_a_validation_digit_like_keras(embedded_digits):
    import keras

    at = open_page("draw")
    assert "Nothing drawn yet" in at.info[0].value  # the canvas is empty under AppTest
    at.segmented_control(key="draw_mode").set_value("Pick a validation digit").run()
    at.number_input(key="draw_digit_index").set_value(3).run()
    assert not at.exception
    shipped = keras.saving.load_model(Path(APP).parent / "rnn_demo/assets/models/lstm.keras", compile=False)
    logits = shipped.predict_on_batch(embedded_digits.valid_sequences[3:4])
    assert metric(at, "Prediction") == str(int(np.argmax(logits)))
    # The probabilities are HTML bars, each titled "class: probability" to four places.
    (bars,) = [html.proto.body for html in at.get("html") if 'title="' in html.proto.body]
    probabilities = [float(value) for value in re.findall(r'title="[^"]*: ([0-9.]+)"', bars)]
    assert len(probabilities) == 10 and np.isclose(sum(probabilities), 1.0, atol=1e-3)
    # The hand-over to /inside keeps the digit.
    click(at, "Look inside this digit")
    assert at.title[0].value == HEADINGS["inside"]
    assert metric(at, "Prediction") == str(int(np.argmax(logits)))
    assert at.radio(key="inside_source_widget").value == "handed"


def test_inside_page_shows_every_array_of_the_lstm():
    at = open_page("inside")
    at.number_input(key="inside_digit_index").set_value(11).run()
    labels = [tab.label for tab in at.tabs]
    for expected in ("hidden state h", "input gate i", "forget gate f", "candidate C̃", "cell state c",
                     "output gate o"):
        assert expected in labels
    heatmaps = [trace for figure in figures_on(at) for trace in figure.data if trace.type == "heatmap"]
    assert any(array(trace.z).shape == (16, 64) for trace in heatmaps)  # 16 timesteps × 64 units
    assert any(array(trace.z).shape == (16, 10) for trace in heatmaps)  # readout per timestep
    equations = set()
    for label in ("hidden state h", "input gate i", "forget gate f", "candidate C̃", "cell state c",
                  "output gate o"):  # only the open tab is drawn: open each
        at.session_state["inside_array_tab_Recurrent layer · LSTM"] = label
        at.run()
        assert not at.exception, [error.value for error in at.exception]
        equations.update(latex.value for latex in at.get("latex"))
    assert len(equations) == 6  # one equation per array


def test_inside_shipped_model_shows_both_directions():
    at = open_page("inside", arch="birnn")
    assert at.selectbox(key="model_choice_widget").value == "shipped-birnn"
    labels = [tab.label for tab in at.tabs]
    assert "Forward: reads down · RNN" in labels
    assert "Backward: reads up · RNN" in labels


def test_inside_deep_link_trains_nothing():
    trained_before = resources.worker_pool().status().jobs.get("train", 0)
    at = open_page("inside", arch="deep")
    assert at.selectbox(key="model_choice_widget").value == "shipped-deep"
    assert any(tab.label.startswith("Layer 3 of 3") for tab in at.tabs)
    assert resources.worker_pool().status().jobs.get("train", 0) == trained_before
    assert resources.training_queue().state().running == 0


def test_inside_unknown_arch_is_a_message():
    at = open_page("inside", arch="transformer")
    assert "does not know" in at.warning[0].value


def test_compare_trains_two_recipes_and_tabulates_them():
    at = open_page("compare")
    at.pills(key="compare_archs").set_value(["rnn", "lstm"]).run()
    at.number_input(key="compare_iterations").set_value(4).run()
    finish_training(click(at, "Train them one after another"))
    (table,) = at.dataframe
    rows = table.value
    assert list(rows["architecture"]) == ["Basic RNN", "LSTM"]
    assert list(rows["iterations"]) == [4, 4] and (rows["ms / iteration"] > 0).all()
    assert set(rows["seed"]) == {0}
    curves = figures_on(at)[0]
    assert {trace.legendgroup for trace in curves.data} == {trace.label for trace in at.session_state["trained"]}


def test_a_trained_model_belongs_to_its_visitor_only():
    trainer = open_page("train", arch="rnn", iterations="3", batch="100", hidden="8")
    finish_training(click(trainer, "Train"))
    trainer.switch_page(PAGE["draw"].script).run()
    assert len(trainer.selectbox(key="model_choice_widget").options) == 7  # six shipped, one trained
    # Kept in the store as the visitor's run: the session has its key from its first run.
    assert trainer.selectbox(key="model_choice_widget").value.startswith("run-")
    other = open_page("draw")
    assert len(other.selectbox(key="model_choice_widget").options) == 6
