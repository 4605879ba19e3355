"""Keyed markers: what a page shows, said in CSS classes instead of English text.

Streamlit gives a container with ``key=K`` the class ``st-key-K``. The browser
tests, the benches and the load test (through ``tests/harness.py``) wait on
these classes, never on a fixed sleep or a sentence:

* ``st-key-page-ready-<page>``: the page script drew its last element; the span
  inside carries ``data-run``, the session's count of whole-page runs (a
  fragment's re-run leaves it as it was);
* ``st-key-train-status-<status>``: the training view shows ``queued``,
  ``running``, ``completed``, ``stopped``, ``diverged``, ``refused`` or ``failed``;
* ``st-key-train-queue-position-<n>``: inside the ``queued`` marker, the training's
  place in the server's queue (1 = next);
* ``st-key-watch-it-learn-<n>``: the live view shows the watched digits read
  by the weights of iteration ``n``;
* ``st-key-view-<name>``: a teaching view of /inside or of the lesson is drawn
  (``gradients``, ``step-through``, ``state-plane``);
* ``st-key-lesson-step-<n>``: the lesson shows step ``n``;
* ``st-key-run-row-<id>``: /runs lists the visitor's run ``id``;
  ``st-key-run-view-<id>``: the read-only view of run ``id`` (its link, ``/runs?id=<id>``);
  ``st-key-runs-count-<n>``: /runs knows the visitor and lists their ``n`` runs;
* ``st-key-class-code``: the class's join code (its text); ``st-key-board-run-<id>``: run ``id``
  posted on the class board; ``st-key-board-count-<n>``: the board lists ``n`` runs;
  ``st-key-class-student``: /class shows a student their class.

Streamlit draws no empty container, so each marker holds what it marks.
"""

from __future__ import annotations

import streamlit as st

READY_KEY_PREFIX = "page-ready-"
STATUS_KEY_PREFIX = "train-status-"
QUEUE_POSITION_KEY_PREFIX = "train-queue-position-"
DRAWN_STROKES_KEY_PREFIX = "drawn-strokes-"
LAST_ITERATION_KEY_PREFIX = "train-last-iteration-ms-"
PAGE_RUNS_STATE = "page_runs"  # session_state: whole-page runs so far, shown by page_ready
WATCH_KEY_PREFIX = "watch-it-learn-"
VIEW_KEY_PREFIX = "view-"
LESSON_KEY_PREFIX = "lesson-step-"
RUN_ROW_KEY_PREFIX = "run-row-"
RUN_VIEW_KEY_PREFIX = "run-view-"
RUNS_COUNT_KEY_PREFIX = "runs-count-"
CLASS_CODE_KEY = "class-code"
BOARD_RUN_KEY_PREFIX = "board-run-"
BOARD_COUNT_KEY_PREFIX = "board-count-"
CLASS_STUDENT_KEY = "class-student"
CSS_KEY_PREFIX = "st-key-"  # what Streamlit puts before a container's key in its class
# The element inside the page-ready container: the container can reach the
# browser a moment before its content, so tests wait for this.
READY_CLASS = "rnn-page-ready"


def page_ready(page: str) -> None:
    """The last element of a page: ``.st-key-page-ready-<page>`` says the script drew everything."""
    runs = st.session_state[PAGE_RUNS_STATE] = st.session_state.get(PAGE_RUNS_STATE, 0) + 1
    with st.container(key=READY_KEY_PREFIX + page):
        st.html(f'<span class="{READY_CLASS}" data-run="{runs}"></span>')


def status_block(status: str):
    """A container marked ``st-key-train-status-<status>``, to hold what shows that status."""
    return st.container(key=STATUS_KEY_PREFIX + status)


def queue_position_block(position: int):
    """A container marked ``st-key-train-queue-position-<position>`` (in the ``queued`` marker)."""
    return st.container(key=f"{QUEUE_POSITION_KEY_PREFIX}{position}")


def watch_block(iteration: int):
    """A container marked ``st-key-watch-it-learn-<iteration>``: the guesses of that iteration's weights."""
    return st.container(key=f"{WATCH_KEY_PREFIX}{iteration}")


def view_block(name: str, suffix: str = ""):
    """A container marked ``st-key-view-<name>`` (``suffix`` keeps two on one page apart)."""
    return st.container(key=f"{VIEW_KEY_PREFIX}{name}{suffix}")


def lesson_block(step: int):
    """A container marked ``st-key-lesson-step-<step>``: what the lesson's step shows."""
    return st.container(key=f"{LESSON_KEY_PREFIX}{step}")


def drawn_strokes_block(strokes: int | None):
    """A container marked ``st-key-drawn-strokes-<strokes>``; unmarked when ``strokes`` is None."""
    return st.container(key=None if strokes is None else f"{DRAWN_STROKES_KEY_PREFIX}{strokes}")


def last_iteration_block(heard_at: float | None):
    """A container marked ``st-key-train-last-iteration-ms-<ms>`` (``heard_at``: ``time.time()``)."""
    return st.container(key=None if heard_at is None else f"{LAST_ITERATION_KEY_PREFIX}{round(heard_at * 1000)}")


def run_row_block(run_id: str):
    """A container marked ``st-key-run-row-<run_id>``: one of the visitor's runs on /runs."""
    return st.container(key=f"{RUN_ROW_KEY_PREFIX}{run_id}", border=True)


def run_view_block(run_id: str):
    """A container marked ``st-key-run-view-<run_id>``: the read-only view of that run."""
    return st.container(key=f"{RUN_VIEW_KEY_PREFIX}{run_id}", border=True)


def runs_count_block(count: int):
    """A container marked ``st-key-runs-count-<count>``: the visitor's list of ``count`` runs."""
    return st.container(key=f"{RUNS_COUNT_KEY_PREFIX}{count}")


def board_run_block(run_id: str):
    """A container marked ``st-key-board-run-<run_id>``: one posted run on the class board."""
    return st.container(key=f"{BOARD_RUN_KEY_PREFIX}{run_id}", border=True)


def board_count_block(count: int):
    """A container marked ``st-key-board-count-<count>``: the class board's ``count`` runs."""
    return st.container(key=f"{BOARD_COUNT_KEY_PREFIX}{count}")
