"""Every chart with its text alternative: :func:`chart` is the app's one way to show a Plotly figure.

The text (from :mod:`rnn_demo.views.chart_texts`) becomes the chart's accessible
name: Streamlit's ``alt`` puts it on the chart's element as ``aria-label`` with
``role="figure"``, so a screen reader says what the chart shows. It is an
attribute, never markdown or HTML, so a run's name inside it reads as typed;
it is cut to one line of :data:`rnn_demo.ui.plain.SHOWN_CHARACTERS`.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnn_demo.ui.plain import SHOWN_CHARACTERS

ALT_CHARACTERS = 2 * SHOWN_CHARACTERS  # a text alternative may name a few runs


def chart(figure: go.Figure, alt: str, *, key: str | None = None, where: DeltaGenerator | None = None):
    """Show ``figure`` (in ``where``, a column or container; the page by default) described by ``alt``."""
    text = " ".join(alt.split())
    if len(text) > ALT_CHARACTERS:
        text = text[: ALT_CHARACTERS - 1] + "…"
    return (where or st).plotly_chart(figure, key=key, alt=text)
