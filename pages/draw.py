"""Draw & predict: a digit drawn (or picked) → the 16×16 input → the model's guess."""

import streamlit as st

from rnn_demo.ui import drawing, markers, pickers, resources
from rnn_demo.ui.navigation import friendly_errors, page_entry

page_entry()

st.title("Draw a digit")
with friendly_errors():
    model = pickers.pick_model()
    dataset = resources.get_dataset(model.dataset)
    mode = st.segmented_control(
        "Input", drawing.DRAW_MODES, default=drawing.DRAW_MODES[0], key="draw_mode",
        help="Picking a digit from the validation set works on any device, canvas or not.",
    ) or drawing.DRAW_MODES[0]
    drawing.draw_and_predict(model, dataset, mode)
markers.page_ready("draw")
