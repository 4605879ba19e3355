"""Figures of what happens inside a model: its arrays over time, how its prediction
forms, gradients through time, where the digits live, and a step-through animation.

Pure functions from arrays to ``go.Figure``, in the style and with the
conventions of :mod:`rnn_demo.views.figures` (time is the vertical axis, row 1 at the top).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_demo.views.figures import (
    ACCENT,
    BAR_COLOUR,
    CLASS_COLOURS,
    LINE_COLOURS,
    LINE_PX,
    PROBABILITY,
    ROWS,
    apply_layout,
    image_trace,
    row_axis,
    wrapped,
)

# Both scales are perceptually uniform and readable with any colour vision:
# * gates, 0 (closed) … 1 (open): viridis, dark purple … yellow, lightness rising throughout;
# * states, negative … 0 … positive: ColorBrewer's PuOr, purple … white … orange. Under
#   simulated protanopia its two ends stay 77 CIELAB units apart; red–blue (RdBu) ends
#   come 35 apart, the red arm turning a dull olive.
SEQUENTIAL = "Viridis"
DIVERGING = "PuOr_r"
# Arrays squashed by a sigmoid live in [0, 1]; those squashed by tanh in [-1, 1];
# the LSTM cell and the RNN pre-activation are unbounded.
GATE_ARRAYS = {"input_gate", "forget_gate", "output_gate", "update_gate", "reset_gate"}
TANH_ARRAYS = {"hidden", "candidate"}
# One colour per recurrent layer and direction, in the order a model lists them.
SERIES_COLOURS = LINE_COLOURS
INPUT_COLOUR = "#7f7f7f"  # the gradient reaching the input rows


def colour_range(name: str, values: np.ndarray) -> dict:
    """Colour scale and limits for a trace array called ``name`` (see :mod:`rnn_demo.twins.model`)."""
    if name in GATE_ARRAYS:
        return {"colorscale": SEQUENTIAL, "zmin": 0.0, "zmax": 1.0}
    if name in TANH_ARRAYS:
        return {"colorscale": DIVERGING, "zmid": 0.0, "zmin": -1.0, "zmax": 1.0}
    limit = max(float(np.abs(values).max()), 1e-6)
    return {"colorscale": DIVERGING, "zmid": 0.0, "zmin": -limit, "zmax": limit}


def state_figure(image16: np.ndarray, values: np.ndarray, name: str, label: str, *, height: int = 360) -> go.Figure:
    """The input beside one recurrent array over time.

    ``image16`` ``(16, 16)``: input, row t = timestep t. ``values`` ``(16, units)``:
    one array of a :class:`rnn_demo.twins.model.LayerTrace` (``name`` picks the colour
    scale, ``label`` titles it). Both panels share the vertical time axis.
    """
    values = np.asarray(values, dtype=float)
    units = values.shape[1]
    # The label titles the figure, not the wide panel: a subplot title is centred over its
    # panel and ran into the narrow input panel's. The colour bar lies under the panels, so
    # the heatmap keeps the width of a narrow column (a lesson step shows three side by side).
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.03, column_widths=[0.2, 0.8])
    figure.add_trace(image_trace(np.asarray(image16, dtype=float)), row=1, col=1)
    figure.add_trace(
        go.Heatmap(
            z=values, x=np.arange(1, units + 1), y=ROWS,
            colorbar={"orientation": "h", "thickness": 10, "len": 1, "y": 0, "yref": "container",
                      "yanchor": "bottom", "nticks": 5},
            hovertemplate="timestep %{y}, unit %{x}: %{z:.4f}<extra></extra>",
            **colour_range(name, values),
        ),
        row=1, col=2,
    )
    row_axis(figure)
    figure.update_yaxes(title_text="row = timestep", row=1, col=1)
    figure.update_xaxes(showticklabels=False, title_text="input", row=1, col=1)
    figure.update_xaxes(title_text="unit", nticks=4, row=1, col=2)
    return apply_layout(figure, height=height, title=wrapped(label))


def readout_figure(
    image16: np.ndarray,
    readout_probabilities: np.ndarray,
    row_importance: np.ndarray,
    class_names: Sequence[str],
    *,
    height: int = 500,
) -> go.Figure:
    """How the prediction forms, row by row (tall enough that each row holds a line of text).

    ``readout_probabilities`` ``(16, 10)``: row t = class probabilities if the
    image ended after row t. ``row_importance`` ``(16,)``: drop in the predicted
    class's probability when that row is blanked. Panels share the time axis.
    """
    names = [str(name) for name in class_names]
    readout = np.asarray(readout_probabilities, dtype=float)
    importance = np.asarray(row_importance, dtype=float)
    figure = make_subplots(
        rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03, column_widths=[0.22, 0.5, 0.28],
        subplot_titles=("input", "prediction (%)<br>if it ended here", "row<br>importance"),
    )
    figure.add_trace(image_trace(np.asarray(image16, dtype=float)), row=1, col=1)
    figure.add_trace(
        go.Heatmap(
            z=readout, x=names, y=ROWS, colorscale=PROBABILITY, zmin=0, zmax=1,
            text=np.where(readout >= 0.5, np.vectorize(lambda value: f"{100 * value:.0f}")(readout), ""),
            texttemplate="%{text}", showscale=False,
            hovertemplate="after row %{y}: P(%{x}) = %{z:.4f}<extra></extra>",
        ),
        row=1, col=2,
    )
    figure.add_trace(
        go.Bar(
            x=importance, y=ROWS, orientation="h",
            marker_color=[ACCENT if value > 0 else "#7f9cc0" for value in importance],
            hovertemplate="blanking row %{y} lowers the predicted class's probability by %{x:.4f}<extra></extra>",
        ),
        row=1, col=3,
    )
    row_axis(figure)
    figure.update_yaxes(title_text="row = timestep", row=1, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    # A blank column's width on each side: a sure answer's number in the first or last
    # class's column is wider than the column on a phone, and the plot area would cut it.
    figure.update_xaxes(type="category", title_text="class", range=[-1.5, len(names) + 0.5], row=1, col=2)
    figure.update_xaxes(nticks=3, row=1, col=3)
    figure.update_xaxes(title_text="probability<br>drop", zeroline=True, row=1, col=3)
    figure.update_layout(showlegend=False)
    return apply_layout(figure, height=height)


def _positive(values) -> np.ndarray:
    """``values`` as floats with zeros and non-finite entries as NaN: a log axis has no 0."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decades(values: np.ndarray, most: int = 3) -> tuple[list[int], list[str]]:
    """Powers of ten spanning ``values``' finite entries, at most ``most`` of them, and their
    labels ("10⁻³"): Plotly's own log ticks print 2 and 5 between decades at 9 px."""
    finite = values[np.isfinite(values)]
    low, high = (int(np.floor(np.log10(finite.min()))), int(np.ceil(np.log10(finite.max())))) if finite.size else (0, 1)
    high = max(high, low + 1)
    step = int(np.ceil((high - low) / (most - 1)))
    exponents = list(range(low, high + step, step))
    return exponents, [f"10{str(power).translate(SUPERSCRIPTS)}" for power in exponents]


