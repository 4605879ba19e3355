"""Watch it learn: the live training view's ten fixed validation digits and the model's guesses.

While a model trains, its worker sends the weights every few iterations
(:func:`rnn_demo.jobs.train`); the job keeps the latest
(:attr:`~rnn_demo.training_jobs.JobSnapshot.weights`). This panel rebuilds the
NumPy twin from them and reads the showcase digits (:mod:`rnn_demo.showcase`),
once per snapshot: the live fragment redraws twice a second, and a redraw
without new weights reuses the last figure.
"""

from __future__ import annotations

import streamlit as st

from rnn_demo import figures
from rnn_demo.showcase import read_showcase, showcase_indices
from rnn_demo.teaching import WATCH_IT_LEARN
from rnn_demo.twin import twin_from_arrays
from rnn_demo.ui.markers import watch_block
from rnn_demo.ui.resources import get_dataset

WATCH_PANEL_KEY = "watch-panel"


def watch_it_learn(job, snapshot) -> None:
    """The showcase digits read by the current weights of ``snapshot``'s run (a
    :class:`~rnn_demo.training_jobs.JobSnapshot` of ``job``)."""
    if snapshot.weights is None:
        st.caption("The model's first guesses at ten digits appear after its first few iterations.")
        return
    iteration, arrays = snapshot.weights
    version = (id(job), snapshot.index, iteration)
    cached = st.session_state.get("watch_figure")
    if cached is None or cached[0] != version:
        dataset = get_dataset(snapshot.config.dataset)
        indices = showcase_indices(dataset.y_valid)
        images = dataset.valid_sequences[indices]
        reading = read_showcase(twin_from_arrays(arrays), images)
        right = int((reading.guesses == dataset.y_valid[indices]).sum())
        figure = figures.showcase_figure(images, dataset.y_valid[indices], reading.readout, dataset.class_names)
        cached = st.session_state["watch_figure"] = (version, figure, right, len(indices))
    _, figure, right, count = cached
    # A stable outer container (the marker inside changes with every snapshot).
    with st.container(key=WATCH_PANEL_KEY), watch_block(iteration):
        st.markdown(f"**Watch it learn** — after iteration {iteration}: {right} of {count} read right")
        st.plotly_chart(figure, key="watch_it_learn")
        st.caption(WATCH_IT_LEARN)
