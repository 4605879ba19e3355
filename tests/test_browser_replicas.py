"""Two app replicas on one real PostgreSQL store, in Chromium: a run trained on one opens by link on the other.

A visitor trains the chapter's LSTM for real on replica A, reloads, and finds
the run on /runs with its accuracy; drawing a 7 on it gives an answer. A stranger
(another browser context) opens the run's link on replica B: the read-only
view shows the same accuracy, and the same 7 drawn on it gets the same answer,
with the same probability, from the weights B read from the store. The
PostgreSQL server is the session's (tests/postgres_server.py). Every wait is on
the app's markers.
"""

from __future__ import annotations

import re

import pytest

from rnn_demo.data.drawn_digits import TEMPLATES
from rnn_demo.ui.markers import (
    CSS_KEY_PREFIX,
    DRAWN_STROKES_KEY_PREFIX,
    RUN_ROW_KEY_PREFIX,
    RUN_VIEW_KEY_PREFIX,
)
from tests.harness import (
    ARTIFACTS,
    RECIPE,
    Server,
    draw_stroke,
    no_exceptions,
    page_url,
    status_selector,
    wait_until_idle,
)
from tests.test_browser_draw import on_canvas

pytestmark = pytest.mark.browser

TIMEOUT_MS = 180_000
ITERATIONS = 40
SEVEN = TEMPLATES[7]["plain"]
ACCURACY = re.compile(r"\d+\.\d%")


@pytest.fixture(scope="module")
def replicas(postgres, tmp_path_factory):
    url = postgres.create_database()
    servers = []
    for name in ("a", "b"):
        env = {"RNN_DEMO_HOME": str(tmp_path_factory.mktemp(f"home-{name}")), "RNN_DEMO_DATABASE_URL": url}
        servers.append(Server(env=env, log_path=ARTIFACTS / f"streamlit-replica-{name}.log"))
    with servers[0], servers[1]:
        yield servers


def drawn_answer(tab, base: str, run_id: str, described: str) -> str:
    """Draw the 7 on /draw with run ``run_id`` chosen (the model's description,
    shown for the chosen model only, says ``described``); the prediction panel's text."""
    tab.goto(page_url(base, "draw", f"run={run_id}"))
    wait_until_idle(tab, ready="draw", timeout_ms=TIMEOUT_MS)
    tab.get_by_text(described).wait_for(timeout=TIMEOUT_MS)
    tab.get_by_text("Nothing drawn yet").wait_for(timeout=TIMEOUT_MS)
    canvas = tab.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for stroke in SEVEN:
        draw_stroke(tab, box, on_canvas(stroke), steps=max(2, 48 // (len(stroke) - 1)))
    panel = tab.locator(f".{CSS_KEY_PREFIX}{DRAWN_STROKES_KEY_PREFIX}{len(SEVEN)} [data-testid='stMetric']")
    panel.wait_for(timeout=TIMEOUT_MS)
    no_exceptions(tab)
    return panel.inner_text()


def test_a_run_trained_on_one_replica_opens_by_link_on_the_other(replicas, browser, page):
    first, second = replicas
    page.goto(page_url(first.base, "train", f"{RECIPE}&iterations={ITERATIONS}"))
    wait_until_idle(page, ready="train", timeout_ms=TIMEOUT_MS)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector(status_selector("completed"), timeout=TIMEOUT_MS)

    page.goto(page_url(first.base, "runs"))  # a new page load: what the store kept
    row = page.locator(f"[class*='{CSS_KEY_PREFIX}{RUN_ROW_KEY_PREFIX}']").first
    row.wait_for(timeout=TIMEOUT_MS)
    wait_until_idle(page, ready="runs", timeout_ms=TIMEOUT_MS)
    run_id = re.search(rf"{CSS_KEY_PREFIX}{RUN_ROW_KEY_PREFIX}(\S+)", row.get_attribute("class")).group(1)
    row_text = row.inner_text()
    assert f"{ITERATIONS} iterations" in row_text and "finished" in row_text
    accuracy = ACCURACY.search(row_text).group(0)
    answer_on_first = drawn_answer(page, first.base, run_id, f"Yours, kept in the run store (training, finished): "
                                   f"LSTM, 64 units, lr 0.01, batch 500, {ITERATIONS} iterations; "
                                   f"validation accuracy {accuracy}.")

    stranger_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        stranger = stranger_context.new_page()
        stranger.goto(page_url(second.base, "runs", f"id={run_id}"))
        view = stranger.locator(f".{CSS_KEY_PREFIX}{RUN_VIEW_KEY_PREFIX}{run_id}")
        view.get_by_text("Download .keras").wait_for(timeout=TIMEOUT_MS)
        assert accuracy in view.inner_text()
        assert view.get_by_role("button", name="Rename").count() == 0
        described = "Shared with you by its link, kept in the run store (training, finished)"
        assert drawn_answer(stranger, second.base, run_id, described) == answer_on_first
    finally:
        stranger_context.close()