def gradient_norms_figure(models: Sequence[dict], *, height: int = 420) -> go.Figure:
    """Gradient norms through time for several models side by side, on one log scale.

    Each model is a dict: ``title``; ``hidden``: ``{"recurrent_1/forward": (16,) ‖∂L/∂h_t‖, …}``
    (solid lines); optional ``cell``: the same keys with ``‖∂L/∂c_t‖`` (dotted, LSTM);
    optional ``input``: ``(16,)`` ``‖∂L/∂x_t‖`` (grey). Time is the vertical axis,
    row 1 at the top as everywhere; the norm is the horizontal, logarithmic axis,
    shared by all panels so that the models compare. A layer and direction keeps
    its colour in every panel.
    """
    figure = make_subplots(
        rows=1, cols=len(models), shared_yaxes=True, horizontal_spacing=0.12,
        subplot_titles=[model["title"] for model in models],
    )
    colours: dict[str, str] = {}
    shown: set[str] = set()

    def add(column: int, name: str, values, line: dict, what: str) -> None:
        figure.add_trace(
            go.Scatter(
                x=_positive(values), y=ROWS, name=name, legendgroup=name, showlegend=name not in shown,
                mode="lines+markers", line=line, marker={"size": 4},
                hovertemplate=f"{name}<br>row %{{y}}: {what} = %{{x:.3e}}<extra></extra>",
            ),
            row=1, col=column,
        )
        shown.add(name)

    for column, model in enumerate(models, start=1):
        for key, norms in model["hidden"].items():
            colour = colours.setdefault(key, SERIES_COLOURS[len(colours) % len(SERIES_COLOURS)])
            add(column, f"h {key}", norms, {"color": colour, "width": 2}, "‖∂L/∂h_t‖")
        for key, norms in model.get("cell", {}).items():
            colour = colours.setdefault(key, SERIES_COLOURS[len(colours) % len(SERIES_COLOURS)])
            add(column, f"c {key}", norms, {"color": colour, "width": 2, "dash": "dot"}, "‖∂L/∂c_t‖")
        if model.get("input") is not None:
            add(column, "x input rows", model["input"], {"color": INPUT_COLOUR, "width": 1.5}, "‖∂L/∂x_t‖")
    row_axis(figure)
    figure.update_yaxes(title_text="row = timestep", row=1, col=1)
    every = [_positive(norms) for model in models for part in ("hidden", "cell") for norms in model.get(part, {}).values()]
    every += [_positive(model["input"]) for model in models if model.get("input") is not None]
    exponents, labels = _decades(np.concatenate(every) if every else np.ones(1))
    figure.update_xaxes(type="log", range=[exponents[0], exponents[-1]], tickmode="array",
                        tickvals=[10.0 ** power for power in exponents], ticktext=labels,
                        title_text="gradient norm (log)", matches="x")
    # Far enough below the panels that a legend wrapped onto three lines (a phone) clears
    # the axis titles; Plotly grows the bottom margin to hold it.
    figure.update_layout(legend={"orientation": "h", "y": -0.4, "yanchor": "top", "x": 0})
    return apply_layout(figure, height=height)


