"""Draw & predict: a digit drawn (or picked) → the 16×16 input → the model's guess."""

import streamlit as st

from rnn_demo import figures
from rnn_demo.ui import drawing, markers, pickers, resources
from rnn_demo.ui.navigation import friendly_errors, page_entry

page_entry()

st.title("Draw a digit")
with friendly_errors():
    model = pickers.pick_model()
    dataset = resources.get_dataset(model.dataset)
    mode = st.segmented_control(
        "Input", ["Draw", "Pick a validation digit"], default="Draw", key="draw_mode",
        help="Picking a digit from the validation set works on any device, canvas or not.",
    ) or "Draw"
    left, right = st.columns([2, 3], gap="large")
    with left:
        if mode == "Draw":
            st.caption("Draw one digit, large and centred, with the mouse or a finger.")
            digit = drawing.drawing_canvas()
        else:
            digit = pickers.pick_validation_digit(dataset, key="draw_digit")
            st.plotly_chart(figures.image_figure(digit.image28, title=digit.source.capitalize(), height=300),
                            key="picked")
    with right:
        if isinstance(digit, str):
            st.info(digit, icon=":material/gesture:")
        else:
            drawing.prediction_panel(model, digit, dataset.class_names)
markers.page_ready("draw")
