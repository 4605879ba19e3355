"""The teaching views in a real browser: gradients through time, the step-through
animation (played without the server), where the digits live, the lesson's
Back/Next and step links, and watch it learn during a training.

One fresh server for the module (tests/harness.py); every wait is on the app's
markers (:mod:`rnn_demo.ui.markers`) or on the Plotly figure's own state.
"""

from __future__ import annotations

import re
import shutil

import pytest

from rnn_demo.ui.lesson import step_of
from rnn_demo.ui.markers import CSS_KEY_PREFIX, LESSON_KEY_PREFIX, VIEW_KEY_PREFIX, WATCH_KEY_PREFIX
from rnn_demo.ui.watch import WATCH_PANEL_KEY
from rnn_demo.views.teaching import LESSON
from tests.harness import ARTIFACTS as ARTIFACTS_ROOT
from tests.harness import (
    ROOT,
    SETTLED_JS,
    Server,
    no_exceptions,
    page_url,
    status_selector,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS_ROOT / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 1100}
RESULT_TIMEOUT_MS = 300_000


def view(name: str) -> str:
    return f".{CSS_KEY_PREFIX}{VIEW_KEY_PREFIX}{name}"


def lesson_step(number: int) -> str:
    return f".{CSS_KEY_PREFIX}{LESSON_KEY_PREFIX}{number}"


# Number of points in a Plotly trace's x: a plain array, a typed array or {dtype, bdata}.
POINTS_JS = """trace => {
    const x = trace.x;
    if (Array.isArray(x) || ArrayBuffer.isView(x)) return x.length;
    const size = {i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, f4: 4, f8: 8}[x.dtype];
    return atob(x.bdata).length / size;
}"""


@pytest.fixture(scope="module")
def server():
    with Server(log_path=ARTIFACTS_ROOT / "streamlit-teaching.log") as running:
        yield running