def state_plane_figure(
    points: np.ndarray,
    labels: np.ndarray,
    path: np.ndarray,
    class_names: Sequence[str],
    *,
    path_rows: Sequence[int] | None = None,
    explained_variance_ratio: Sequence[float] | None = None,
    height: int = 460,
) -> go.Figure:
    """Where the digits live: final hidden states on their first two principal components.

    ``points`` ``(n, 2)`` and ``labels`` ``(n,)`` ints: many digits, one colour per
    class. ``path`` ``(16, 2)``: one digit's states in reading order, drawn as a
    line from its first to its final state; ``path_rows`` ``(16,)`` labels each
    point with the input row just read (default 1 … 16; 16 … 1 for a backward
    direction). ``explained_variance_ratio`` ``(2,)`` goes into the axis titles.
    """
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels)
    path = np.asarray(path, dtype=float)
    rows = list(path_rows) if path_rows is not None else list(range(1, len(path) + 1))
    figure = go.Figure()
    for index, name in enumerate(class_names):
        members = points[labels == index]
        figure.add_trace(
            go.Scatter(
                x=members[:, 0], y=members[:, 1], name=str(name), mode="markers",
                marker={"color": CLASS_COLOURS[index % len(CLASS_COLOURS)], "size": 5, "opacity": 0.55},
                hovertemplate=f"a {name}<br>(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            )
        )
    sizes = np.linspace(5, 12, len(path))
    symbols = ["circle-open"] + ["circle"] * (len(path) - 2) + ["star"]
    figure.add_trace(
        go.Scatter(
            # The row read is in each point's hover, not printed beside it: 16 labels along
            # a path that starts in a huddle were printed over each other.
            x=path[:, 0], y=path[:, 1], name="this digit, row by row", mode="lines+markers",
            line={"color": "black", "width": 1.5}, text=[str(row) for row in rows],
            marker={"color": "black", "size": sizes, "symbol": symbols[: len(path)]},
            hovertemplate="after row %{text}: (%{x:.2f}, %{y:.2f})<extra></extra>",
        )
    )
    titles = ["PC 1", "PC 2"]
    if explained_variance_ratio is not None:
        titles = [f"{title} ({share:.0%} of variance)" for title, share in zip(titles, list(explained_variance_ratio)[:2], strict=True)]
    figure.update_xaxes(title_text=titles[0], zeroline=False)
    figure.update_yaxes(title_text=titles[1], zeroline=False, scaleanchor="x")
    figure.update_layout(legend={"title": {"text": "class"}})
    return apply_layout(figure, height=height)


# Below the step-through's panels, in px from their bottom: the axes' ticks and titles, then
# the play and pause buttons, then the slider on a line of its own (beside the buttons its
# "after row t" ran into them on a phone).
BUTTONS_PX, SLIDER_PX, BELOW_PX = 66, 110, 190


def _row_outline(row: int, width: int) -> go.Scatter:
    """A rectangle around image row ``row`` (1-based) of an image ``width`` pixels wide."""
    top, bottom = row - 0.5, row + 0.5
    return go.Scatter(
        x=[0.5, width + 0.5, width + 0.5, 0.5, 0.5], y=[top, top, bottom, bottom, top],
        mode="lines", line={"color": ACCENT, "width": 3}, hoverinfo="skip", showlegend=False,
    )


def step_through_figure(
    image16: np.ndarray,
    states: np.ndarray,
    readout_probabilities: np.ndarray,
    class_names: Sequence[str],
    *,
    state_name: str = "hidden",
    state_label: str = "hidden state h",
    frame_ms: int = 500,
    height: int = 480,
) -> go.Figure:
    """Reading the image one row at a time, as a Plotly animation of 16 frames.

    Frame t (named ``"t"``, 1 … 16): the input ``image16`` ``(16, 16)`` with row t
    outlined; ``states`` ``(16, units)`` (a forward-reading layer's array, e.g. its
    hidden state) filled in up to row t, the rest blank; and the class
    probabilities had the image ended after row t, ``readout_probabilities[t − 1]``
    from ``(16, 10)``. Play/pause buttons and a slider step through the frames.
    Time is vertical in the first two panels, so the outlined row and the newest
    state row sit on one line. ``state_name`` picks the colour scale (fixed for
    all frames), ``state_label`` titles the panel.
    """
    image16 = np.asarray(image16, dtype=float)
    states = np.asarray(states, dtype=float)
    readout = np.asarray(readout_probabilities, dtype=float)
    timesteps, units = states.shape
    names = [str(name) for name in class_names]
    scale = colour_range(state_name, states)
    figure = make_subplots(
        rows=1, cols=3, column_widths=[0.25, 0.45, 0.3], horizontal_spacing=0.1,
        subplot_titles=("input:<br>row t is read", wrapped(state_label, 14), "prediction<br>after row t"),
    )
    # The colour bar stands in the gap after the states; the bars' ticks are on their right,
    # so its numbers never sit beside the bars' percentages ("0.6" + "60%" read "0.660%").
    colour_bar_x = figure.layout.xaxis2.domain[1] + 0.01

    def moving_traces(row: int) -> list:
        filled = np.where(np.arange(1, timesteps + 1)[:, None] <= row, states, np.nan)
        probabilities = readout[row - 1]
        winner = int(probabilities.argmax())
        return [
            _row_outline(row, image16.shape[1]),
            go.Heatmap(
                z=filled, x=np.arange(1, units + 1), y=ROWS[:timesteps], hoverongaps=False,
                colorbar={"thickness": 10, "len": 0.8, "x": colour_bar_x, "xanchor": "left", "xpad": 2,
                          "nticks": 3},
                hovertemplate="row %{y}, unit %{x}: %{z:.4f}<extra></extra>", **scale,
            ),
            go.Bar(
                x=names, y=probabilities, showlegend=False,
                marker_color=[ACCENT if index == winner else BAR_COLOUR for index in range(len(names))],
                hovertemplate="P(%{x}) = %{y:.4f}<extra></extra>",
            ),
        ]

    figure.add_trace(image_trace(image16), row=1, col=1)
    outline, heatmap, bars = moving_traces(1)
    figure.add_trace(outline, row=1, col=1)
    figure.add_trace(heatmap, row=1, col=2)
    figure.add_trace(bars, row=1, col=3)
    # Frames replace traces 1–3 (the outline, the states, the bars); the image stays.
    figure.frames = [
        go.Frame(name=str(row), data=moving_traces(row), traces=[1, 2, 3]) for row in range(1, timesteps + 1)
    ]
    plot_height = height - BELOW_PX - 16 - 2 * LINE_PX  # what apply_layout leaves for two-line titles
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate", "transition": {"duration": 0}}
    figure.update_layout(
        updatemenus=[{
            "type": "buttons", "direction": "left", "showactive": False,
            "x": 0, "y": -BUTTONS_PX / plot_height, "xanchor": "left", "yanchor": "top",
            "buttons": [
                {"label": "▶ play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ pause", "method": "animate", "args": [[None], pause]},
            ],
        }],
        sliders=[{
            "active": 0, "x": 0, "len": 1, "y": -SLIDER_PX / plot_height, "yanchor": "top",
            "currentvalue": {"prefix": "after row ", "xanchor": "right"},
            "steps": [
                {
                    "label": frame.name, "method": "animate",
                    "args": [[frame.name], {**pause, "frame": {"duration": 0, "redraw": True}}],
                }
                for frame in figure.frames
            ],
        }],
    )
    row_axis(figure, row=1, col=1)
    figure.update_yaxes(matches="y", autorange="reversed", showticklabels=False, row=1, col=2)
    figure.update_yaxes(range=[0, 1.05], tickformat=".0%", side="right", nticks=3, row=1, col=3)
    figure.update_xaxes(showticklabels=False, range=[0.5, image16.shape[1] + 0.5], row=1, col=1)
    figure.update_xaxes(title_text="unit", row=1, col=2)
    figure.update_xaxes(type="category", title_text="class", row=1, col=3)
    figure.update_layout(showlegend=False)
    apply_layout(figure, height=height)
    figure.update_layout(margin={"b": BELOW_PX})
    return figure
