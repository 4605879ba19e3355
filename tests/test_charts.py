"""The app's chart component (rnn_demo.ui.charts): its plotly.js bundle is the version the
installed plotly.py writes figures for; in Chromium it draws with that bundle and never makes the
browser load Streamlit's full one, browsers keep the bundle, and a chart follows its column's width."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.offline
import pytest

from rnn_demo.ui import charts
from rnn_demo.ui.charts import CHART_COMPONENT, PLOTLY_FILE, YEAR_S, chart_payload
from rnn_demo.views import figures
from tests.harness import (
    ARTIFACTS,
    CHARTS_DRAWN_JS,
    Server,
    no_exceptions,
    page_url,
    wait_until_idle,
)

VIEWPORT = {"width": 1400, "height": 1000}
# The bytes each loaded resource named ``name`` came over the network with (0: from the cache).
TRANSFERRED_JS = """name => performance.getEntriesByType("resource")
    .filter(entry => entry.name.endsWith("/" + name)).map(entry => entry.transferSize)"""
# The readout chart's drawn width and its frame's, in px.
WIDTHS_JS = """() => {
    const frame = document.querySelector(".st-key-readout .rnn-chart");
    return [frame.querySelector(".main-svg").getBoundingClientRect().width, frame.getBoundingClientRect().width];
}"""

# The component's own code, called as Streamlit calls it, faster than Plotly draws: each chart
# is given a second figure and then unmounted while it is still drawing, then one chart is
# given two figures at once. Returns the x range's end that last chart shows.
RACE_JS = """async ([url, firstBytes, secondBytes]) => {
    const { default: render } = await import(url);
    const [first, second] = [new Uint8Array(firstBytes), new Uint8Array(secondBytes)];
    const mounted = () => {
        const host = document.createElement("div");
        host.innerHTML = '<div class="rnn-chart" role="figure"></div>';
        return document.body.appendChild(host);
    };
    for (let i = 0; i < 5; i++) {
        const host = mounted();
        const unmount = render({parentElement: host, data: first});
        render({parentElement: host, data: second});
        unmount();
        host.remove();
    }
    const host = mounted();
    render({parentElement: host, data: first});
    render({parentElement: host, data: second});
    const plot = host.querySelector(".js-plotly-plot");
    await new Promise(resolve => { const wait = () => plot._fullLayout && !plot._transitioning
        && plot.layout.xaxis.range[1] === 200 ? resolve() : setTimeout(wait, 50); wait(); });
    await new Promise(resolve => setTimeout(resolve, 1000));  // any error of the unmounted ones
    return plot.layout.xaxis.range[1];
}"""


def test_the_bundle_is_the_plotly_js_that_plotly_py_writes_for():
    bundle = Path(charts.__file__).parent / "chart_frontend" / PLOTLY_FILE
    with bundle.open() as start:
        header = start.read(200)
    written = re.search(r"plotly\.js \(cartesian - minified\) v(\d+\.\d+\.\d+)", header).group(1)
    assert PLOTLY_FILE == f"plotly-cartesian-{written}.min.js"
    assert written.split(".")[0] == plotly.offline.get_plotlyjs_version().split(".")[0]


@pytest.fixture(scope="module")
def server():
    with Server(log_path=ARTIFACTS / "streamlit-charts.log") as running:
        yield running


@pytest.mark.browser
def test_charts_draw_with_the_cartesian_bundle_which_browsers_keep(server, page):
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(page_url(server.base, "inside"))
    wait_until_idle(page, ready="inside")
    page.wait_for_function(CHARTS_DRAWN_JS)
    no_exceptions(page)
    assert page.locator(".rnn-chart .main-svg").count() >= 2  # the readout, the open view's chart
    assert not [response.url for response in responses if "/static/js/PlotlyChart." in response.url]
    library = [response for response in responses if response.url.endswith("/" + PLOTLY_FILE)]
    assert len(library) == 1
    headers = library[0].all_headers()
    assert headers["cache-control"] == f"public, max-age={YEAR_S}, immutable"
    assert headers.get("content-encoding") == "gzip"
    assert page.evaluate(TRANSFERRED_JS, PLOTLY_FILE)[0] > 100_000

    page.reload()  # a later load of the app: the library comes from the browser's cache
    wait_until_idle(page, ready="inside")
    page.wait_for_function(CHARTS_DRAWN_JS)
    assert page.evaluate(TRANSFERRED_JS, PLOTLY_FILE) == [0]


@pytest.mark.browser
def test_a_chart_follows_its_columns_width(server, page):
    page.goto(page_url(server.base, "inside"))
    wait_until_idle(page, ready="inside")
    page.wait_for_function(CHARTS_DRAWN_JS)
    drawn, frame = page.evaluate(WIDTHS_JS)
    assert abs(drawn - frame) <= 2, (drawn, frame)
    page.set_viewport_size({"width": 1000, "height": 1000})
    page.wait_for_function(f"() => {{ const [drawn, frame] = ({WIDTHS_JS})(); "
                           f"return frame < {frame} - 50 && Math.abs(drawn - frame) <= 2; }}")
    no_exceptions(page)


@pytest.mark.browser
def test_a_chart_unmounted_or_given_new_figures_while_drawing_raises_nothing(server, page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_url(server.base, "train"))  # its chart registers the component
    wait_until_idle(page, ready="train")
    page.wait_for_function(CHARTS_DRAWN_JS)
    first, second = (list(chart_payload(figures.training_curves([1.0, 0.5], [1], [0.9], [0.5], iterations=planned), ""))
                     for planned in (100, 200))
    url = f"{server.base.rstrip('/')}/_stcore/bidi-components/{CHART_COMPONENT}/index.js"
    assert page.evaluate(RACE_JS, [url, first, second]) == 200  # the latest figure
    assert errors == []
