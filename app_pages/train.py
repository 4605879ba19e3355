"""Train: choose a recipe, train it live in the background, read the results."""

import streamlit as st

from rnn_demo import ui

st.title("Train a recurrent network")
st.caption(
    "Each iteration is one Adam step on a fresh random minibatch, as in the chapter. "
    "The settings are in the page's address: copy it to share this set-up."
)

controls, output = st.columns([1, 2], gap="large")
with controls, ui.friendly_errors():
    top = st.container()  # the Train button, above the controls: on a laptop the bottom is off-screen
    config = ui.train_controls()
    st.caption(f"**Data:** {ui.get_dataset(config.dataset).description}")
    if top.button("Train", type="primary", icon=":material/play_arrow:", disabled=ui.job_running(),
                  width="stretch"):
        ui.start_job([config])

with output:
    models = ui.session_models()
    ui.live_training()
    if not ui.job_running():
        ui.job_error()
        if models:
            with ui.friendly_errors():
                ui.result_summary(models[-1])
        else:
            st.info(
                "Pick a recipe on the left and press **Train**. The chapter's recipe "
                "(LSTM, 64 units, learning rate 0.01, batch 500, 100 iterations) takes a few "
                "seconds on the embedded sample.",
                icon=":material/arrow_back:",
            )
ui.page_ready("train")
