"""The Look inside page's states and gates: a tab per layer and direction, a tab per array.

Each array is charted beside the rows the network read, with its equation and
one sentence from :mod:`rnn_demo.teaching`.
"""

from __future__ import annotations

import streamlit as st

from rnn_demo import figures
from rnn_demo.teaching import ARRAY_ORDER, array_label, array_note
from rnn_demo.trace import ModelTrace


def layer_views(trace: ModelTrace) -> None:
    """Tabs: one per layer and direction; inside, one tab per array with its equation."""
    layer_count = len({layer.name for layer in trace.layers})
    bidirectional = any(layer.direction == "backward" for layer in trace.layers)
    titles = []
    for layer in trace.layers:
        number = int(layer.name.rsplit("_", 1)[1])
        parts = [f"Layer {number} of {layer_count}"] if layer_count > 1 else []
        if bidirectional:
            parts.append("Backward: reads up" if layer.direction == "backward" else "Forward: reads down")
        titles.append(" · ".join([*(parts or ["Recurrent layer"]), layer.kind.upper()]))
    for tab, layer, title in zip(st.tabs(titles), trace.layers, titles, strict=True):
        with tab:
            if layer.direction == "backward":
                st.caption(
                    "This direction reads the rows bottom to top. The chart still puts timestep t "
                    "beside row t: there its state has read rows 16, 15, …, t."
                )
            names = [name for name in ARRAY_ORDER if name in layer.arrays]
            labels = [array_label(layer.kind, name) for name in names]
            for array_tab, name, label in zip(st.tabs(labels), names, labels, strict=True):
                with array_tab:
                    equation, sentence = array_note(layer.kind, name)
                    if equation:  # above the chart: a long equation has no room beside it
                        st.latex(equation)
                    chart, note = st.columns([3, 1])
                    chart.plotly_chart(
                        figures.state_figure(trace.image, layer.arrays[name], name, label),
                        key=f"{title}-{name}",
                    )
                    note.markdown(sentence)
                    note.caption(f"{layer.units} units × 16 timesteps. Hover for exact values.")
