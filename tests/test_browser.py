"""The real app in a real browser: `streamlit run app.py` driven by Chromium.

What AppTest cannot see is checked here: the drawing canvas
(``streamlit-drawable-canvas``, which only a browser can drive; more in
``tests/test_browser_draw.py``), the live fragment redrawing the loss
curve while the background thread trains, the Stop button, and the first
visit after a server start (Streamlit's legacy ``pages/`` mode, see
docs/architecture.md), which needs a fresh server. Screenshots go
to ``artifacts/screenshots/`` (the good ones are copied to ``docs/screenshots``
by hand for the README).
"""

from __future__ import annotations

import pytest

from rnn_demo.ui.markers import CSS_KEY_PREFIX, READY_KEY_PREFIX
from rnn_demo.ui.navigation import PAGES
from tests.harness import ARTIFACTS as ARTIFACTS_ROOT
from tests.harness import (
    CURVE_POINTS_JS,
    HEADINGS,
    Server,
    draw_stroke,
    maps_library,
    no_exceptions,
    page_url,
    ready_selector,
    status_selector,
    wait_for,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "screenshots"
SHOT_MAX_HEIGHT = 2400  # pixels; a screenshot of a longer page stops there
# Generous ceilings for a loaded 2-core machine: the tests wait on the app's own
# markers and fail only if a marker never comes.
RESULT_TIMEOUT_MS = 300_000
VIEWPORT = {"width": 1400, "height": 1800}


@pytest.fixture(scope="module")
def server():
    """``streamlit run app.py`` on a free port, offline; yields it (``.base`` is its URL)."""
    with Server(log_path=ARTIFACTS_ROOT / "streamlit-server.log") as running:
        yield running


# True once the page is really drawn: the script run is over, no element is a
# loading skeleton, every visible Plotly chart has drawn its SVG and every image
# has loaded. (Charts in hidden tabs are not drawn until their tab is opened.)
DRAWN_JS = """() => {
    if (document.querySelector("[data-testid='stStatusWidget'], [data-testid='stSkeleton']")) return false;
    const visible = element => element.offsetParent !== null;
    const charts = Array.from(document.querySelectorAll(".rnn-chart")).filter(visible);
    if (charts.some(chart => !chart.querySelector(".js-plotly-plot .main-svg"))) return false;
    const images = Array.from(document.querySelectorAll("[data-testid='stMain'] img")).filter(visible);
    return images.every(image => image.complete && image.naturalWidth > 0);
}"""


def screenshot(page, name: str) -> None:
    """Save the page once it is really drawn (see ``DRAWN_JS``), as tall as its content."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Lazy images load only near the viewport: scroll through the page first.
    page.evaluate("""async () => {
        for (let y = 0; y < document.body.scrollHeight; y += 600) {
            window.scrollTo(0, y);
            await new Promise(resolve => setTimeout(resolve, 50));
        }
        window.scrollTo(0, 0);
    }""")
    page.wait_for_function(DRAWN_JS, timeout=60_000, polling=200)
    # Streamlit scrolls its main block, not the page: fit the window to the content
    # (at most SHOT_MAX_HEIGHT), so a short page has no empty half and a long one is whole.
    height = page.evaluate("document.querySelector(\"[data-testid='stMainBlockContainer']\").scrollHeight")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(600, min(SHOT_MAX_HEIGHT, height + 40))})
    page.wait_for_function(DRAWN_JS, timeout=60_000, polling=200)
    page.wait_for_timeout(500)  # Plotly's and Streamlit's last transitions
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(size)


@pytest.mark.parametrize("name", [page.name for page in PAGES])
def test_every_page_loads_without_an_error(server, page, name):
    page.goto(page_url(server.base, name))
    wait_until_idle(page, ready=name)
    assert page.locator("h1").first.inner_text() == HEADINGS[name]
    no_exceptions(page)
    # /inside with nothing drawn: the shipped LSTM reading validation image #0.
    screenshot(page, name)


def test_inside_a_bidirectional_model_shows_both_directions(server, page):
    page.goto(page_url(server.base, "inside", "arch=birnn"))
    wait_until_idle(page, ready="inside")
    tabs = page.get_by_role("tab")
    assert tabs.filter(has_text="Forward: reads down").count() == 1
    assert tabs.filter(has_text="Backward: reads up").count() == 1
    # Only the open tab's heatmap is drawn; choosing the other direction draws its own.
    backward = "Heatmap of hidden state h (Backward: reads up"
    assert page.get_by_role("figure", name=backward).count() == 0
    tabs.filter(has_text="Backward: reads up").click()
    page.get_by_role("figure", name=backward).wait_for(timeout=60_000)
    no_exceptions(page)
    screenshot(page, "inside-birnn")


def test_a_short_training_shows_its_results(server, page):
    page.goto(page_url(server.base, "train", "arch=lstm&iterations=100"))  # the chapter's recipe
    wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector(status_selector("completed"), timeout=RESULT_TIMEOUT_MS)
    # The results are drawn top to bottom in one script run that may still be
    # going: wait for its last parts (an LSTM of 100 iterations misreads some digits).
    page.locator("[data-testid='stMain'] img").first.wait_for(timeout=RESULT_TIMEOUT_MS)
    wait_until_idle(page, ready="train")
    assert page.locator(".rnn-chart").count() >= 2  # the curve, the confusion matrix
    assert page.locator("[data-testid='stMain'] img").count() > 0  # misclassified digits
    no_exceptions(page)
    screenshot(page, "train")


def test_compare_two_recipes(server, page):
    page.goto(page_url(server.base, "train", "iterations=100"))
    wait_until_idle(page, ready="train")
    page.goto(page_url(server.base, "compare"))
    wait_until_idle(page, ready="compare")
    architectures = page.locator(".st-key-compare_archs")
    for name in ("Bidirectional RNN", "Deep GRU (stacked)"):  # keep the basic RNN and the LSTM
        architectures.get_by_role("button", name=name, exact=True).click()  # its pill, chosen: unchoose it
        wait_until_idle(page, ready="compare")
    page.get_by_role("button", name="Train them one after another").click()
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=RESULT_TIMEOUT_MS)
    wait_until_idle(page, ready="compare")
    no_exceptions(page)
    screenshot(page, "compare")


def test_drawing_a_digit_shows_a_prediction(server, page):
    page.goto(page_url(server.base, "draw"))
    wait_until_idle(page, ready="draw")
    page.get_by_text("Nothing drawn yet").wait_for()
    canvas = page.locator("canvas").last
    canvas.wait_for()
    box = canvas.bounding_box()
    # A "1": one firm vertical stroke down the middle of the canvas.
    x = box["x"] + box["width"] * 0.5
    page.mouse.move(x, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(x + step * 0.3, box["y"] + box["height"] * (0.15 + 0.035 * step))
    page.mouse.up()
    prediction = page.locator("[data-testid='stMetric']").filter(has_text="Prediction")
    prediction.wait_for(timeout=RESULT_TIMEOUT_MS)
    value = prediction.locator("[data-testid='stMetricValue']").inner_text().strip()
    assert value in [str(digit) for digit in range(10)]
    assert page.get_by_text("Nothing drawn yet").count() == 0
    no_exceptions(page)
    screenshot(page, "draw-stroke")


CLEAR_BUTTON = "Reset canvas & history"  # streamlit-drawable-canvas's toolbar
# The session's count of whole-page runs, from the /draw ready marker (markers.page_ready).
PAGE_RUNS_JS = f"""() => document.querySelector("{ready_selector('draw')}").dataset.run"""
# What the prediction panel says: each probability bar's title ("class: p" to four places).
PROBABILITIES_JS = """() => Array.from(document.querySelectorAll("[data-testid='stHtml'] div[title]"))
    .map(bar => bar.title)"""


def answered(page, strokes: int) -> list[float]:
    """The ten probabilities once the panel answers a drawing of ``strokes`` strokes and the
    fragment's run is over (a stale copy of the panel may linger in the page until then)."""
    page.locator(f".{CSS_KEY_PREFIX}drawn-strokes-{strokes} [data-testid='stMetric']").first.wait_for(
        timeout=RESULT_TIMEOUT_MS)
    wait_until_idle(page, ready="draw")
    return [float(title.split(": ")[1]) for title in page.evaluate(PROBABILITIES_JS)]


def test_each_stroke_updates_the_prediction_without_rerunning_the_page(server, page):
    """Canvas and prediction are one fragment: strokes, undo, redo and clear re-run it alone."""
    page.goto(page_url(server.base, "draw"))
    wait_until_idle(page, ready="draw")
    page.get_by_text("Nothing drawn yet").wait_for()
    runs = page.evaluate(PAGE_RUNS_JS)
    box = page.locator("canvas").last.bounding_box()
    seen = []
    for strokes, points in enumerate([[(0.5, 0.15), (0.52, 0.85)], [(0.2, 0.2), (0.8, 0.2)]], start=1):
        draw_stroke(page, box, points)
        seen.append(answered(page, strokes))  # the panel shows the drawing with this stroke finished
    assert len(seen[0]) == 10 and seen[1] != pytest.approx(seen[0], abs=0.01)
    # The canvas's toolbar: undo and redo are answered too, then clear. The canvas
    # redraws its strokes from their paths then, a few pixels' antialiasing apart.
    page.get_by_role("button", name="Undo").click()
    assert answered(page, 1) == pytest.approx(seen[0], abs=0.01)
    page.get_by_role("button", name="Redo").click()
    assert answered(page, 2) == pytest.approx(seen[1], abs=0.01)
    page.get_by_role("button", name=CLEAR_BUTTON).click()
    page.get_by_text("Nothing drawn yet").wait_for()
    assert page.evaluate(PAGE_RUNS_JS) == runs, "a stroke or a toolbar button re-ran the whole page"
    no_exceptions(page)


def test_training_streams_a_growing_curve_and_stop_works(server, page):
    # Enough work that the run is still going when Stop is pressed: about a minute on
    # 2 cores (at batch 100 and 32 units it took ~13 s, and a slow poll on a loaded
    # machine let it finish before the Stop landed).
    page.goto(page_url(server.base, "train", "arch=lstm&iterations=2000&batch=500"))
    wait_until_idle(page, ready="train")
    # A first visit shows the link's values (the visitor key's rerun once left every number at its minimum).
    assert page.get_by_role("spinbutton", name="Iterations").input_value() == "2000"
    assert page.get_by_role("spinbutton", name="Batch size").input_value() == "500"
    page.get_by_role("button", name="Train", exact=True).click()
    counts: list[int] = []  # points on the live curve, polled once a second

    def curve_grew() -> bool:
        counts.append(_curve_points(page))
        drawn = [count for count in counts if count > 0]
        return len(drawn) >= 2 and drawn[-1] > drawn[0]

    wait_for(curve_grew, RESULT_TIMEOUT_MS / 1000, 1.0, message=lambda: f"the live curve did not grow: {counts}")
    screenshot(page, "train-live")
    page.get_by_role("button", name="Stop").click()
    # The run ends early on request, keeping its model: the "stopped" result, not "completed".
    page.wait_for_selector(status_selector("stopped"), timeout=RESULT_TIMEOUT_MS)
    assert "Stopped on request after" in page.locator(status_selector("stopped")).inner_text()
    assert page.get_by_role("button", name="Stop").count() == 0
    no_exceptions(page)
    page.locator(".rnn-chart").first.wait_for()
    screenshot(page, "train-stopped")


def _curve_points(page) -> int:
    """Points in the live curve's training-loss trace, or -1 before it is drawn."""
    return page.evaluate(CURVE_POINTS_JS)


def test_the_web_process_never_loads_tensorflow(server, page, tmp_path):
    """A whole visit — every page, a training, an upload, a download — leaves the
    server process free of TensorFlow; its workers have it (the check can fail)."""
    for visited in PAGES:
        page.goto(page_url(server.base, visited.name))
        wait_until_idle(page, ready=visited.name)
        no_exceptions(page)
    page.goto(page_url(server.base, "train", "arch=gru&iterations=30"))
    wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector(status_selector("completed"), timeout=RESULT_TIMEOUT_MS)
    wait_until_idle(page, ready="train")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download this model (.keras)").click()
    saved = tmp_path / "downloaded.keras"
    download.value.save_as(saved)
    assert saved.stat().st_size > 10_000 and saved.read_bytes()[:2] == b"PK"
    page.goto(page_url(server.base, "draw"))
    wait_until_idle(page, ready="draw")
    page.get_by_text("Use your own model (.keras)").click()
    page.locator("input[type='file']").set_input_files(str(saved))
    page.get_by_text("Loaded downloaded.keras").wait_for(timeout=60_000)
    wait_until_idle(page, ready="draw")
    no_exceptions(page)
    assert page.get_by_role("combobox", name="Model", exact=True).input_value().startswith("Uploaded: downloaded.keras ·")
    assert not maps_library(server.pid, "tensorflow"), "the web process mapped TensorFlow"
    assert any(maps_library(pid, "tensorflow") for pid in server.worker_pids())


# What a visitor sees of the frame: the navigation's labels, the main column's
# width (the wide layout), the window title, the heading and the ready markers.
FRAME_JS = f"""() => ({{
    navigation: Array.from(document.querySelectorAll("[data-testid='stSidebarNavLink']"))
        .map(link => link.innerText.split("\\n").filter(Boolean).pop()),
    mainWidth: Math.round(document.querySelector("[data-testid='stMainBlockContainer']")
        .getBoundingClientRect().width),
    title: document.title,
    heading: document.querySelector("h1").innerText,
    ready: Array.from(document.querySelectorAll("[class*='{CSS_KEY_PREFIX}{READY_KEY_PREFIX}']")).length,
}})"""
CENTERED_MAX_WIDTH = 736  # pixels: Streamlit's centred layout never draws the main column wider


def frame_of(browser, url: str, name: str) -> dict:
    """What a new visitor (a new browser context: a new session) sees of the frame at ``url``."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        tab.goto(url)
        wait_until_idle(tab, timeout_ms=RESULT_TIMEOUT_MS, ready=name)  # a first visit starts the workers
        no_exceptions(tab)
        return tab.evaluate(FRAME_JS)
    finally:
        context.close()


@pytest.mark.parametrize(("name", "query"), [("inside", "arch=gru"), ("train", "")])
def test_the_first_visit_after_a_start_is_framed_like_any_other(browser, name, query):
    """A fresh server whose first visitor opens a deep link: Streamlit's legacy
    ``pages/`` mode would run the page alone (file names in the sidebar, no wide
    layout) and stay on for later visitors; the app's frame must show instead."""
    with Server(log_path=ARTIFACTS_ROOT / f"streamlit-first-visit-{name}.log") as fresh:
        first = frame_of(browser, page_url(fresh.base, name, query), name)
        second = frame_of(browser, page_url(fresh.base, name, query), name)
        home = frame_of(browser, page_url(fresh.base, "home"), "home")
        assert not fresh.tracebacks()
    assert first == second
    assert first["navigation"] == [page.title for page in PAGES] == home["navigation"]
    assert first["mainWidth"] > CENTERED_MAX_WIDTH and first["mainWidth"] == home["mainWidth"]
    assert first["heading"] == HEADINGS[name] and first["ready"] == 1  # this page's marker, alone
    assert first["title"] == home["title"]
