"""The model switch on /draw and /inside (AppTest): all six shipped models, each giving its own answer."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_demo.app.shipped import SHIPPED_ARCHITECTURES, shipped_model_path, softmax
from rnn_demo.config import ARCHITECTURE_NAMES
from rnn_demo.twins.twin_file import load_twin, twin_path
from tests.test_app import metric, open_page

DIGIT = 5  # a validation digit of the embedded sample
# The first layer tab /inside shows for each shipped model: its kind, depth and directions.
FIRST_LAYER_TAB = {
    "rnn": "Recurrent layer · RNN",
    "birnn": "Forward: reads down · RNN",
    "deep": "Layer 1 of 3 · GRU",
    "lstm": "Recurrent layer · LSTM",
    "gru": "Recurrent layer · GRU",
    "bilstm": "Forward: reads down · LSTM",
}


def model_switch(at):
    return at.selectbox(key="model_choice_widget")


def twin_prediction(arch: str, digit) -> str:
    """The class the shipped ``arch`` model's twin, read from its file here, gives ``digit`` ``(16, 16)``."""
    twin = load_twin(twin_path(shipped_model_path(arch))).numpy_model
    return str(int(twin.predict_probabilities(digit)[0].argmax()))


def test_the_switch_offers_the_six_shipped_models_in_plain_words():
    at = open_page("draw")
    switch = model_switch(at)
    assert switch.label == "Model" and switch.value == "shipped-lstm"  # the chapter's recipe first chosen
    assert list(switch.options) == [f"Shipped {ARCHITECTURE_NAMES[arch]}" for arch in SHIPPED_ARCHITECTURES]


@pytest.mark.parametrize("arch", SHIPPED_ARCHITECTURES)
def test_each_shipped_model_predicts_on_draw(arch, embedded_digits):
    at = open_page("draw")
    at.segmented_control(key="draw_mode").set_value("Pick a validation digit").run()
    at.number_input(key="draw_digit_index").set_value(DIGIT).run()
    model_switch(at).set_value(f"shipped-{arch}").run()
    assert not at.exception, [error.value for error in at.exception]
    captions = " ".join(item.value for item in at.caption).replace("\\", "")  # shown through plain()
    assert f"Shipped with the app: {ARCHITECTURE_NAMES[arch]}," in captions
    assert "on a 4,000-digit sample of MNIST that ships with the app;" in captions  # plain words, not the log's
    assert metric(at, "Prediction") == twin_prediction(arch, embedded_digits.valid_sequences[DIGIT])
    # The probability shown is the calibrated one: the logits divided by the file's temperature.
    twin = load_twin(twin_path(shipped_model_path(arch)))
    temperature = twin.metadata["temperature"]
    calibrated = softmax(twin.numpy_model.predict_logits(embedded_digits.valid_sequences[DIGIT]), temperature)
    help_text = next(item.help for item in at.metric if item.label == "Prediction")
    assert f"({calibrated.max():.1%}), calibrated: its logits divided by T = {temperature:.2f}" in help_text
    assert not np.isclose(temperature, 1.0)


@pytest.mark.parametrize("arch", SHIPPED_ARCHITECTURES)
def test_each_shipped_model_shows_its_own_views_on_inside(arch, embedded_digits):
    at = open_page("inside")
    at.number_input(key="inside_digit_index").set_value(DIGIT).run()
    model_switch(at).set_value(f"shipped-{arch}").run()
    assert not at.exception, [error.value for error in at.exception]
    named = f"Every state and gate of Shipped {ARCHITECTURE_NAMES[arch]},"
    assert any(caption.value.startswith(named) for caption in at.caption)
    assert FIRST_LAYER_TAB[arch] in [tab.label for tab in at.tabs]
    assert metric(at, "Prediction") == twin_prediction(arch, embedded_digits.valid_sequences[DIGIT])


def test_the_choice_carries_from_draw_to_inside_and_arch_links_still_choose():
    at = open_page("draw")
    model_switch(at).set_value("shipped-gru").run()
    at.switch_page("pages/inside.py").run()
    assert model_switch(at).value == "shipped-gru"
    linked = open_page("inside", arch="bilstm")
    assert model_switch(linked).value == "shipped-bilstm"
    assert len(model_switch(linked).options) == len(SHIPPED_ARCHITECTURES)  # the link adds no second entry
