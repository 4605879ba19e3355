"""A reload during a training, in a real browser: the page re-attaches and the run completes.

The server keeps the live training by the visitor's key (its cookie), so the
reloaded page, a new session, finds it again: the live curve goes on from where
it was, and the finished run is in the store under that visitor.
"""

from __future__ import annotations

import pytest

from rnn_demo.store import open_store, owner_from_key
from rnn_demo.ui.visitor import COOKIE
from tests.harness import (
    ARTIFACTS,
    CURVE_POINTS_JS,
    Server,
    no_exceptions,
    page_url,
    status_selector,
    wait_for,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 300_000  # a generous ceiling for a loaded 2-core machine
# Long enough to reload mid-way (~30 s on 2 idle cores), short enough to finish.
RECIPE = "arch=gru&iterations=1500&batch=100"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("rnn-demo-home")


@pytest.fixture(scope="module")
def server(home):
    env = {"RNN_DEMO_HOME": str(home), "RNN_DEMO_DATABASE_URL": ""}
    with Server(env=env, log_path=ARTIFACTS / "streamlit-reattach.log") as running:
        yield running


def visitor_key(page) -> str | None:
    return next((cookie["value"] for cookie in page.context.cookies() if cookie["name"] == COOKIE), None)


def test_a_reload_during_a_training_reattaches_and_the_run_completes(server, home, page):
    page.goto(page_url(server.base, "train", RECIPE))
    wait_until_idle(page, ready="train")
    wait_for(lambda: visitor_key(page), 60, message="the browser never got a visitor key")
    wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for(lambda: page.evaluate(CURVE_POINTS_JS) >= 2, RESULT_TIMEOUT_MS / 1000, 0.5,
             message="the live curve never had two points")
    assert page.locator(status_selector("running")).count() == 1
    before = page.evaluate(CURVE_POINTS_JS)

    page.reload()
    seen: list[int] = []

    def curve_went_on() -> bool:
        seen.append(page.evaluate(CURVE_POINTS_JS))
        drawn = [count for count in seen if count > 0]
        return len(drawn) >= 2 and drawn[-1] > drawn[0]

    wait_for(curve_went_on, RESULT_TIMEOUT_MS / 1000, 0.5, message=lambda: f"no growing curve after the reload: {seen}")
    assert page.locator(status_selector("running")).count() == 1
    first_drawn = next(count for count in seen if count > 0)
    assert first_drawn >= before, f"the re-attached curve started over: {before} points before, {seen} after"

    page.wait_for_selector(status_selector("completed"), timeout=RESULT_TIMEOUT_MS)
    assert "GRU: completed 1500 iterations." in page.locator(status_selector("completed")).inner_text()
    link = page.locator("a[href*='/runs?id=']").first
    link.wait_for(timeout=60_000)
    run_id = link.get_attribute("href").rsplit("=", 1)[1]
    no_exceptions(page)
    with open_store(home / "runs.sqlite") as store:
        (run,) = store.list_runs(owner_from_key(visitor_key(page)))
    assert (run.id, run.status, run.iterations, run.arch) == (run_id, "finished", 1500, "gru")
