"""Draw & predict: a digit drawn (or picked) → the 16×16 input → the model's guess."""

import streamlit as st

from rnn_demo import figures, ui

st.title("Draw a digit")
with ui.friendly_errors():
    model = ui.pick_model()
    dataset = ui.get_dataset(model.dataset)
    mode = st.segmented_control(
        "Input", ["Draw", "Pick a validation digit"], default="Draw", key="draw_mode",
        help="Picking a digit from the validation set works on any device, canvas or not.",
    ) or "Draw"
    left, right = st.columns([2, 3], gap="large")
    with left:
        if mode == "Draw":
            st.caption("Draw one digit, large and centred, with the mouse or a finger.")
            digit = ui.drawing_canvas()
        else:
            digit = ui.pick_validation_digit(dataset, key="draw_digit")
            st.plotly_chart(figures.image_figure(digit.image28, title=digit.source.capitalize(), height=300),
                            key="picked")
    with right:
        if isinstance(digit, str):
            st.info(digit, icon=":material/gesture:")
        else:
            ui.prediction_panel(model, digit, dataset.class_names)
ui.page_ready("draw")
