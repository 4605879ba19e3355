"""The app's frame and its one registry of pages; what every page script starts and ends with.

:data:`PAGES` names each page once: app.py's navigation, the links between
pages (:func:`page_link`, :func:`switch_to`) and the tests all read it. A page's
``name`` is its script's file stem (``pages/<name>.py``), its URL path (Home is
served at ``/``) and the name of its ready marker (:func:`rnn_demo.ui.markers.page_ready`).

Every page script starts with :func:`page_entry`, so that a page Streamlit runs
on its own (its legacy ``pages/`` mode, on a server's first session) is drawn
through the frame like any other; hence file stem = URL path, and only page
scripts in ``pages/``. See docs/architecture.md ("Why pages/ needs page_entry()").
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import streamlit as st

from rnn_demo.app.memory import fix_mmap_threshold
from rnn_demo.errors import UserError
from rnn_demo.ui.resources import store_problem, worker_pool
from rnn_demo.ui.visitor import remember_visitor

APP_TITLE = "RNN Lab"
PAGES_FOLDER = "pages"


@dataclass(frozen=True)
class Page:
    """One page: ``name`` (file stem, URL path, ready marker), navigation ``title`` and ``icon``."""

    name: str
    title: str
    icon: str
    default: bool = False

    @property
    def script(self) -> str:
        """The page script, relative to app.py (what ``st.Page`` and ``st.switch_page`` take)."""
        return f"{PAGES_FOLDER}/{self.name}.py"

    @property
    def url_path(self) -> str:
        """The path after the server's address: ``""`` for the default page."""
        return "" if self.default else self.name


PAGES: tuple[Page, ...] = (
    Page("home", "Home", ":material/home:", default=True),
    Page("train", "Train", ":material/model_training:"),
    Page("draw", "Draw & predict", ":material/draw:"),
    Page("inside", "Look inside", ":material/visibility:"),
    Page("compare", "Compare", ":material/compare_arrows:"),
    Page("runs", "Your runs", ":material/folder_open:"),
    Page("class", "Class", ":material/groups:"),
    Page("learn", "Learn", ":material/school:"),
)
PAGE: dict[str, Page] = {page.name: page for page in PAGES}

# Set while run_app() runs a page, in the script thread of that session.
_frame = threading.local()


def run_app() -> None:
    """The frame: page config, navigation, and the page the URL names (app.py's whole body)."""
    fix_mmap_threshold()  # freed arrays go back to the system (rnn_demo.app.memory)
    st.set_page_config(page_title=APP_TITLE, page_icon=":material/gesture:", layout="wide")
    # The server's warm-up has started the workers (rnn_demo.ui.startup); where no
    # warm-up ran (a script run without app.py's st.App), the first visit does.
    worker_pool()
    page = st.navigation([
        st.Page(page.script, title=page.title, icon=page.icon, default=page.default,
                url_path=None if page.default else page.url_path)
        for page in PAGES
    ])
    # A lesson step (/learn?step=N) is shown on a projector: its width goes to the step, not
    # the page list (a visitor's own toggle, kept by the browser, still wins). Set once a run,
    # before the page draws, so Back/Next never flash the sidebar open.
    presenting = page.url_path == PAGE["learn"].url_path and "step" in st.query_params
    st.set_page_config(initial_sidebar_state="collapsed" if presenting else "auto")
    remember_visitor()
    problem = store_problem()
    if problem:  # the pages still serve the shipped models
        st.warning(f"{problem} Your runs cannot be listed or kept until it is fixed; the shipped "
                   "models still work.", icon=":material/database:")
    _frame.running_page = True
    try:
        page.run()
    finally:
        _frame.running_page = False


def page_entry() -> None:
    """The first line of every page script: go through the frame if Streamlit skipped it.

    In Streamlit's legacy ``pages/`` mode a page script runs on its own; then
    this runs the frame (which runs this page, properly framed) and ends the
    bare run. See docs/architecture.md.
    """
    if getattr(_frame, "running_page", False):
        return
    run_app()
    st.stop()


def page_link(name: str, label: str, *, query: Mapping[str, str] | None = None,
              icon: str | None = None) -> None:
    """A link to page ``name`` (with URL ``query``), in the frame's navigation."""
    st.page_link(PAGE[name].script, label=label, icon=icon or PAGE[name].icon,
                 query_params=dict(query or {}))


def switch_to(name: str) -> None:
    """Go to page ``name`` now (ends this script run)."""
    st.switch_page(PAGE[name].script)


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Show an error meant for people (:class:`~rnn_demo.errors.UserError`) as ``st.error``.

    Anything else is a bug and propagates (Streamlit's own control-flow
    exceptions derive from ``BaseException`` and pass through untouched).
    """
    try:
        yield
    except UserError as error:
        st.error(str(error)[:1].upper() + str(error)[1:], icon=":material/error:")
