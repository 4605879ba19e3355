"""The README's and docs/teaching.md's screenshots at the three sizes a class uses, taken again.

Starts the app as the browser tests do (:class:`tests.harness.Server`: offline,
on loopback, the embedded digits) and, at the desktop (1400×1000), projector
(1280×720) and phone (390×844) sizes, takes what the visitor sees (the
viewport, never the whole page) of

* ``/draw`` after a 7 is drawn with the mouse, along a drawn-digit template, once
  the prediction for it is on the page: ``draw-<size>.png``;
* the lesson's step 4, three GRU layers' heatmaps (:data:`LESSON_STEP`):
  ``lesson-<size>.png``.

Each PNG is written into docs/screenshots/ and must stay under :data:`MAX_BYTES`.

    python -m bench.screenshots [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from rnn_demo.data.drawn_digits import TEMPLATES
from rnn_demo.ui.markers import CSS_KEY_PREFIX, DRAWN_STROKES_KEY_PREFIX
from tests.harness import (
    ROOT,
    Server,
    draw_stroke,
    launch_chromium,
    page_url,
    visitor_page,
    wait_until_idle,
)

SIZES = {
    "desktop": {"width": 1400, "height": 1000},
    "projector": {"width": 1280, "height": 720},
    "phone": {"width": 390, "height": 844},
}
LESSON_STEP = 4  # three heatmaps side by side: the step that was squeezed on a projector (issue 24)
DIGIT, STYLE = 7, "plain"  # a drawn-digit template the shipped LSTM reads right
DIGIT_HEIGHT, DIGIT_TOP = 0.7, 0.15  # of the canvas: a big, centred digit, as tests/test_browser_draw.py draws
CANVAS_TOP_PX = 150  # where the canvas's top edge is put on the screen
TIMEOUT_MS = 120_000
MAX_BYTES = 200_000
# Every visible chart has drawn, and no script run is going on.
SETTLED_JS = """() => !document.querySelector("[data-testid='stStatusWidget'], [data-stale='true']")
    && Array.from(document.querySelectorAll(".rnn-chart"))
        .filter(chart => chart.offsetParent !== null)
        .every(chart => chart.querySelector(".js-plotly-plot .main-svg"))"""


def draw_seven(page, base: str) -> None:
    """/draw with a 7 drawn, the canvas and (where it fits) the answer in view."""
    page.goto(page_url(base, "draw"))
    wait_until_idle(page, TIMEOUT_MS, ready="draw")
    page.get_by_text("Nothing drawn yet").wait_for(timeout=TIMEOUT_MS)
    canvas = page.locator("canvas").last  # Fabric's upper canvas takes the pointer
    strokes = TEMPLATES[DIGIT][STYLE]
    for stroke in strokes:
        points = [(0.5 + (x - 0.5) * DIGIT_HEIGHT, DIGIT_TOP + y * DIGIT_HEIGHT) for x, y in stroke]
        draw_stroke(page, canvas.bounding_box(), points, steps=max(2, 48 // (len(stroke) - 1)))
    page.locator(f".{CSS_KEY_PREFIX}{DRAWN_STROKES_KEY_PREFIX}{len(strokes)} [data-testid='stMetric']").wait_for(
        timeout=TIMEOUT_MS)
    page.wait_for_function(SETTLED_JS, polling=200, timeout=TIMEOUT_MS)
    # The whole canvas and the answer beside or under it on screen, the canvas's hint and toolbar above it
    # (Streamlit scrolls its main area, not the document); where everything fits, nothing moves.
    page.evaluate("by => document.querySelector(\"[data-testid='stMain']\").scrollBy(0, by)",
                  canvas.bounding_box()["y"] - CANVAS_TOP_PX)


def lesson_step(page, base: str) -> None:
    """The lesson's :data:`LESSON_STEP`, its charts drawn."""
    page.goto(page_url(base, "learn", f"step={LESSON_STEP}"))
    wait_until_idle(page, TIMEOUT_MS, ready="learn")
    page.wait_for_function(SETTLED_JS, polling=200, timeout=TIMEOUT_MS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with Server() as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for size, viewport in SIZES.items():
                for name, show in (("draw", draw_seven), ("lesson", lesson_step)):
                    # The mouse draws at every size (the layout follows the width; touch
                    # drawing is tests/test_browser_draw.py's).
                    with visitor_page(browser, viewport) as page:
                        show(page, server.base)
                        path = out / f"{name}-{size}.png"
                        page.screenshot(path=str(path))
                    size_bytes = path.stat().st_size
                    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                          f"{viewport['width']}×{viewport['height']}, {size_bytes / 1000:.0f} kB")
                    if size_bytes > MAX_BYTES:
                        raise SystemExit(f"{path} is {size_bytes:,} bytes, over {MAX_BYTES:,}")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
