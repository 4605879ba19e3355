"""Runs: the visitor's runs (rename, delete, download, open, compare), or one run by its link."""

import streamlit as st

from rnn_demo.ui import markers, runs
from rnn_demo.ui.navigation import friendly_errors, page_entry

page_entry()

st.title("Runs")
with friendly_errors():
    run_id = st.query_params.get("id")
    if run_id is not None:
        runs.run_view(run_id)
    else:
        st.caption("What you trained or uploaded in this browser, kept in the app's run store: it survives "
                   "reloads, new tabs and server restarts. Another browser does not see it.")
        runs.runs_list()
markers.page_ready("runs")
