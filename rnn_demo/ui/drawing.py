"""The Draw page's canvas and the prediction beside it, answered after each stroke.

The canvas is ``streamlit-drawable-canvas`` (``st_canvas`` in freedraw mode):
white ink on black at :data:`rnn_demo.data.canvas.CANVAS_PIXELS` with the pen
:data:`~rnn_demo.data.canvas.STROKE_WIDTH`, its toolbar's undo, redo and clear.
It sends its picture (a PNG data URL) after each stroke, through the library's
fixed 200 ms debounce; the picture is read by the bounded
:func:`rnn_demo.data.canvas.rgba_from_data_url` and made the model's input by
:func:`rnn_demo.data.canvas.preprocess_canvas`, tested on its own. A drawing
unlike every digit the model knows (:mod:`rnn_demo.twins.familiarity`) is said
so in a sentence beside the answer. See docs/performance.md for the latency.

Canvas and prediction are one fragment (:func:`draw_and_predict`): a stroke
re-runs only it, and its panel is plain HTML (:mod:`rnn_demo.views.panels`), so
nothing but the answer travels and redraws.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np
import streamlit as st

from rnn_demo.app.models import InteractiveModel
from rnn_demo.data.canvas import (
    CANVAS_PIXELS,
    STROKE_WIDTH,
    CanvasError,
    NothingDrawn,
    preprocess_canvas,
    rgba_from_data_url,
)
from rnn_demo.data.reduction import reduce_images
from rnn_demo.data.sources import Dataset
from rnn_demo.twins.familiarity import Familiarity, fit_familiarity, head_inputs, known_digits
from rnn_demo.ui.charts import chart
from rnn_demo.ui.markers import drawn_strokes_block
from rnn_demo.ui.pickers import DigitInput, open_inside, pick_validation_digit
from rnn_demo.views import chart_texts, figures, panels

DRAW_MODES = ("Draw", "Pick a validation digit")
CANVAS_KEY = "canvas"
# The model's known digits and the held-out ones that set its familiarity line
# (tests/test_familiarity.py calibrates on these; see docs/performance.md).
KNOWN_DIGITS, HELD_OUT_DIGITS = 1000, 500
UNLIKE_KEY = "drawing-unlike-known"  # marks the sentence that says a drawing is unlike them
WARMED_STATE = "familiarity_warmed"  # session_state: the models whose familiarity is on its way


def drawing_canvas() -> tuple[DigitInput | str, int]:
    """The canvas; returns the drawing as an input (or guidance when there is none)
    and the number of strokes it shows (undo and clear included)."""
    # Imported here: the library registers its element on import, which fails outside a running app.
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
        update_streamlit=True, height=CANVAS_PIXELS, width=CANVAS_PIXELS, drawing_mode="freedraw",
        return_image_data=True, key=CANVAS_KEY,
    )
    strokes = len((result.json_data or {}).get("objects") or [])
    # The PNG as sent (the state of the element), read at a bounded size; the
    # library's own image_data would decode whatever arrives.
    url = ((st.session_state.get(CANVAS_KEY) or {}).get("drawing") or {}).get("data")
    if strokes == 0 or url is None:
        st.session_state.pop("last_drawn", None)
        return preprocess_canvas(None).message, strokes
    try:
        rgba = rgba_from_data_url(url)
        if rgba.shape != (CANVAS_PIXELS, CANVAS_PIXELS, 4):
            raise CanvasError(f"The drawing could not be read: the canvas sent {rgba.shape[1]}×{rgba.shape[0]} "
                              f"pixels, not {CANVAS_PIXELS}×{CANVAS_PIXELS}.")
    except CanvasError as error:
        return str(error), strokes
    prepared = preprocess_canvas(rgba)
    if isinstance(prepared, NothingDrawn):
        return prepared.message, strokes
    digit = DigitInput(prepared.image16, None, "your drawing", prepared.image28)
    st.session_state["last_drawn"] = digit
    return digit, strokes


def _fingerprint(model: InteractiveModel) -> str:
    """Names this model's weights across sessions (a session's ``model.key`` may repeat in another)."""
    head = model.numpy_model
    digest = hashlib.sha1(np.ascontiguousarray(head.head_kernel).tobytes())
    digest.update(np.ascontiguousarray(head.head_bias).tobytes())
    return f"{model.key}:{digest.hexdigest()}"


@st.cache_resource(show_spinner=False, max_entries=16)
def familiarity(fingerprint: str, dataset_name: str, _model: InteractiveModel, _dataset: Dataset) -> Familiarity:
    """What the model of ``fingerprint`` makes of the known digits of ``dataset_name``, once per server."""
    known = known_digits(_dataset.x_train[:KNOWN_DIGITS], _dataset.y_train[:KNOWN_DIGITS],
                         flagged_ones=dataset_name == "mnist")
    return fit_familiarity(_model.numpy_model, known, reduce_images(_dataset.x_valid[:HELD_OUT_DIGITS]))


def model_familiarity(model: InteractiveModel, dataset: Dataset, *, wait: bool = True) -> Familiarity | None:
    """:func:`familiarity` for ``model``; with ``wait=False``, fitted in a thread (once per
    session and model) while the visitor draws, so that the first stroke need not wait."""
    fingerprint = _fingerprint(model)
    if wait:
        return familiarity(fingerprint, dataset.name, model, dataset)
    warmed = st.session_state.setdefault(WARMED_STATE, set())
    if fingerprint not in warmed:
        warmed.add(fingerprint)
        threading.Thread(target=familiarity, args=(fingerprint, dataset.name, model, dataset), daemon=True).start()
    return None


@st.fragment
def draw_and_predict(model: InteractiveModel, dataset: Dataset, mode: str) -> None:
    """The input (canvas or a validation digit) beside the model's answer; one fragment.

    A stroke, an undo, a clear or another digit re-runs this fragment only: the
    model switch, the uploader and the rest of the page stay as they are.
    """
    left, right = st.columns([2, 3], gap="large")
    strokes = None
    with left:
        if mode == DRAW_MODES[0]:
            st.caption("Draw one digit, large and centred, with the mouse or a finger. "
                       "The toolbar over the canvas's top edge undoes, redoes and clears.")
            digit, strokes = drawing_canvas()
            model_familiarity(model, dataset, wait=False)
        else:
            digit = pick_validation_digit(dataset, key="draw_digit")
            title = digit.source.capitalize()
            chart(figures.image_figure(digit.image28, title=title, height=300),
                  chart_texts.image_text(digit.image28, title), key="picked")
    with right, drawn_strokes_block(strokes):
        if isinstance(digit, str):
            st.info(digit, icon=":material/gesture:")
        else:
            known = model_familiarity(model, dataset) if strokes is not None else None
            prediction_panel(model, digit, dataset.class_names, known)


def prediction_panel(model: InteractiveModel, digit: DigitInput, class_names: Sequence[str],
                     known: Familiarity | None = None) -> None:
    """What the model reads and what it predicts for ``digit``, with a way inside.

    With ``known``, a drawing unlike every digit the model knows is said to be so.
    """
    features, probabilities = head_inputs(model.numpy_model, digit.image16, model.temperature)
    probabilities = probabilities[0]  # (10,)
    predicted = int(probabilities.argmax())
    if known is not None and known.is_unlike(features, probabilities[None])[0]:
        with st.container(key=UNLIKE_KEY):
            things = "digit" if model.dataset == "mnist" else "picture"
            st.markdown(f"This drawing is unlike any {things} the model learned from, so its answer "
                        f"({class_names[predicted]}) is only its nearest guess.")
    left, right = st.columns([2, 3])
    with left:
        st.metric(
            "Prediction", class_names[predicted], border=True,
            help=f"{model.label}: the class with the highest probability ({probabilities[predicted]:.1%})"
                 + (f", calibrated: its logits divided by T = {model.temperature:.2f}, so that what it reads at "
                    f"90 % is right about 9 times in 10." if model.temperature != 1 else "."),
        )
        if digit.label is not None:
            verdict = "right" if digit.label == predicted else "wrong"
            st.caption(f"True class: {class_names[digit.label]} — the model is {verdict}.")
        st.caption("What the model reads: the digit shrunk to 16×16, one row per timestep.")
        st.html(panels.input_picture(digit.image16))
    with right:
        st.caption("How sure it is, class by class")
        st.html(panels.probability_bars(np.asarray(probabilities, dtype=np.float32), class_names))
        if st.button("Look inside this digit", icon=":material/visibility:", type="primary"):
            open_inside(digit)
