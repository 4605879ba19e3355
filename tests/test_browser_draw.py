"""The Draw page's canvas (``streamlit-drawable-canvas``) in Chromium: mouse and touch.

Digits are drawn along the drawn-digit set's templates
(:data:`rnn_demo.data.drawn_digits.TEMPLATES`), big and centred, and must be read
right by the shipped LSTM; a phone draws with touch events; an X is said to be
unlike any digit. Every wait is on the app's markers.
"""

from __future__ import annotations

import pytest

from rnn_demo.data.drawn_digits import TEMPLATES
from rnn_demo.ui.drawing import UNLIKE_KEY
from rnn_demo.ui.markers import CSS_KEY_PREFIX, DRAWN_STROKES_KEY_PREFIX
from tests.harness import ARTIFACTS, Server, draw_stroke, no_exceptions, page_url, wait_until_idle

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
ANSWER_TIMEOUT_MS = 120_000  # generous for a loaded 2-core machine; the wait ends on the marker
CLEAR_BUTTON = "Reset canvas & history"  # the canvas toolbar's clear
DIGIT_HEIGHT, DIGIT_TOP = 0.7, 0.15  # of the canvas: a big, centred digit
# Styles the shipped LSTM reads reliably, drawn as a visitor would.
DIGITS = [(1, "stick"), (0, "oval"), (7, "plain"), (4, "open")]
X_STROKES = [[(0.15, 0.15), (0.85, 0.85)], [(0.85, 0.15), (0.15, 0.85)]]
UNLIKE_SELECTOR = f".{CSS_KEY_PREFIX}{UNLIKE_KEY}"


@pytest.fixture(scope="module")
def server():
    with Server(log_path=ARTIFACTS / "streamlit-draw.log") as running:
        yield running


def on_canvas(stroke) -> list[tuple[float, float]]:
    """A template stroke (unit box, height 0 → 1) as fractions of the canvas."""
    return [(0.5 + (x - 0.5) * DIGIT_HEIGHT, DIGIT_TOP + y * DIGIT_HEIGHT) for x, y in stroke]


def answer(page, strokes: int):
    """The prediction panel once it answers the drawing of ``strokes`` strokes."""
    marked = page.locator(f".{CSS_KEY_PREFIX}{DRAWN_STROKES_KEY_PREFIX}{strokes} [data-testid='stMetric']")
    marked.wait_for(timeout=ANSWER_TIMEOUT_MS)
    return marked.locator("[data-testid='stMetricValue']").inner_text().strip()


def open_draw(page, server) -> dict:
    page.goto(page_url(server.base, "draw"))
    wait_until_idle(page, ready="draw", timeout_ms=ANSWER_TIMEOUT_MS)
    page.get_by_text("Nothing drawn yet").wait_for()
    canvas = page.locator("canvas").last  # Fabric's upper canvas takes the pointer
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def test_four_digits_drawn_with_the_mouse_are_read_right(server, page):
    for digit, style in DIGITS:  # each on a fresh canvas, as four visitors would
        box = open_draw(page, server)
        strokes = TEMPLATES[digit][style]
        for stroke in strokes:
            draw_stroke(page, box, on_canvas(stroke), steps=max(2, 48 // (len(stroke) - 1)))
        read = answer(page, len(strokes))
        if read != str(digit):
            page.screenshot(path=str(ARTIFACTS / f"draw-misread-{digit}-{style}.png"))
        assert read == str(digit), f"a drawn {digit} ({style}); the page: artifacts/draw-misread-{digit}-{style}.png"
        assert page.locator(UNLIKE_SELECTOR).count() == 0, f"a drawn {digit} ({style}) called unlike any digit"
    page.get_by_role("button", name=CLEAR_BUTTON).click()  # the toolbar's clear empties the answer too
    page.get_by_text("Nothing drawn yet").wait_for(timeout=ANSWER_TIMEOUT_MS)
    no_exceptions(page)


def test_an_x_is_said_to_be_unlike_any_digit(server, page):
    box = open_draw(page, server)
    for stroke in X_STROKES:
        draw_stroke(page, box, stroke)
    answer(page, len(X_STROKES))
    sentence = page.locator(UNLIKE_SELECTOR)
    sentence.wait_for()
    assert "unlike any digit" in sentence.inner_text()
    # A sentence beside the answer, not an error box.
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    no_exceptions(page)


def touch_stroke(session, box, points, steps: int = 12) -> None:
    """One finger stroke through ``points`` (fractions of ``box``), by CDP touch events."""
    where = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]

    def touch(kind: str, x: float | None = None, y: float | None = None) -> None:
        touches = [] if x is None else [{"x": x, "y": y, "id": 1}]
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touches})

    touch("touchStart", *where[0])
    for (ax, ay), (bx, by) in zip(where, where[1:], strict=False):
        for step in range(1, steps + 1):
            touch("touchMove", ax + (bx - ax) * step / steps, ay + (by - ay) * step / steps)
    touch("touchEnd")


def test_a_finger_draws_and_gets_a_prediction_on_a_phone(server, browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        box = open_draw(page, server)
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # the whole canvas on screen
        session = context.new_cdp_session(page)
        touch_stroke(session, box, on_canvas(TEMPLATES[1]["stick"][0]))
        assert answer(page, 1) == "1"
        no_exceptions(page)
    finally:
        context.close()
