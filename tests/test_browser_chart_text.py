"""Every chart's text in Chromium: no two texts collide, none is clipped, and on a projector none is small.

Every page and every lesson step is drawn at the three sizes a class uses. In
each drawn Plotly chart the test reads the bounding box of every SVG text
(titles, axis titles, tick labels, colour bars, annotations and subplot titles,
legends, the slider's and buttons' labels, text inside a plot area) and
fails on

* two texts whose boxes overlap by more than :data:`TOLERANCE_PX` (a text's own
  lines are one ``<text>`` element, so never compared with each other);
* a text that reaches outside its chart's box, or a text drawn inside a plot
  area (a heatmap cell's number, a point's label) that reaches outside that
  area, where Plotly's clip path would cut it ("93%" shown as "3%");
* at projector size (1280×720), a text whose computed font size is under
  :data:`PROJECTOR_MIN_FONT_PX`.

One server for the module, one browser context per size visiting every page.
"""

from __future__ import annotations

import pytest

from rnn_demo.views.teaching import LESSON
from tests.harness import (
    ARTIFACTS,
    CHARTS_DRAWN_JS,
    PAGE_VISITS,
    Server,
    no_exceptions,
    page_url,
    wait_for,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "desktop": {"width": 1400, "height": 1000},
    "projector": {"width": 1280, "height": 720},
    "phone": {"width": 390, "height": 844},
}
TOLERANCE_PX = 1
PROJECTOR_MIN_FONT_PX = 16
PAGE_TIMEOUT_MS = 120_000
SETTLE_SECONDS = 30
# (page name, query): every page and view, then every lesson step.
VISITS = PAGE_VISITS + [("learn", f"step={step}") for step in range(1, len(LESSON) + 1)]
# Per drawn chart: its box and every visible text's box, kind, font size and,
# for a text inside a plot area, that area's box.
CHART_TEXTS_JS = """() => {
    // The nearest ancestor class that says what a text is: "gtitle", "xtitle", "y2tick", "cbtitle",
    // "colorbar", "annotation", "legend", "slider-container", "updatemenu-container" or "overplot"
    // (drawn in a plot area: a heatmap cell's number, a point's label).
    const KIND = /^(gtitle|[xy]\\d*title|[xy]\\d*tick|cbtitle|colorbar|annotation|legend|slider-container|updatemenu-container|overplot)$/;
    const kindOf = text => {
        for (let node = text; node && !node.classList.contains("main-svg"); node = node.parentNode) {
            const kind = Array.from(node.classList).find(c => KIND.test(c));
            if (kind) return kind;
        }
        return "other";
    };
    const boxOf = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
    return Array.from(document.querySelectorAll(".rnn-chart .js-plotly-plot"))
        .filter(plot => plot.offsetParent !== null)
        .map((plot, index) => {
            const chart = plot.getBoundingClientRect();
            const layout = plot._fullLayout;
            const texts = [];
            plot.querySelectorAll(".main-svg text").forEach((text, id) => {
                const content = text.textContent.trim();
                if (!content || text.closest(".hoverlayer")) return;
                if (!text.checkVisibility({opacityProperty: true, visibilityProperty: true})) return;
                const r = text.getBoundingClientRect();
                if (r.width === 0 || r.height === 0) return;
                const kind = kindOf(text);
                let area = null;
                const subplot = kind === "overplot" && text.closest("g.subplot");
                if (subplot) {
                    const id = Array.from(subplot.classList).find(c => /^x\\d*y\\d*$/.test(c));
                    const axes = id && layout._plots[id];
                    if (axes) area = {left: chart.left + axes.xaxis._offset, right: chart.left + axes.xaxis._offset
                        + axes.xaxis._length, top: chart.top + axes.yaxis._offset,
                        bottom: chart.top + axes.yaxis._offset + axes.yaxis._length};
                }
                texts.push({id, text: content, kind, font: parseFloat(getComputedStyle(text).fontSize),
                            box: boxOf(r), area});
            });
            return {index, title: plot.closest(".rnn-chart").getAttribute("aria-label") || "",
                    box: boxOf(chart), texts};
        });
}"""


def overlap(a: dict, b: dict) -> float:
    """How far boxes ``a`` and ``b`` overlap: the smaller of the two overlaps (px; ≤ 0: apart)."""
    return min(min(a["right"], b["right"]) - max(a["left"], b["left"]),
               min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]))


def outside(box: dict, frame: dict) -> float:
    """How far ``box`` reaches outside ``frame`` (px; ≤ 0: inside)."""
    return max(frame["left"] - box["left"], box["right"] - frame["right"],
               frame["top"] - box["top"], box["bottom"] - frame["bottom"])


def problems(where: str, charts: list[dict], *, min_font: float | None) -> list[str]:
    """One line per collision, clipped text and (``min_font``) small text in ``charts``."""
    found = []
    for chart in charts:
        name = f"{where} chart {chart['index'] + 1} ({chart['title'][:50]}…)"
        texts = chart["texts"]
        for position, first in enumerate(texts):
            for second in texts[position + 1:]:
                depth = overlap(first["box"], second["box"])
                if depth > TOLERANCE_PX:
                    found.append(f"{name}: {first['kind']} {first['text']!r} and {second['kind']} "
                                 f"{second['text']!r} overlap by {depth:.0f} px")
            if (depth := outside(first["box"], chart["box"])) > TOLERANCE_PX:
                found.append(f"{name}: {first['kind']} {first['text']!r} is cut: {depth:.0f} px outside the chart")
            elif first["area"] and (depth := outside(first["box"], first["area"])) > TOLERANCE_PX:
                found.append(f"{name}: {first['text']!r} is cut: {depth:.0f} px outside its plot area")
            if min_font is not None and first["font"] < min_font:
                found.append(f"{name}: {first['kind']} {first['text']!r} is {first['font']:g} px")
    return found


def settled_texts(tab) -> list[dict]:
    """:data:`CHART_TEXTS_JS` once two reads in a row agree: Plotly has finished the
    resize to its column that Streamlit asks for after the first draw."""
    reads = [tab.evaluate(CHART_TEXTS_JS)]

    def same_as_before():
        reads.append(tab.evaluate(CHART_TEXTS_JS))
        return reads[-1] == reads[-2]

    wait_for(same_as_before, SETTLE_SECONDS, interval=0.2, message="the charts kept moving")
    return reads[-1]


@pytest.fixture(scope="module")
def server():
    with Server(log_path=ARTIFACTS / "streamlit-chart-text.log") as running:
        yield running


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_chart_texts_neither_collide_nor_are_cut_and_are_large_on_a_projector(server, browser, size):
    context = browser.new_context(viewport=VIEWPORTS[size], is_mobile=size == "phone", has_touch=size == "phone")
    found, texts_seen = [], 0
    try:
        tab = context.new_page()
        for name, query in VISITS:
            tab.goto(page_url(server.base, name, query))
            wait_until_idle(tab, PAGE_TIMEOUT_MS, ready=name)
            tab.wait_for_function(CHARTS_DRAWN_JS, polling=100, timeout=PAGE_TIMEOUT_MS)
            no_exceptions(tab)
            charts = settled_texts(tab)
            texts_seen += sum(len(chart["texts"]) for chart in charts)
            where = f"{size} /{name}" + (f"?{query}" if query else "")
            found += problems(where, charts, min_font=PROJECTOR_MIN_FONT_PX if size == "projector" else None)
    finally:
        context.close()
    assert texts_seen >= 200  # every page's charts were read (home, inside, the lesson…)
    assert not found, f"{len(found)} chart text problems at {size} size:\n" + "\n".join(found)
