"""The app's frame and its one registry of pages; what every page script starts and ends with.

:data:`PAGES` names each page once: app.py's navigation, the links between
pages (:func:`page_link`, :func:`switch_to`) and the tests all read it, so a
page is renamed in one place. A page's ``name`` is its script's file stem
(``pages/<name>.py``), its URL path (Home is served at ``/``) and the name of
its ready marker (:func:`rnn_demo.ui.markers.page_ready`).

Why every page script starts with :func:`page_entry`
-----------------------------------------------------
Streamlit 1.67 still honours its first multipage convention: when a folder
named ``pages`` sits beside the entry point, the first session after a server
start finds it (``PagesManager.uses_pages_directory``, decided once per
process) and runs in the legacy mode, which builds its own navigation of
app.py plus every ``pages/*.py`` and runs the script the URL names directly.
A first visitor who opens ``/`` gets app.py, whose ``st.navigation`` ends the
legacy mode for good; a first visitor who opens ``/inside`` gets
``pages/inside.py`` alone: no frame, no page config, file names in the sidebar,
and the legacy mode stays on for the visitors after them. No configuration
option turns the detection off.

:func:`page_entry` makes the structure, not Streamlit's internals, handle it:
a page script reached through the frame (:func:`run_app` marks that it is
running one) carries on; a page script run directly runs the frame instead,
whose ``st.navigation`` routes the same URL to the same page (hence: file stem
= URL path) and switches the legacy mode off, then ends its own run. The first
session after a start is therefore drawn exactly like every later one, whatever
URL it opens. Only page scripts may live in ``pages/``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import streamlit as st

from rnn_demo.errors import UserError
from rnn_demo.ui.resources import worker_pool

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
    Page("learn", "Learn", ":material/school:"),
)
PAGE: dict[str, Page] = {page.name: page for page in PAGES}

# Set while run_app() runs a page, in the script thread of that session.
_frame = threading.local()


def run_app() -> None:
    """The frame: page config, navigation, and the page the URL names (app.py's whole body)."""
    st.set_page_config(page_title=APP_TITLE, page_icon=":material/gesture:", layout="wide")
    # The first visit of any page starts the worker processes, so that they are
    # warm by the time anyone presses Train.
    worker_pool()
    page = st.navigation([
        st.Page(page.script, title=page.title, icon=page.icon, default=page.default,
                url_path=None if page.default else page.url_path)
        for page in PAGES
    ])
    _frame.running_page = True
    try:
        page.run()
    finally:
        _frame.running_page = False


def page_entry() -> None:
    """The first line of every page script: go through the frame if Streamlit skipped it.

    See the module's docstring: in Streamlit's legacy ``pages/`` mode a page
    script runs on its own; then this runs the frame (which runs this page,
    properly framed) and ends the bare run.
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
