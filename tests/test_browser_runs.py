"""A visitor's runs in a real browser: kept by its key, private to it, shareable by link.

The browser makes its anonymous key on the first visit (``rnn_demo.ui.visitor``);
the test reads it back, stores a shipped model's files as that visitor's run
through the store API (the server's store, in a temporary ``RNN_DEMO_HOME``),
then checks what each browser sees, across a reload, a second tab and a server
restart. Waits are on the app's markers (``rnn_demo.ui.markers``), never on a sleep.
"""

from __future__ import annotations

import pytest

from rnn_demo.store import open_store, owner_from_key
from rnn_demo.ui.markers import (
    CSS_KEY_PREFIX,
    RUN_ROW_KEY_PREFIX,
    RUN_VIEW_KEY_PREFIX,
    RUNS_COUNT_KEY_PREFIX,
)
from rnn_demo.ui.visitor import COOKIE
from tests.harness import ARTIFACTS, Server, no_exceptions, page_url, wait_until_idle
from tests.test_store import shipped_run

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("rnn-demo-home")


@pytest.fixture(scope="module")
def server(home):
    with Server(env={"RNN_DEMO_HOME": str(home)}, log_path=ARTIFACTS / "streamlit-runs.log") as running:
        yield running


def row(run_id: str) -> str:
    return f".{CSS_KEY_PREFIX}{RUN_ROW_KEY_PREFIX}{run_id}"


def listed(tab, count: int) -> None:
    """Wait until /runs lists ``count`` runs of this browser's visitor."""
    tab.locator(f".{CSS_KEY_PREFIX}{RUNS_COUNT_KEY_PREFIX}{count}").wait_for(timeout=TIMEOUT_MS)
    wait_until_idle(tab, ready="runs")
    no_exceptions(tab)


def open_runs(tab, server, query: str = "") -> None:
    tab.goto(page_url(server.base, "runs", query))
    wait_until_idle(tab, ready="runs", timeout_ms=TIMEOUT_MS)


def test_a_run_follows_its_browser_and_opens_read_only_by_link(server, home, browser, page):
    open_runs(page, server)
    listed(page, 0)  # a new visitor: the browser has made its key
    key = page.evaluate(f"window.localStorage.getItem({COOKIE!r})")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies[COOKIE]["value"] == key and cookies[COOKIE]["sameSite"] == "Lax"
    assert key not in page.url
    with open_store(home / "runs.sqlite") as store:
        run_id = store.save_run(owner_from_key(key), shipped_run("gru", name="class model")).id

    page.reload()
    listed(page, 1)
    assert page.locator(row(run_id)).inner_text().startswith("class model")

    second_tab = page.context.new_page()  # same browser, another tab
    open_runs(second_tab, server)
    listed(second_tab, 1)
    assert second_tab.locator(row(run_id)).count() == 1
    second_tab.close()

    server.stop()  # a restart (a redeploy) keeps it
    server.start()
    open_runs(page, server)
    listed(page, 1)

    page.context.clear_cookies()  # the key is still in localStorage: the element brings it back
    open_runs(page, server)
    listed(page, 1)

    other = browser.new_context()  # another browser: not its run, but its link opens
    try:
        stranger = other.new_page()
        open_runs(stranger, server)
        listed(stranger, 0)
        assert stranger.locator(row(run_id)).count() == 0
        open_runs(stranger, server, f"id={run_id}")
        view = stranger.locator(f".{CSS_KEY_PREFIX}{RUN_VIEW_KEY_PREFIX}{run_id}")
        # Its last element, drawn: the first visit's rerun (the browser's new key) may still be under way.
        view.get_by_text("Download .keras").wait_for(timeout=TIMEOUT_MS)
        assert "class model" in view.inner_text()
        assert view.get_by_role("button", name="Rename").count() == 0
        assert view.get_by_text("Download .keras").count() == 1
        no_exceptions(stranger)
        view.get_by_text("Draw on it").click()  # the link's run, chosen on /draw
        wait_until_idle(stranger, ready="draw", timeout_ms=TIMEOUT_MS)
        assert stranger.get_by_role("combobox", name="Model", exact=True).input_value().startswith("Uploaded: class model ·")
        no_exceptions(stranger)
    finally:
        other.close()

    page.get_by_role("button", name="Forget my runs").click()
    page.get_by_role("button", name="Yes, delete them all").click()
    listed(page, 0)
    with open_store(home / "runs.sqlite") as store:
        assert store.list_runs(owner_from_key(key)) == []
