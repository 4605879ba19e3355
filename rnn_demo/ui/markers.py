"""Keyed markers: what a page shows, said in CSS classes instead of English text.

Streamlit gives a container with ``key=K`` the class ``st-key-K``. The browser
tests, the benches and the load test (through ``tests/harness.py``) wait on
these classes, never on a fixed sleep or a sentence:

* ``st-key-page-ready-<page>``: the page script drew its last element;
* ``st-key-train-status-<status>``: the training view shows ``queued``,
  ``running``, ``completed``, ``stopped``, ``diverged``, ``refused`` or ``failed``;
* ``st-key-train-queue-position-<n>``: inside the ``queued`` marker, the job's
  place in the server's queue (1 = next).

Streamlit draws no empty container, so each marker holds what it marks.
"""

from __future__ import annotations

import streamlit as st

READY_KEY_PREFIX = "page-ready-"
STATUS_KEY_PREFIX = "train-status-"
QUEUE_POSITION_KEY_PREFIX = "train-queue-position-"
CSS_KEY_PREFIX = "st-key-"  # what Streamlit puts before a container's key in its class


def page_ready(page: str) -> None:
    """The last element of a page: ``.st-key-page-ready-<page>`` says the script drew everything."""
    with st.container(key=READY_KEY_PREFIX + page):
        st.html('<span class="rnn-page-ready"></span>')


def status_block(status: str):
    """A container marked ``st-key-train-status-<status>``, to hold what shows that status."""
    return st.container(key=STATUS_KEY_PREFIX + status)


def queue_position_block(position: int):
    """A container marked ``st-key-train-queue-position-<position>`` (in the ``queued`` marker)."""
    return st.container(key=f"{QUEUE_POSITION_KEY_PREFIX}{position}")
