"""Watch it learn: the live training view's ten fixed validation digits and the model's guesses.

While a model trains, its worker sends the weights every few iterations
(:func:`rnn_demo.jobs.train`); the job keeps the latest
(:attr:`~rnn_demo.training_jobs.JobSnapshot.weights`). This panel rebuilds the
NumPy twin from them and reads the showcase digits (:mod:`rnn_demo.showcase`),
at most every :data:`REDRAW_SECONDS`, from the newest snapshot: the live
fragment redraws five times a second, and a redraw in between reuses the last
figure. The run's figure is built once and given each snapshot's readouts in
place (building it anew cost ~100 ms of the web process each time).
"""

from __future__ import annotations

import time

import streamlit as st

from rnn_demo import figures
from rnn_demo.showcase import read_showcase, showcase_indices
from rnn_demo.teaching import WATCH_IT_LEARN
from rnn_demo.twin import twin_from_arrays
from rnn_demo.ui.markers import watch_block
from rnn_demo.ui.resources import get_dataset

WATCH_PANEL_KEY = "watch-panel"
# The newest weights are shown at most this often: each new chart of twenty small
# subplots costs the visitor's browser a re-layout, and on a small server whose
# browser shares the cores, that time came out of the training.
REDRAW_SECONDS = 0.5


def watch_it_learn(job, snapshot) -> None:
    """The showcase digits read by the current weights of ``snapshot``'s run (a
    :class:`~rnn_demo.training_jobs.JobSnapshot` of ``job``)."""
    if snapshot.weights is None:
        st.caption("The model's first guesses at ten digits appear after its first few iterations.")
        return
    iteration, arrays = snapshot.weights
    run = (id(job), snapshot.index)
    now = time.monotonic()
    cached = st.session_state.get("watch_figure")  # (run, iteration, figure, right, count, drawn at)
    if cached is None or cached[0] != run or (cached[1] != iteration and now - cached[5] >= REDRAW_SECONDS):
        dataset = get_dataset(snapshot.config.dataset)
        indices = showcase_indices(dataset.y_valid)
        images, labels = dataset.valid_sequences[indices], dataset.y_valid[indices]
        reading = read_showcase(twin_from_arrays(arrays), images)
        right = int((reading.guesses == labels).sum())
        if cached is not None and cached[0] == run:  # same digits: new readouts in the run's figure
            figure = figures.refresh_showcase(cached[2], labels, reading.readout, dataset.class_names)
        else:
            figure = figures.showcase_figure(images, labels, reading.readout, dataset.class_names)
        cached = st.session_state["watch_figure"] = (run, iteration, figure, right, len(indices), now)
    _, shown, figure, right, count, _ = cached
    # A stable outer container (the marker inside changes with every snapshot shown).
    with st.container(key=WATCH_PANEL_KEY), watch_block(shown):
        st.markdown(f"**Watch it learn** — after iteration {shown}: {right} of {count} read right")
        st.plotly_chart(figure, key="watch_it_learn")
        st.caption(WATCH_IT_LEARN)
