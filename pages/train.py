"""Train: choose a recipe, train it live in the background, read the results."""

import streamlit as st

from rnn_demo.ui import classroom, controls, live_view, markers, resources
from rnn_demo.ui.layout import tap_targets
from rnn_demo.ui.navigation import friendly_errors, page_entry

page_entry()

st.title("Train a recurrent network")
st.caption(
    "Each iteration is one Adam step on a fresh random minibatch, as in the chapter. "
    "The settings are in the page's address: copy it to share this set-up."
)

classroom.class_banner()  # "Your class asks: …", its pinned settings set (before the controls read them)
settings, output = st.columns([1, 2], gap="large")
tap_targets("train-button", live_view.STOP_KEY)
with settings, friendly_errors():
    top = st.container(key="train-button")  # above the controls: on a laptop the bottom is off-screen
    with controls.settings_panel():  # folds on Train: on a phone the live view then follows the button
        config = controls.train_controls()
    controls.time_estimate(config)
    st.caption(resources.get_dataset(config.dataset).summary)  # the page's one data line
    if top.button("Train", type="primary", icon=":material/play_arrow:", width="stretch",
                  on_click=controls.fold_settings,
                  disabled=live_view.training_running() or not controls.fits_budget(config)):
        live_view.start_training([config])

with output:
    models = live_view.session_models()
    live_view.show_training()
    if not live_view.training_running():
        live_view.training_error()
        if models:
            with friendly_errors():
                live_view.result_summary(models[-1])
        else:
            st.info(
                "Pick a recipe on the left and press **Train**. The chapter's recipe "
                "(LSTM, 64 units, learning rate 0.01, batch 500, 100 iterations) takes a few "
                "seconds on the embedded sample.",
                icon=":material/arrow_back:",
            )
            live_view.empty_curve(config)
markers.page_ready("train")
