"""Every page through axe-core, the accessibility checker, at the three sizes a class uses.

axe-core (the npm package ``package-lock.json`` pins, installed by ``make test``
into ``node_modules/``) is injected into each page once its ready marker is
drawn and its charts have drawn their SVG, and run with the WCAG 2.1 A and AA
rules. A violation of impact *serious* or *critical* fails the test, reported
with its rule, the elements it found and axe's own summary; so does a chart
without its text alternative. One server for the
module; one browser context per viewport visits all the pages.
"""

from __future__ import annotations

import pytest

from tests.harness import (
    ARTIFACTS,
    CHARTS_DRAWN_JS,
    PAGE_VISITS,
    ROOT,
    Server,
    no_exceptions,
    page_url,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {
    "desktop": {"width": 1400, "height": 1000},
    "projector": {"width": 1280, "height": 720},
    "phone": {"width": 390, "height": 844},
}
WCAG_21_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = ("serious", "critical")
PAGE_TIMEOUT_MS = 120_000
# [charts, those without a text alternative] (rnn_demo.ui.charts: ``role="figure"``, ``aria-label``).
CHART_NAMES_JS = """() => {
    const charts = Array.from(document.querySelectorAll(".rnn-chart"));
    const named = chart => chart.getAttribute("role") === "figure" && (chart.getAttribute("aria-label") || "").trim();
    return [charts.length, charts.filter(chart => !named(chart)).length];
}"""
# axe's violations of the failing impacts, each cut to what a report needs.
RUN_AXE_JS = """async ([tags, impacts]) => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
    return result.violations.filter(v => impacts.includes(v.impact)).map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(node => ({target: node.target.join(" "), summary: node.failureSummary})),
    }));
}"""


@pytest.fixture(scope="module")
def server():
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed ({AXE} is missing): run `make test`, or `npm ci`")
    with Server(log_path=ARTIFACTS / "streamlit-accessibility.log") as running:
        yield running


def report(page_name: str, violations: list[dict]) -> list[str]:
    """One line per element a violation names: page, rule, impact, element, axe's summary."""
    return [
        f"{page_name}: {violation['id']} ({violation['impact']}: {violation['help']}) at "
        f"{node['target']}: {' '.join(node['summary'].split())}"
        for violation in violations for node in violation["nodes"]
    ]


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_no_serious_accessibility_violation_on_any_page(server, browser, size):
    context = browser.new_context(viewport=VIEWPORTS[size], is_mobile=size == "phone",
                                  has_touch=size == "phone")
    found, charts_per_visit = [], {}
    try:
        tab = context.new_page()
        for name, query in PAGE_VISITS:
            where = name + (f"?{query}" if query else "")
            tab.goto(page_url(server.base, name, query))
            wait_until_idle(tab, PAGE_TIMEOUT_MS, ready=name)
            tab.wait_for_function(CHARTS_DRAWN_JS, polling=100, timeout=PAGE_TIMEOUT_MS)
            no_exceptions(tab)
            charts, unnamed = tab.evaluate(CHART_NAMES_JS)
            charts_per_visit[where] = charts
            if unnamed:
                found.append(f"{where}: {unnamed} charts without a text alternative (rnn_demo.ui.charts.chart)")
            tab.add_script_tag(path=str(AXE))
            found += report(where, tab.evaluate(RUN_AXE_JS, [WCAG_21_AA_TAGS, list(FAILING_IMPACTS)]))
    finally:
        context.close()
    # home's, and /inside's readout beside each of its four views
    assert sum(charts_per_visit.values()) >= 9, f"charts seen per visit: {charts_per_visit}"
    assert not found, f"{len(found)} serious or critical WCAG 2.1 AA violations at {size} size:\n" + "\n".join(found)
