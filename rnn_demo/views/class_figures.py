"""The class board's figure: every posted run's validation accuracy, overlaid and coloured by recipe.

A pure function of plain values (no Streamlit), sized for a projector: thick
lines, large type, one legend entry per recipe.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from rnn_demo.views.figures import ARCH_COLOURS, apply_layout

BOARD_FONT = 18


def board_curves_figure(runs: Sequence[dict], *, height: int = 420) -> go.Figure:
    """Validation accuracy against iteration for each run.

    Each run is a dict with ``label`` (shown as typed: it is escaped here),
    ``recipe``, ``arch``, ``val_iterations`` and ``val_accuracy``.
    """
    figure = go.Figure()
    shown: set[str] = set()
    for run in runs:
        recipe, label = html.escape(run["recipe"]), html.escape(run["label"])
        figure.add_trace(go.Scatter(
            x=list(run["val_iterations"]), y=list(run["val_accuracy"]), mode="lines+markers",
            name=recipe, legendgroup=recipe, showlegend=recipe not in shown,
            line={"color": ARCH_COLOURS.get(run["arch"], "#333333"), "width": 3}, marker={"size": 7},
            hovertemplate=f"{label} · {recipe}<br>iteration %{{x}}: %{{y:.1%}}<extra></extra>",
        ))
        shown.add(recipe)
    figure.update_xaxes(title_text="iteration")
    figure.update_yaxes(title_text="validation accuracy", tickformat=".0%", rangemode="tozero")
    apply_layout(figure, height=height, font_size=BOARD_FONT)
    figure.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    return figure
