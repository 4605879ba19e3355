"""Watch it learn in the live view: the watched digits read by the newest weights of the run.

While a model trains, its worker sends the weights every few iterations
(:func:`rnn_demo.compute.jobs.train`) and the training keeps the latest
(:attr:`~rnn_demo.app.live_training.LiveSnapshot.weights`). This view rebuilds the
NumPy twin from them and shows :func:`rnn_demo.views.watch.watch_panel`, at most as
often as the live view asks (every other tick); a tick in between reuses the last panel.
"""

from __future__ import annotations

import time

import streamlit as st

from rnn_demo.twins.twin_file import twin_from_arrays
from rnn_demo.ui.markers import watch_block
from rnn_demo.ui.resources import get_dataset
from rnn_demo.views.teaching import WATCH_EXPLAINED
from rnn_demo.views.watch import read_watch_digits, watch_indices, watch_panel

WATCH_PANEL_KEY = "watch-panel"


def watch_view(training, snapshot, redraw_seconds: float) -> None:
    """The watched digits read by the current weights of ``snapshot``'s run (a
    :class:`~rnn_demo.app.live_training.LiveSnapshot` of ``training``), newer weights shown at
    most every ``redraw_seconds``: reading the digits costs the web process a few
    milliseconds and the browser a new panel, and a panel changing faster is not read anyway."""
    if snapshot.weights is None:
        st.caption("The model's first guesses at ten digits appear after its first few iterations.")
        return
    iteration, arrays = snapshot.weights
    run = training.model_number(snapshot.index)
    now = time.monotonic()
    cached = st.session_state.get("watch_panel")  # (run, iteration, panel, right, count, drawn at)
    if cached is None or cached[0] != run or (cached[1] != iteration and now - cached[5] >= redraw_seconds):
        dataset = get_dataset(snapshot.config.dataset)
        indices = watch_indices(dataset.y_valid)
        images, labels = dataset.valid_sequences[indices], dataset.y_valid[indices]
        reading = read_watch_digits(twin_from_arrays(arrays), images)
        right = int((reading.guesses == labels).sum())
        panel = watch_panel(images, labels, reading.readout, dataset.class_names)
        cached = st.session_state["watch_panel"] = (run, iteration, panel, right, len(indices), now)
    _, shown, panel, right, count, _ = cached
    # A stable outer container (the marker inside changes with every snapshot shown).
    with st.container(key=WATCH_PANEL_KEY), watch_block(shown):
        st.markdown(f"**Watch it learn** — after iteration {shown}: {right} of {count} read right")
        st.html(panel)
        st.caption(WATCH_EXPLAINED)
