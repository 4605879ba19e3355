"""A reload during a training, in a real browser: the page re-attaches and controls the run.

The server keeps the live training by the visitor's key (its cookie), so the
reloaded page, a new session, finds it again: the live curve goes on from where
it was, its Stop button stops that training, and the run is in the store under
that visitor.
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
# Far longer than the test (minutes on 2 idle cores; the most a URL may ask), so the reload always
# lands mid-way however fast the machine; the reloaded page stops it.
ITERATIONS = 20_000
RECIPE = f"arch=gru&iterations={ITERATIONS}&batch=100"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("rnn-demo-home")


@pytest.fixture(scope="module")
def server(home):
    env = {"RNN_DEMO_HOME": str(home), "RNN_DEMO_DATABASE_URL": "",
           "RNN_DEMO_MAX_ITERATIONS": str(ITERATIONS), "RNN_DEMO_MAX_TRAINING_SECONDS": "3600"}
    with Server(env=env, log_path=ARTIFACTS / "streamlit-reattach.log") as running:
        yield running


def visitor_key(page) -> str | None:
    return next((cookie["value"] for cookie in page.context.cookies() if cookie["name"] == COOKIE), None)


def shown_statuses(page) -> list[str]:
    return [status for status in ("queued", "running", "stopped", "completed", "failed", "refused")
            if page.locator(status_selector(status)).count()]


def wait_running(page) -> None:
    """Until the running view shows (a rerun redraws it: it may be missing for a moment)."""
    wait_for(lambda: shown_statuses(page) == ["running"], 30, 0.1,
             message=lambda: f"the training is not shown running: {shown_statuses(page)}")


def test_a_reload_during_a_training_reattaches_and_the_run_is_kept(server, home, page):
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
    wait_running(page)
    first_drawn = next(count for count in seen if count > 0)
    assert first_drawn >= before, f"the re-attached curve started over: {before} points before, {seen} after"

    page.get_by_role("button", name="Stop", exact=True).click()
    page.wait_for_selector(status_selector("stopped"), timeout=RESULT_TIMEOUT_MS)
    assert "the model keeps what it learned" in page.locator(status_selector("stopped")).inner_text()
    link = page.locator("a[href*='/runs?id=']").first
    link.wait_for(timeout=60_000)
    run_id = link.get_attribute("href").rsplit("=", 1)[1]
    no_exceptions(page)
    with open_store(home / "runs.sqlite") as store:
        (run,) = store.list_runs(owner_from_key(visitor_key(page)))
    assert (run.id, run.status, run.arch) == (run_id, "stopped", "gru")
    assert first_drawn <= run.iterations < ITERATIONS
