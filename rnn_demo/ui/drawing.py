"""The Draw page's canvas and the prediction beside it.

The canvas component only draws; turning its RGBA image into the model's
input is :func:`rnn_demo.canvas.preprocess_canvas`, tested on its own, and
the canvas's size and pen are :data:`rnn_demo.canvas.CANVAS_PIXELS` and
:data:`~rnn_demo.canvas.STROKE_WIDTH`.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from rnn_demo import figures
from rnn_demo.canvas import CANVAS_PIXELS, STROKE_WIDTH, NothingDrawn, preprocess_canvas
from rnn_demo.catalogue import InteractiveModel
from rnn_demo.ui.pickers import DigitInput, open_inside


def drawing_canvas() -> DigitInput | str:
    """A black canvas with thick white ink; returns the drawing as an input, or guidance.

    A new canvas key (the Clear button) remounts the component empty.
    """
    from streamlit_drawable_canvas import st_canvas

    generation = st.session_state.setdefault("canvas_generation", 0)
    result = st_canvas(
        stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
        height=CANVAS_PIXELS, width=CANVAS_PIXELS, drawing_mode="freedraw",
        return_image_data=True, key=f"canvas_{generation}",
    )

    def clear() -> None:
        st.session_state["canvas_generation"] += 1
        st.session_state.pop("last_drawn", None)

    st.button("Clear", on_click=clear, icon=":material/ink_eraser:")
    prepared = preprocess_canvas(result.image_data)
    if isinstance(prepared, NothingDrawn):
        return prepared.message
    digit = DigitInput(prepared.image16, None, "your drawing", prepared.image28)
    st.session_state["last_drawn"] = digit
    return digit


def prediction_panel(model: InteractiveModel, digit: DigitInput, class_names: Sequence[str]) -> None:
    """What the model reads and what it predicts for ``digit``, with a way inside."""
    probabilities = model.numpy_model.predict_probabilities(digit.image16)[0]  # (10,)
    predicted = int(probabilities.argmax())
    left, right = st.columns([2, 3])
    with left:
        st.metric(
            "Prediction", class_names[predicted], border=True,
            help=f"{model.label}: the class with the highest probability ({probabilities[predicted]:.1%}).",
        )
        if digit.label is not None:
            verdict = "right" if digit.label == predicted else "wrong"
            st.caption(f"True class: {class_names[digit.label]} — the model is {verdict}.")
        st.caption("What the model reads: the digit shrunk to 16×16, one row per timestep.")
        st.plotly_chart(figures.image_figure(digit.image16, height=200), key="model_input")
    with right:
        st.plotly_chart(figures.probability_figure(probabilities, class_names), key="probabilities")
        if st.button("Look inside this digit", icon=":material/visibility:", type="primary"):
            open_inside(digit)
