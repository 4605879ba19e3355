"""Every chart with its text alternative: :func:`chart` is the app's one way to show a Plotly figure.

A chart is drawn by the app's own component (``chart_frontend/``, declared in
``pyproject.toml``): plotly.js's cartesian bundle, a third of the full plotly.js
that ``st.plotly_chart`` loads, which is what a first visit waited on
(docs/performance.md). It sends the figure's JSON, as ``st.plotly_chart`` does.

The text (from :mod:`rnn_demo.views.chart_texts`) becomes the chart's accessible
name: the component sets it as ``aria-label`` on an element with ``role="figure"``,
so a screen reader says what the chart shows. It is an attribute, never markdown
or HTML, so a run's name inside it reads as typed; it is cut to one line of
:data:`rnn_demo.ui.plain.SHOWN_CHARACTERS`.
"""

from __future__ import annotations

import contextlib
import functools
import json

import plotly.graph_objects as go
import plotly.io
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnn_demo.ui.plain import SHOWN_CHARACTERS

ALT_CHARACTERS = 2 * SHOWN_CHARACTERS  # a text alternative may name a few runs
CHART_COMPONENT = "rnn_demo.chart"  # <distribution>.<name in pyproject.toml>
CHART_CLASS = "rnn-chart"  # the element each chart draws in, named by the browser tests
PLOTLY_FILE = "plotly-cartesian-4.1.1.min.js"  # in chart_frontend/, imported by its index.js
YEAR_S = 365 * 24 * 3600



@functools.cache
def _component():
    """The component, registered on first use: its files are found through the running
    server's scan of installed packages, so importing this module needs no server."""
    return st.components.v2.component(
        CHART_COMPONENT,
        # Shown at once, before the script has loaded: a page's check for drawn charts sees it.
        html=f'<div class="{CHART_CLASS}" role="figure"></div>',
        js="index.js",
        isolate_styles=False,
    )


def chart_payload(figure: go.Figure, alt: str) -> bytes:
    """What the browser receives: ``{"alt": text, "figure": figure JSON}`` as UTF-8 bytes."""
    text = " ".join(alt.split())
    if len(text) > ALT_CHARACTERS:
        text = text[: ALT_CHARACTERS - 1] + "…"
    # Plotly's JSON (typed arrays in base64) goes in as it is, not re-encoded as a string.
    return f'{{"alt": {json.dumps(text)}, "figure": {plotly.io.to_json(figure, validate=False)}}}'.encode()


def chart(figure: go.Figure, alt: str, *, key: str | None = None, where: DeltaGenerator | None = None) -> None:
    """Show ``figure`` (in ``where``, a column or container; where the page is writing by default)
    described by ``alt``."""
    with where or contextlib.nullcontext():
        _component()(data=chart_payload(figure, alt), key=key)


class CacheChartLibrary:
    """ASGI middleware (``st.App``'s): browsers keep the chart library for a year.

    Streamlit sends a component's files as ``Cache-Control: public`` with neither a
    lifetime nor a validator, so a browser would fetch the library's 0.5 MB (gzipped)
    again on every load of the app. Its name carries its version, so it never changes.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith(f"/{CHART_COMPONENT}/{PLOTLY_FILE}"):
            return await self.app(scope, receive, send)

        async def send_cached(message):
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = [(name, value) for name, value in message.get("headers", []) if name.lower() != b"cache-control"]
                headers.append((b"cache-control", f"public, max-age={YEAR_S}, immutable".encode()))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, send_cached)
