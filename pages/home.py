"""Home: what the app is, how an image becomes a sequence, where to start."""

import streamlit as st

from rnn_demo.ui import markers, resources
from rnn_demo.ui.charts import chart
from rnn_demo.ui.navigation import PAGE, page_entry, page_link
from rnn_demo.views import chart_texts, figures

page_entry()
st.title("RNN Lab: reading digits one row at a time")
st.markdown(
    "A recurrent neural network reads a sequence one step at a time and carries a "
    "**hidden state** from step to step. Here the sequence is a handwritten digit: each "
    "MNIST image is shrunk to **16×16 pixels** and fed to the network **row by row**, top "
    "to bottom — 16 timesteps, each a vector of 16 pixel values. After the last row, a "
    "small dense layer turns the final hidden state into scores for the ten digits."
)
st.markdown(
    "The app follows a book chapter's four recipes — a **basic RNN**, a **bidirectional RNN**, "
    "a **deep (3-layer GRU)** network and an **LSTM** — and lets you train them live, draw "
    "your own digits, and watch every state and gate while the network reads."
)

left, right = st.columns([3, 2], gap="large")
with left:
    example = resources.example_digit()
    chart(figures.sequence_figure(example), chart_texts.sequence_text(example), key="sequence")
    st.caption(
        "Left: a validation digit at 16×16. Right: the same pixels as the network receives "
        "them — row t is the input vector x_t at timestep t."
    )
with right:
    st.subheader("Where to start")
    for name, blurb in (
        ("draw", "Draw a digit and see what a trained LSTM thinks."),
        ("train", "Pick a recipe and watch the loss fall, live."),
        ("inside", "Hidden states, gates and cell state, row by row."),
        ("compare", "The four recipes on the same data and seed."),
        ("runs", "What you trained or uploaded, kept for this browser, with links to share."),
        ("learn", "The equations, and where the chapter's code slips."),
    ):
        page_link(name, f"**{PAGE[name].title}**")
        st.caption(blurb)
    st.info(
        "No training needed to begin: a small LSTM ships with the app. Models you train or "
        "upload are kept as your runs, for this browser: they survive reloads, new tabs and "
        "server restarts, and other visitors see them only if you send them a run's link.",
        icon=":material/info:",
    )
markers.page_ready("home")
