"""Plotly figures for the app, each a pure function from arrays to a ``go.Figure``.

Nothing here imports Streamlit or Keras, so every figure can be built and
checked in a plain test. Conventions shared by all figures:

* an image is shown the way a person reads it: row 1 at the top;
* wherever a figure has a time axis it is the **vertical** one, with timestep
  ``t`` on the same line as input row ``t``, so an image placed beside a
  heatmap lines up row for row with what the network computed at that step;
* hovering a cell shows its exact value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

INK = "Greys_r"  # white ink on black, as the model sees it
SEQUENTIAL = "Viridis"  # gates: 0 (closed) … 1 (open)
DIVERGING = "RdBu_r"  # states: negative blue, zero white, positive red
PROBABILITY = "Blues"
ACCENT = "#e4572e"
LOSS_COLOUR = "#1f77b4"
VALIDATION_COLOUR = "#ff7f0e"
ACCURACY_COLOUR = "#2ca02c"
# One colour per architecture, so the same recipe looks the same everywhere.
ARCH_COLOURS = {
    "rnn": "#1f77b4",
    "birnn": "#ff7f0e",
    "deep": "#2ca02c",
    "lstm": "#d62728",
    "gru": "#9467bd",
    "bilstm": "#8c564b",
}
# Arrays squashed by a sigmoid live in [0, 1]; those squashed by tanh in [-1, 1];
# the LSTM cell and the RNN pre-activation are unbounded.
GATE_ARRAYS = {"input_gate", "forget_gate", "output_gate", "update_gate", "reset_gate"}
TANH_ARRAYS = {"hidden", "candidate"}
ROWS = np.arange(1, 17)


def _layout(figure: go.Figure, *, height: int, title: str | None = None, top: int | None = None) -> go.Figure:
    """Shared layout; ``top`` margin defaults to room for a title or subplot titles."""
    has_titles = title or figure.layout.annotations
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": top if top is not None else (40 if has_titles else 10), "b": 10},
        title={"text": title, "x": 0, "xanchor": "left"} if title else None,
        template="plotly_white",
    )
    return figure


def _row_axis(figure: go.Figure, **where) -> None:
    """A vertical axis of rows/timesteps 1…16, row 1 at the top."""
    figure.update_yaxes(autorange="reversed", tickmode="array", tickvals=[1, 4, 8, 12, 16], **where)


def _image_trace(image: np.ndarray, *, show_scale: bool = False) -> go.Heatmap:
    """A grey heatmap of ``image`` ``(h, w)`` in [0, 1] with rows and columns from 1."""
    height, width = image.shape
    return go.Heatmap(
        z=image,
        x=np.arange(1, width + 1),
        y=np.arange(1, height + 1),
        colorscale=INK,
        zmin=0.0,
        zmax=1.0,
        showscale=show_scale,
        hovertemplate="row %{y}, column %{x}: %{z:.3f}<extra></extra>",
    )


def image_figure(image: np.ndarray, *, title: str | None = None, height: int = 260) -> go.Figure:
    """A square picture of ``image`` ``(h, w)`` in [0, 1], row 1 at the top."""
    figure = go.Figure(_image_trace(np.asarray(image, dtype=float)))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showticklabels=False)
    figure.update_xaxes(constrain="domain", showticklabels=False)
    return _layout(figure, height=height, title=title)


def sequence_figure(image16: np.ndarray, *, height: int = 480) -> go.Figure:
    """How an image becomes a sequence: ``image16`` ``(16, 16)`` with each row labelled
    as the timestep that reads it (row t → input vector x_t of 16 numbers)."""
    image16 = np.asarray(image16, dtype=float)
    figure = make_subplots(
        rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.02,
        subplot_titles=("the 16×16 image", "…read one row per timestep"),
    )
    figure.add_trace(_image_trace(image16), row=1, col=1)
    # The same rows pulled apart: a gap after each row shows they arrive one at a time.
    spread = np.full((16 * 2 - 1, 16), np.nan)
    spread[::2] = image16
    figure.add_trace(
        go.Heatmap(
            z=spread, x=np.arange(1, 17), y=np.arange(1, 32) / 2 + 0.5,
            colorscale=INK, zmin=0, zmax=1, showscale=False, hoverongaps=False,
            hovertemplate="timestep t=%{y}: pixel %{x} = %{z:.3f}<extra></extra>",
        ),
        row=1, col=2,
    )
    for row in ROWS:
        figure.add_annotation(
            x=17.2, y=row, text=f"t={row} → x<sub>{row}</sub>", showarrow=False,
            xanchor="left", font={"size": 11}, row=1, col=2,
        )
    figure.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    figure.update_yaxes(scaleanchor="x", row=1, col=1)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    figure.update_xaxes(range=[0.5, 22], row=1, col=2)
    return _layout(figure, height=height)


def training_curves(
    train_loss: Sequence[float],
    val_iterations: Sequence[int],
    val_loss: Sequence[float],
    val_accuracy: Sequence[float],
    *,
    iterations: int | None = None,
    height: int = 360,
) -> go.Figure:
    """Loss per iteration (training, from ``train_loss`` ``(n,)``) and validation loss
    and accuracy at ``val_iterations``; accuracy on a second axis from 0 to 1.

    ``iterations`` fixes the x axis to the planned length, so a live curve grows
    into a frame that does not jump.
    """
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    steps = np.arange(1, len(train_loss) + 1)
    figure.add_trace(
        go.Scatter(
            x=steps, y=np.asarray(train_loss, dtype=float), name="training loss (this batch)",
            mode="lines", line={"color": LOSS_COLOUR, "width": 1.5},
            hovertemplate="iteration %{x}: loss %{y:.4f}<extra></extra>",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=list(val_iterations), y=list(val_loss), name="validation loss",
            mode="lines+markers", line={"color": VALIDATION_COLOUR, "width": 2},
            hovertemplate="iteration %{x}: validation loss %{y:.4f}<extra></extra>",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=list(val_iterations), y=list(val_accuracy), name="validation accuracy",
            mode="lines+markers", line={"color": ACCURACY_COLOUR, "width": 2, "dash": "dot"},
            hovertemplate="iteration %{x}: accuracy %{y:.2%}<extra></extra>",
        ),
        secondary_y=True,
    )
    figure.update_xaxes(title_text="iteration (one minibatch)", range=[0, iterations] if iterations else None)
    figure.update_yaxes(title_text="cross-entropy loss", rangemode="tozero", secondary_y=False)
    # Round ticks of its own (not the loss axis's grid lines shared out as 21 %, 41 %, …).
    figure.update_yaxes(title_text="accuracy", range=[0, 1], tickformat=".0%", tickmode="array",
                        tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=False, secondary_y=True)
    figure.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    return _layout(figure, height=height)


def compare_figure(runs: Sequence[dict], *, height: int = 380) -> go.Figure:
    """Overlaid curves of several runs: loss (left) and validation accuracy (right).

    Each run is a dict with ``label``, ``arch``, ``train_loss`` ``(n,)``,
    ``val_iterations``, ``val_loss`` and ``val_accuracy``.
    """
    figure = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.08,
        subplot_titles=("training loss (dashed: validation)", "validation accuracy"),
    )
    for run in runs:
        colour = ARCH_COLOURS.get(run["arch"], "#333333")
        label = run["label"]
        figure.add_trace(
            go.Scatter(
                x=np.arange(1, len(run["train_loss"]) + 1), y=np.asarray(run["train_loss"], dtype=float),
                name=label, legendgroup=label, mode="lines", line={"color": colour, "width": 1.5},
                hovertemplate=f"{label}<br>iteration %{{x}}: loss %{{y:.4f}}<extra></extra>",
            ),
            row=1, col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=list(run["val_iterations"]), y=list(run["val_loss"]), name=label, legendgroup=label,
                showlegend=False, mode="lines", line={"color": colour, "width": 2, "dash": "dash"},
                hovertemplate=f"{label}<br>iteration %{{x}}: validation loss %{{y:.4f}}<extra></extra>",
            ),
            row=1, col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=list(run["val_iterations"]), y=list(run["val_accuracy"]), name=label,
                legendgroup=label, showlegend=False, mode="lines+markers", line={"color": colour, "width": 2},
                hovertemplate=f"{label}<br>iteration %{{x}}: accuracy %{{y:.2%}}<extra></extra>",
            ),
            row=1, col=2,
        )
    figure.update_xaxes(title_text="iteration")
    figure.update_yaxes(rangemode="tozero", row=1, col=1)
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    figure.update_layout(legend={"orientation": "h", "y": -0.2, "x": 0})
    return _layout(figure, height=height)


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str], *, height: int = 420) -> go.Figure:
    """Counts ``confusion[true, predicted]`` ``(10, 10)`` as an annotated heatmap."""
    confusion = np.asarray(confusion)
    names = [str(name) for name in class_names]
    # Off-diagonal cells (the mistakes) would vanish next to the diagonal's
    # hundreds on a linear scale; colour by row share instead, show counts as text.
    share = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    figure = go.Figure(
        go.Heatmap(
            z=share, x=names, y=names, text=confusion, texttemplate="%{text}",
            colorscale=PROBABILITY, zmin=0, zmax=1, showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text} images (%{z:.1%} of the %{y}s)<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="predicted", type="category", side="top")
    figure.update_yaxes(title_text="true", type="category", autorange="reversed")
    return _layout(figure, height=height)


def probability_figure(
    probabilities: np.ndarray, class_names: Sequence[str], *, height: int = 280
) -> go.Figure:
    """The ten class probabilities ``(10,)`` as bars, the predicted one highlighted."""
    probabilities = np.asarray(probabilities, dtype=float)
    winner = int(probabilities.argmax())
    colours = [ACCENT if index == winner else "#9bb7d4" for index in range(len(probabilities))]
    figure = go.Figure(
        go.Bar(
            x=[str(name) for name in class_names], y=probabilities, marker_color=colours,
            text=[f"{value:.0%}" if value >= 0.01 else "" for value in probabilities],
            textposition="outside",
            hovertemplate="%{x}: %{y:.4f}<extra></extra>",
        )
    )
    figure.update_xaxes(type="category", title_text="class")
    figure.update_yaxes(range=[0, 1.1], tickformat=".0%", title_text="probability")
    return _layout(figure, height=height)


def colour_range(name: str, values: np.ndarray) -> dict:
    """Colour scale and limits for a trace array called ``name`` (see :mod:`rnn_demo.trace`)."""
    if name in GATE_ARRAYS:
        return {"colorscale": SEQUENTIAL, "zmin": 0.0, "zmax": 1.0}
    if name in TANH_ARRAYS:
        return {"colorscale": DIVERGING, "zmid": 0.0, "zmin": -1.0, "zmax": 1.0}
    limit = max(float(np.abs(values).max()), 1e-6)
    return {"colorscale": DIVERGING, "zmid": 0.0, "zmin": -limit, "zmax": limit}


def state_figure(image16: np.ndarray, values: np.ndarray, name: str, label: str, *, height: int = 360) -> go.Figure:
    """The input beside one recurrent array over time.

    ``image16`` ``(16, 16)``: input, row t = timestep t. ``values`` ``(16, units)``:
    one array of a :class:`rnn_demo.trace.LayerTrace` (``name`` picks the colour
    scale, ``label`` titles it). Both panels share the vertical time axis.
    """
    values = np.asarray(values, dtype=float)
    units = values.shape[1]
    figure = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.02,
        column_widths=[0.2, 0.8], subplot_titles=("input rows", label),
    )
    figure.add_trace(_image_trace(np.asarray(image16, dtype=float)), row=1, col=1)
    figure.add_trace(
        go.Heatmap(
            z=values, x=np.arange(1, units + 1), y=ROWS,
            colorbar={"thickness": 12, "len": 0.9},
            hovertemplate="timestep %{y}, unit %{x}: %{z:.4f}<extra></extra>",
            **colour_range(name, values),
        ),
        row=1, col=2,
    )
    _row_axis(figure)
    figure.update_yaxes(title_text="row = timestep", row=1, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    figure.update_xaxes(title_text="unit", row=1, col=2)
    return _layout(figure, height=height)


def readout_figure(
    image16: np.ndarray,
    readout_probabilities: np.ndarray,
    row_importance: np.ndarray,
    class_names: Sequence[str],
    *,
    height: int = 380,
) -> go.Figure:
    """How the prediction forms, row by row.

    ``readout_probabilities`` ``(16, 10)``: row t = class probabilities if the
    image ended after row t. ``row_importance`` ``(16,)``: drop in the predicted
    class's probability when that row is blanked. Panels share the time axis.
    """
    names = [str(name) for name in class_names]
    readout = np.asarray(readout_probabilities, dtype=float)
    importance = np.asarray(row_importance, dtype=float)
    figure = make_subplots(
        rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03, column_widths=[0.22, 0.5, 0.28],
        subplot_titles=("input rows", "prediction if the image ended here", "row importance"),
    )
    figure.add_trace(_image_trace(np.asarray(image16, dtype=float)), row=1, col=1)
    figure.add_trace(
        go.Heatmap(
            z=readout, x=names, y=ROWS, colorscale=PROBABILITY, zmin=0, zmax=1,
            text=np.where(readout >= 0.5, np.vectorize(lambda value: f"{value:.0%}")(readout), ""),
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
    _row_axis(figure)
    figure.update_yaxes(title_text="row = timestep", row=1, col=1)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    figure.update_xaxes(type="category", title_text="class", row=1, col=2)
    figure.update_xaxes(title_text="probability drop", zeroline=True, row=1, col=3)
    figure.update_layout(showlegend=False)
    return _layout(figure, height=height)
