"""The server's warm-up (rnn_demo.ui.startup), on a real server: what a first visit after a
start would otherwise import, read and start is done before the server answers anything."""

from __future__ import annotations

from pathlib import Path

from rnn_demo.ui.navigation import PAGES
from tests.harness import (
    ARTIFACTS,
    Server,
    maps_library,
    no_exceptions,
    page_url,
    visitor_page,
    wait_until_idle,
)
from tests.hostile_support import forked_workers

VIEWPORT = {"width": 1280, "height": 720}


def _extension_modules(pid: int) -> set[str]:
    """The compiled libraries (``.so``) process ``pid`` has mapped: what its imports have loaded."""
    return {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
            if ".so" in line.rsplit("/", 1)[-1]}


def _threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def test_a_server_that_answers_has_done_the_first_visits_work(browser):
    with Server(log_path=ARTIFACTS / "streamlit-startup.log") as fresh:
        # Nobody has visited yet: Streamlit's dataframe libraries are in, a worker is warm
        # (a new worker has two threads, its jobs' and its server watch; TensorFlow's
        # pools start beside them with the warm-up job).
        log = fresh.log_path.read_text()
        assert "Warmed up in" in log and "The workers did not start" not in log
        assert maps_library(fresh.pid, "pandas/_libs") and maps_library(fresh.pid, "pyarrow")
        assert any(_threads(pid) > 2 and maps_library(pid, "tensorflow") for pid in forked_workers(fresh))
        loaded = _extension_modules(fresh.pid)
        for page_info in PAGES:  # each page's first visit, by a new visitor
            with visitor_page(browser, VIEWPORT) as tab:
                tab.goto(page_url(fresh.base, page_info.name))
                wait_until_idle(tab, ready=page_info.name)
                no_exceptions(tab)
        assert _extension_modules(fresh.pid) - loaded == set()  # no first visit had to import one
        assert not maps_library(fresh.pid, "tensorflow")
        assert not fresh.tracebacks()
