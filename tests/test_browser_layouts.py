"""The screens a class uses, in Chromium against a real server (tests/harness.py).

* **Projector** (1280×720): every lesson step fits the screen, its Back and Next
  on screen and at least 44 px high, its charts at least :data:`MIN_LESSON_CHART_PX`
  wide, with the sidebar collapsed; leaving the lesson gives the sidebar back.
* **Phone** (390×844, touch): after a tap on Train the live view and its Stop
  are on screen, and so is the result when it has finished, without the test
  scrolling; Train and Stop are at least 44 px high; Compare's recipe chips show
  their whole names.

Every wait is on the app's markers (:mod:`rnn_demo.ui.markers`), never a sleep.
See docs/teaching.md ("Three screens").
"""

from __future__ import annotations

import json

import pytest

from rnn_demo.config import ARCHITECTURE_NAMES
from rnn_demo.ui.layout import TAP_TARGET_PX
from rnn_demo.ui.live_view import STOP_KEY
from rnn_demo.ui.markers import CSS_KEY_PREFIX, LESSON_KEY_PREFIX
from rnn_demo.views.teaching import LESSON
from tests.harness import (
    ARTIFACTS,
    RECIPE,
    SETTLED_JS,
    Server,
    no_exceptions,
    page_url,
    status_selector,
    visitor_page,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
AT_REST_FRAMES = 10  # a box that stays put this many animation frames (~170 ms) has come to rest
MIN_LESSON_CHART_PX = 250  # a lesson chart's width on a projector: three heatmaps beside the text were 203
RESULT_TIMEOUT_MS = 300_000
# The main area's scroll position: Streamlit scrolls its main section, not the document.
SCROLLED_JS = """() => [window.scrollY, document.querySelector("[data-testid='stMain']").scrollTop]"""


@pytest.fixture(scope="module")
def server():
    with Server(log_path=ARTIFACTS / "streamlit-layouts.log") as running:
        yield running


def _inside(box: dict | None, viewport: dict) -> bool:
    """Whether the bounding ``box`` lies wholly within the ``viewport``."""
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= viewport["width"] and box["y"] + box["height"] <= viewport["height"])


def _intersects(box: dict | None, viewport: dict) -> bool:
    """Whether some of the bounding ``box`` is within the ``viewport``."""
    return (box is not None and box["width"] > 0 and box["height"] > 0
            and box["x"] < viewport["width"] and box["x"] + box["width"] > 0
            and box["y"] < viewport["height"] and box["y"] + box["height"] > 0)


def _sidebar_width(page) -> float:
    box = page.locator("[data-testid='stSidebar']").bounding_box()
    return 0.0 if box is None else box["width"]


def _boxes_at_rest(page, selector: str, frames: int = AT_REST_FRAMES) -> list[dict]:
    """The bounding boxes (``x``, ``y``, ``width``, ``height``) of the visible elements matching
    ``selector``, once they have not moved for ``frames`` animation frames.

    Streamlit animates what a rerun opens or closes (the sidebar, an expander), so a
    box read at once can be one taken mid-slide; the page's own layout is where it comes to rest.
    """
    at_rest = f"""() => {{
        const boxes = Array.from(document.querySelectorAll({json.dumps(selector)}))
            .map(element => element.getBoundingClientRect())
            .filter(box => box.height > 0)
            .map(box => ({{x: box.x, y: box.y, width: box.width, height: box.height}}));
        const seen = JSON.stringify(boxes);
        window.__layoutFrames = window.__layoutSeen === seen ? window.__layoutFrames + 1 : 0;
        window.__layoutSeen = seen;
        return boxes.length > 0 && window.__layoutFrames >= {frames} && seen;
    }}"""
    page.evaluate("() => { window.__layoutSeen = null; window.__layoutFrames = 0; }")
    return json.loads(page.wait_for_function(at_rest, polling="raf", timeout=RESULT_TIMEOUT_MS).json_value())