def shot(page, selector: str, name: str, *, moving: bool = False) -> None:
    """A screenshot of the element ``selector`` once its charts have drawn, kept for the README."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    page.wait_for_function(
        """selector => Array.from(document.querySelectorAll(selector + " .rnn-chart"))
            .every(chart => chart.querySelector(".js-plotly-plot .main-svg"))""",
        arg=selector, timeout=60_000,
    )
    page.wait_for_timeout(300)  # Plotly's last transition
    if moving:  # redrawn twice a second: never "stable" for an element screenshot; clip the page
        page.screenshot(path=str(SHOTS / f"{name}.png"), clip=element.bounding_box())
    else:
        element.screenshot(path=str(SHOTS / f"{name}.png"))
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHOTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")


def settle(page, number: int) -> None:
    """Wait until lesson step ``number`` is drawn, its run over, before the next click."""
    page.locator(lesson_step(number)).wait_for(timeout=120_000)
    wait_until_idle(page, ready="learn")
    page.wait_for_function(SETTLED_JS, polling=200, timeout=60_000)
    page.wait_for_timeout(300)  # a last rerun's first message may still be on its way


def plot(selector: str) -> str:
    return f"{selector} .js-plotly-plot"


def test_gradients_through_time_shows_two_models_on_a_log_scale(server, page):
    page.goto(page_url(server.base, "inside", "arch=rnn"))
    wait_until_idle(page, ready="inside")
    assert page.locator(view("gradients")).count() == 0  # a closed tab is neither computed nor sent
    page.get_by_role("tab", name="Gradients through time").click()
    chart = page.locator(plot(view("gradients")))
    chart.wait_for()
    assert "section=Gradients+through+time" in page.url  # the open view is in the link
    layout = chart.evaluate("""element => ({
        axes: [element.layout.xaxis.type, element.layout.xaxis2.type],
        titles: element.layout.annotations.map(annotation => annotation.text),
    })""")
    assert layout["axes"] == ["log", "log"]
    assert layout["titles"][:2] == ["Shipped Basic RNN", "Shipped LSTM"]
    assert "On this digit" in page.locator(view("gradients")).inner_text()
    no_exceptions(page)
    shot(page, view("gradients"), "inside-gradients")


def test_the_step_through_animation_plays_in_the_browser(server, page):
    sent: list[str] = []  # what the browser sends the server over its websocket
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: sent.append(payload)))
    page.goto(page_url(server.base, "inside", "arch=lstm&section=Step+through+time"))
    wait_until_idle(page, ready="inside")
    chart = page.locator(plot(view("step-through")))
    chart.wait_for()
    chart.scroll_into_view_if_needed()
    assert chart.evaluate("element => element._fullLayout.sliders[0].active") == 0
    before = len(sent)
    chart.locator(".updatemenu-button").filter(has_text="play").click()
    page.wait_for_function(
        "element => element._fullLayout.sliders[0].active >= 5", arg=chart.element_handle(), timeout=RESULT_TIMEOUT_MS,
    )
    shot(page, view("step-through"), "inside-step-through")
    page.wait_for_function(
        "element => element._fullLayout.sliders[0].active === 15", arg=chart.element_handle(), timeout=RESULT_TIMEOUT_MS,
    )
    assert len(sent) == before, "playing the animation sent the server messages"
    assert page.locator("[data-testid='stStatusWidget']").count() == 0
    no_exceptions(page)


def test_where_the_digits_live_plots_the_1000_validation_digits(server, page):
    page.goto(page_url(server.base, "inside", "arch=deep&section=Where+the+digits+live"))
    wait_until_idle(page, ready="inside")
    chart = page.locator(plot(view("state-plane")))
    chart.wait_for()
    dots = chart.evaluate(f"""element => element.data
        .filter(trace => trace.name !== "this digit, row by row")
        .reduce((total, trace) => total + ({POINTS_JS})(trace), 0)""")
    assert dots == 1000
    path = chart.evaluate(f"""element => ({POINTS_JS})(element.data.find(
        trace => trace.name === "this digit, row by row"))""")
    assert path == 16
    no_exceptions(page)
    shot(page, view("state-plane"), "inside-state-plane")


def test_the_lesson_steps_with_next_and_back_and_its_links_open_a_step(server, page, browser):
    page.goto(page_url(server.base, "learn", "step=1"))
    settle(page, 1)
    assert page.locator("h1").first.inner_text() == LESSON[0].title
    page.get_by_role("button", name="Next").click()
    settle(page, 2)
    assert re.search(r"[?&]step=2\b", page.url) and page.locator("h1").first.inner_text() == LESSON[1].title
    page.get_by_role("button", name="Back").click()
    settle(page, 1)
    assert re.search(r"[?&]step=1\b", page.url)

    number = step_of("gradients")
    for current in range(1, number):
        page.get_by_role("button", name="Next").click()
        settle(page, current + 1)
    wait_until_idle(page, ready="learn")
    page.locator(view("gradients")).wait_for()
    link = page.locator("[data-testid='stCode']").inner_text().strip()
    assert link.endswith(f"/learn?step={number}")
    no_exceptions(page)
    shot(page, lesson_step(number), "lesson-gradients")

    fresh = browser.new_context(viewport=VIEWPORT)  # a student opening the shared link
    try:
        student = fresh.new_page()
        student.goto(link)
        wait_until_idle(student, ready="learn")
        student.locator(lesson_step(number)).wait_for()
        assert student.locator("h1").first.inner_text() == LESSON[number - 1].title
        no_exceptions(student)
    finally:
        fresh.close()


def _next_watched_iteration(page, after: int) -> int:
    """Wait until the watch-it-learn panel shows weights from after iteration ``after``; that iteration."""
    prefix = CSS_KEY_PREFIX + WATCH_KEY_PREFIX
    return page.wait_for_function(f"""after => {{
        const marker = document.querySelector("[class*='{prefix}']");
        const name = marker && Array.from(marker.classList).find(c => c.startsWith("{prefix}"));
        const iteration = name ? +name.slice({len(prefix)}) : 0;
        return iteration > after && iteration;
    }}""", arg=after, timeout=RESULT_TIMEOUT_MS).json_value()


def test_watch_it_learn_shows_the_guesses_change_while_training(server, page):
    page.goto(page_url(server.base, "train", "arch=lstm&iterations=2000&batch=500"))
    wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    seen = [0]
    for _ in range(3):  # the panel moves on to newer weights, again and again
        seen.append(_next_watched_iteration(page, seen[-1]))
    selector = f"[class*='{CSS_KEY_PREFIX}{WATCH_KEY_PREFIX}'] [data-guess]"
    page.wait_for_selector(selector, timeout=RESULT_TIMEOUT_MS)
    titles = page.locator(selector).evaluate_all("columns => columns.map(column => column.innerText)")
    assert len(titles) == 10 and all("%" in title for title in titles)
    shot(page, f".{CSS_KEY_PREFIX}{WATCH_PANEL_KEY}", "train-watch-it-learn", moving=True)
    page.get_by_role("button", name="Stop").click()
    page.wait_for_selector(status_selector("stopped"), timeout=RESULT_TIMEOUT_MS)
    no_exceptions(page)
