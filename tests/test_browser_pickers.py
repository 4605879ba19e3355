"""The model switch in Chromium: a drop-down of the six shipped models, chosen with the mouse and by touch.

Every wait is on the app's markers (the page-ready marker after each rerun).
"""

from __future__ import annotations

import pytest

from rnn_demo.app.shipped import SHIPPED_ARCHITECTURES
from rnn_demo.config import ARCHITECTURE_NAMES
from tests.harness import ARTIFACTS, Server, no_exceptions, page_url, wait_until_idle

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000  # generous for a loaded 2-core machine; each wait ends on a marker
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server():
    with Server(log_path=ARTIFACTS / "streamlit-pickers.log") as running:
        yield running


def choose(page, name: str, label: str) -> None:
    """Open the model switch on page ``name`` and pick the entry ``label``, as a visitor does."""
    switch = page.get_by_role("combobox", name="Model", exact=True)
    switch.click()
    page.get_by_role("option", name=label, exact=True).click()
    wait_until_idle(page, ready=name, timeout_ms=TIMEOUT_MS)
    assert switch.input_value() == label


def test_the_drop_down_lists_the_shipped_models_and_each_answers_on_draw(server, page):
    page.goto(page_url(server.base, "draw"))
    wait_until_idle(page, ready="draw", timeout_ms=TIMEOUT_MS)
    page.get_by_role("combobox", name="Model", exact=True).click()
    labels = [f"Shipped {ARCHITECTURE_NAMES[arch]}" for arch in SHIPPED_ARCHITECTURES]
    assert page.get_by_role("option").all_inner_texts() == labels
    page.keyboard.press("Escape")
    for label in ("Shipped GRU", "Shipped Bidirectional LSTM"):
        choose(page, "draw", label)
        description = label.removeprefix("Shipped ")
        page.get_by_text(f"Shipped with the app: {description},").wait_for(timeout=TIMEOUT_MS)
    no_exceptions(page)


def test_a_phone_chooses_a_model_by_touch_on_inside(server, browser):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(page_url(server.base, "inside"))
        wait_until_idle(page, ready="inside", timeout_ms=TIMEOUT_MS)
        page.get_by_role("combobox", name="Model", exact=True).tap()
        page.get_by_role("option", name="Shipped Deep GRU (stacked)", exact=True).tap()
        wait_until_idle(page, ready="inside", timeout_ms=TIMEOUT_MS)
        page.get_by_text("Every state and gate of Shipped Deep GRU (stacked),").wait_for(timeout=TIMEOUT_MS)
        assert page.get_by_role("tab", name="Layer 3 of 3 · GRU").count() == 1
        no_exceptions(page)
    finally:
        context.close()