def test_projector_every_lesson_step_fits_with_back_and_next_on_screen(server, browser):
    with visitor_page(browser, PROJECTOR) as page:
        page.goto(page_url(server.base, "learn", "step=1"))
        for number in range(1, len(LESSON) + 1):
            step = page.locator(f".{CSS_KEY_PREFIX}{LESSON_KEY_PREFIX}{number}")
            step.wait_for(timeout=120_000)
            wait_until_idle(page, ready="learn")
            page.wait_for_function(SETTLED_JS, polling=200, timeout=60_000)
            _boxes_at_rest(page, f".{CSS_KEY_PREFIX}{LESSON_KEY_PREFIX}{number}")  # the sidebar folds away
            assert page.locator("h1").first.inner_text() == LESSON[number - 1].title
            assert page.evaluate(SCROLLED_JS) == [0, 0]
            assert _inside(step.bounding_box(), PROJECTOR), f"step {number} is taller than the screen"
            for name in ("Back", "Next"):
                box = page.get_by_role("button", name=name).bounding_box()
                assert _inside(box, PROJECTOR), f"step {number}: {name} is off screen at {box}"
                assert box["height"] >= TAP_TARGET_PX
            assert _sidebar_width(page) <= 4, f"step {number}: the sidebar is open"
            widths = step.locator(".js-plotly-plot").evaluate_all(
                "plots => plots.map(plot => plot.getBoundingClientRect().width)")
            assert widths or LESSON[number - 1].view == "your_turn", f"step {number} shows no chart"
            assert min(widths, default=MIN_LESSON_CHART_PX) >= MIN_LESSON_CHART_PX, \
                f"step {number}: charts {widths} px wide"
            no_exceptions(page)
            if number < len(LESSON):
                page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Leave the lesson").click()
        wait_until_idle(page, ready="learn")
        page.locator("h1").filter(has_text="Learn:").wait_for()
        (sidebar,) = _boxes_at_rest(page, "[data-testid='stSidebar']")
        assert sidebar["width"] > 200, sidebar  # the page list is back outside the lesson


def test_phone_train_brings_the_live_view_into_sight(server, browser):
    with visitor_page(browser, PHONE, touch=True) as page:
        page.goto(page_url(server.base, "train", f"{RECIPE}&iterations=300"))  # long enough to see Stop
        wait_until_idle(page, ready="train")
        train = page.get_by_role("button", name="Train", exact=True)
        assert train.bounding_box()["height"] >= TAP_TARGET_PX
        train.tap()  # on screen already: tapping it does not scroll
        running = page.locator(status_selector("running"))
        running.wait_for(timeout=RESULT_TIMEOUT_MS)
        # The controls above fold away as the live view comes in, so it slides up into place.
        (running_box,) = _boxes_at_rest(page, status_selector("running"))
        assert page.evaluate(SCROLLED_JS) == [0, 0]
        assert _intersects(running_box, PHONE), f"the live view is at {running_box}"
        # Stop is drawn just after the running marker; the live view's tick before may
        # linger in the page for a moment, hidden (0 px high, left out).
        stops = _boxes_at_rest(page, f".{CSS_KEY_PREFIX}{STOP_KEY} button")
        assert min(stop["height"] for stop in stops) >= TAP_TARGET_PX, stops
        # At hand where the eye lands, at the live view's top: on the screen Train left
        # (below the four numbers and the chart it was 1,460 px down).
        assert all(_inside(stop, PHONE) for stop in stops), f"Stop is at {stops}"
        finished = page.locator(status_selector("completed"))
        finished.wait_for(timeout=RESULT_TIMEOUT_MS)
        assert page.evaluate(SCROLLED_JS) == [0, 0]
        assert _intersects(finished.bounding_box(), PHONE), f"the result is at {finished.bounding_box()}"
        no_exceptions(page)


def test_phone_compare_shows_every_recipe_chip_whole(server, browser):
    with visitor_page(browser, PHONE, touch=True) as page:
        page.goto(page_url(server.base, "compare"))
        wait_until_idle(page, ready="compare")
        chips = page.locator(f".{CSS_KEY_PREFIX}compare_archs button")
        # Each chip and everything in it shows its whole text: nothing cut, nothing scrolled.
        shown = chips.evaluate_all("""chips => chips.map(chip => ({
            text: chip.innerText.trim(),
            cut: [chip, ...chip.querySelectorAll("*")].some(part => part.scrollWidth > part.clientWidth + 1),
            right: chip.getBoundingClientRect().right,
        }))""")
        assert sorted(chip["text"] for chip in shown) == sorted(ARCHITECTURE_NAMES.values())
        for chip in shown:
            assert not chip["cut"] and chip["right"] <= PHONE["width"], chip
        no_exceptions(page)
