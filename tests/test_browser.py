"""The real app in a real browser: `streamlit run app.py` driven by Chromium.

What AppTest cannot see is checked here: the drawing canvas (a Components v2
element that only a browser can drive), the live fragment redrawing the loss
curve while the background thread trains, and the Stop button. Screenshots go
to ``artifacts/screenshots/`` (the good ones are copied to ``docs/screenshots``
by hand for the README).
"""

from __future__ import annotations

import time

import pytest

from tests.harness import ARTIFACTS as ARTIFACTS_ROOT
from tests.harness import (
    Server,
    launch_chromium,
    maps_library,
    no_exceptions,
    status_selector,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

ARTIFACTS = ARTIFACTS_ROOT / "screenshots"
PAGES = {"": "RNN Lab", "train": "Train a recurrent network", "draw": "Draw a digit",
         "inside": "Look inside the network", "compare": "Compare architectures",
         "learn": "Learn: four ways"}
READY = {"": "home"}  # the page-ready marker's name, where it is not the path
SHOT_MAX_HEIGHT = 2400  # pixels; a screenshot of a longer page stops there


@pytest.fixture(scope="module")
def server():
    """``streamlit run app.py`` on a free port, offline; yields it (``.base`` is its URL)."""
    with Server(log_path=ARTIFACTS_ROOT / "streamlit-server.log") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    tab = context.new_page()
    yield tab
    context.close()


# True once the page is really drawn: the script run is over, no element is a
# loading skeleton, every visible Plotly chart has drawn its SVG and every image
# has loaded. (Charts in hidden tabs are not drawn until their tab is opened.)
DRAWN_JS = """() => {
    if (document.querySelector("[data-testid='stStatusWidget'], [data-testid='stSkeleton']")) return false;
    const visible = element => element.offsetParent !== null;
    const charts = Array.from(document.querySelectorAll("[data-testid='stPlotlyChart']")).filter(visible);
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


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_loads_without_an_error(server, page, path):
    page.goto(f"{server.base}/{path}")
    name = READY.get(path, path)
    wait_until_idle(page, ready=name)
    assert PAGES[path] in page.locator("h1").first.inner_text()
    no_exceptions(page)
    # /inside with nothing drawn: the shipped LSTM reading validation image #0.
    screenshot(page, name)


def test_inside_a_bidirectional_model_shows_both_directions(server, page):
    page.goto(f"{server.base}/inside?arch=birnn")
    wait_until_idle(page, ready="inside")
    tabs = page.get_by_role("tab")
    assert tabs.filter(has_text="Forward: reads down").count() == 1
    assert tabs.filter(has_text="Backward: reads up").count() == 1
    no_exceptions(page)
    screenshot(page, "inside-birnn")


def test_a_short_training_shows_its_results(server, page):
    page.goto(f"{server.base}/train?arch=lstm&iterations=100")  # the chapter's recipe
    wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector(status_selector("completed"), timeout=120_000)
    wait_until_idle(page, ready="train")
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 2  # the curve, the confusion matrix
    assert page.locator("[data-testid='stMain'] img").count() > 0  # misclassified digits
    no_exceptions(page)
    screenshot(page, "train")


def test_compare_two_recipes(server, page):
    page.goto(f"{server.base}/train?iterations=100")
    wait_until_idle(page, ready="train")
    page.goto(f"{server.base}/compare")
    wait_until_idle(page, ready="compare")
    for name in ("Bidirectional RNN", "Deep GRU (stacked)"):  # keep the basic RNN and the LSTM
        page.get_by_role("button", name=f"Remove {name}").click()
        wait_until_idle(page, ready="compare")
    page.get_by_role("button", name="Train them one after another").click()
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=120_000)
    wait_until_idle(page, ready="compare")
    no_exceptions(page)
    screenshot(page, "compare")


def test_drawing_a_digit_shows_a_prediction(server, page):
    page.goto(f"{server.base}/draw")
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
    prediction.wait_for(timeout=30_000)
    value = prediction.locator("[data-testid='stMetricValue']").inner_text().strip()
    assert value in [str(digit) for digit in range(10)]
    assert page.get_by_text("Nothing drawn yet").count() == 0
    no_exceptions(page)
    screenshot(page, "draw-stroke")


def test_training_streams_a_growing_curve_and_stop_works(server, page):
    # Enough iterations that the run is still going when Stop is pressed.
    page.goto(f"{server.base}/train?arch=lstm&iterations=2000&batch=100&hidden=32")
    wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    counts: list[int] = []  # points on the live curve, polled once a second
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        counts.append(_curve_points(page))
        drawn = [count for count in counts if count > 0]
        if len(drawn) >= 2 and drawn[-1] > drawn[0]:
            break
    drawn = [count for count in counts if count > 0]
    assert len(drawn) >= 2 and drawn[-1] > drawn[0], f"the live curve did not grow: {counts}"
    screenshot(page, "train-live")
    page.get_by_role("button", name="Stop").click()
    stopped = time.monotonic()
    page.wait_for_selector(status_selector("stopped"), timeout=15_000)
    assert time.monotonic() - stopped < 10
    assert page.get_by_role("button", name="Stop").count() == 0
    no_exceptions(page)
    page.locator("[data-testid='stPlotlyChart']").first.wait_for()
    screenshot(page, "train-stopped")


def _curve_points(page) -> int:
    """Points in the live curve's training-loss trace, or -1 before it is drawn.

    Plotly keeps the trace on its div as sent: a plain array, or a typed
    array ``{dtype, bdata}`` (base64) as plotly.py encodes NumPy data.
    """
    return page.evaluate(
        """() => {
            const plot = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
            if (!plot || !plot.data || !plot.data.length) return -1;
            const x = plot.data[0].x;
            if (Array.isArray(x) || ArrayBuffer.isView(x)) return x.length;
            const size = {i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, f4: 4, f8: 8}[x.dtype];
            return atob(x.bdata).length / size;
        }"""
    )


def test_the_web_process_never_loads_tensorflow(server, page, tmp_path):
    """A whole visit — every page, a training, an upload, a download — leaves the
    server process free of TensorFlow; its workers have it (the check can fail)."""
    for path in PAGES:
        page.goto(f"{server.base}/{path}")
        wait_until_idle(page, ready=READY.get(path, path))
        no_exceptions(page)
    page.goto(f"{server.base}/train?arch=gru&iterations=30")
    wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector(status_selector("completed"), timeout=120_000)
    wait_until_idle(page, ready="train")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download this model (.keras)").click()
    saved = tmp_path / "downloaded.keras"
    download.value.save_as(saved)
    assert saved.stat().st_size > 10_000 and saved.read_bytes()[:2] == b"PK"
    page.goto(f"{server.base}/draw")
    wait_until_idle(page, ready="draw")
    page.get_by_text("Use your own model (.keras)").click()
    page.locator("input[type='file']").set_input_files(str(saved))
    page.get_by_text("Loaded downloaded.keras").wait_for(timeout=60_000)
    wait_until_idle(page, ready="draw")
    no_exceptions(page)
    assert page.get_by_role("radio", name="Uploaded: downloaded.keras").is_checked()
    assert not maps_library(server.pid, "tensorflow"), "the web process mapped TensorFlow"
    assert any(maps_library(pid, "tensorflow") for pid in server.worker_pids())
