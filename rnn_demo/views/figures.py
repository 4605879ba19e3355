"""Plotly figures for the app, each a pure function from arrays to a ``go.Figure``.

This module holds the style every figure shares (colours, :func:`apply_layout`,
the row axis, the input image) and the training figures (curves, comparison,
confusion); the figures of what happens inside a model are in
:mod:`rnn_demo.views.inside_figures`. Nothing here imports Streamlit or Keras,
so every figure can be built and checked in a plain test. Conventions shared by all figures:

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
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from rnn_demo.config import ARCHITECTURES

INK = "Greys_r"  # white ink on black, as the model sees it
# Probabilities and shares, 0 … 1: light to dark in one hue, which reads the same with
# any colour vision (only lightness changes).
PROBABILITY = "Blues"
# Colours that colour-blind viewers can tell apart (tests/test_figures.py checks them
# under simulated deuteranopia, protanopia and tritanopia): Plotly's qualitative "Safe"
# palette (CARTO's "Safe", built on Paul Tol's "muted" scheme), its first ten colours.
# One colour per class wherever classes are coloured.
CLASS_COLOURS = tuple(qualitative.Safe[:10])
# The same palette's members dark enough for a thin line on white (at least 3:1, WCAG's
# contrast for graphics): recipes, layers and training curves.
LINE_COLOURS = tuple(CLASS_COLOURS[index] for index in (4, 1, 3, 8, 5, 7, 9))
ACCENT = "#e4572e"  # the predicted class, the row being read
BAR_COLOUR = "#9bb7d4"  # the other classes' bars
LOSS_COLOUR, VALIDATION_COLOUR, ACCURACY_COLOUR = LINE_COLOURS[:3]
# One colour per architecture, so the same recipe looks the same everywhere.
ARCH_COLOURS = dict(zip(ARCHITECTURES, LINE_COLOURS, strict=False))
ROWS = np.arange(1, 17)  # rows and timesteps, from 1
# Every chart's text, in px: ticks, axis titles, legends, colour bars, annotations. 16 px is
# what a class reads on a projector at 1280×720 (tests/test_browser_chart_text.py checks it);
# titles are a little larger. Subplot titles are Plotly's 16 px already.
FONT_SIZE = 16
TITLE_SIZE = 18
LINE_PX = 24  # one line of a title at TITLE_SIZE, with its spacing


def wrapped(text: str, characters: int = 20) -> str:
    """Our own fixed ``text`` (never a visitor's) broken with ``<br>`` into lines of about
    ``characters``, so that a title fits a narrow chart instead of running off its edge."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= characters:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _title_lines(figure: go.Figure, title: str | None) -> int:
    """Lines in the tallest of ``title`` and the figure's annotations (its subplot titles); 0: none."""
    texts = [title] if title else []
    texts += [note.text for note in figure.layout.annotations if note.text]
    return max((text.count("<br>") + 1 for text in texts), default=0)


def apply_layout(figure: go.Figure, *, height: int, title: str | None = None, top: int | None = None,
                 font_size: int = FONT_SIZE) -> go.Figure:
    """Shared layout: ``font_size`` text; ``top`` margin defaults to room for the lines
    of a title or of subplot titles. Axes push the margins out for their labels (automargin).

    Each kind of text gets its size by name: Streamlit's chart theme sets the axes' and
    legends' own fonts (12 px), which a figure-wide ``layout.font`` does not override.
    """
    lines = _title_lines(figure, title)
    size = {"size": font_size}
    figure.update_layout(
        height=height,
        font=size,
        margin={"l": 10, "r": 10, "t": top if top is not None else 16 + LINE_PX * lines, "b": 10},
        # Hung from the figure's top edge (a two-line title centred in the margin reached the
        # first tick label); Plotly anchors a title's first line, so the pad makes room for the rest.
        title={"text": title, "x": 0, "xanchor": "left", "y": 1, "yref": "container", "yanchor": "top",
               "pad": {"t": 6 + LINE_PX * title.count("<br>")}, "font": {"size": font_size + 2}} if title else None,
        template="plotly_white",
        legend={"font": size, "title": {"font": size}},
    )
    for axes in (figure.update_xaxes, figure.update_yaxes):
        axes(automargin=True, tickfont=size, title_font=size)
    figure.update_traces(colorbar={"tickfont": size, "title": {"font": size}}, textfont=size,
                         selector={"type": "heatmap"})
    figure.update_traces(textfont=size, selector={"type": "scatter"})
    for control in (*figure.layout.sliders, *figure.layout.updatemenus):
        control.font = size
    for slider in figure.layout.sliders:
        slider.currentvalue.font = size
    return figure


def row_axis(figure: go.Figure, **where) -> None:
    """A vertical axis of rows/timesteps 1…16, row 1 at the top."""
    figure.update_yaxes(autorange="reversed", tickmode="array", tickvals=[1, 4, 8, 12, 16], **where)


def image_trace(image: np.ndarray, *, show_scale: bool = False) -> go.Heatmap:
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
    figure = go.Figure(image_trace(np.asarray(image, dtype=float)))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain", showticklabels=False)
    figure.update_xaxes(constrain="domain", showticklabels=False)
    return apply_layout(figure, height=height, title=title)


def sequence_figure(image16: np.ndarray, *, height: int = 480) -> go.Figure:
    """How an image becomes a sequence: ``image16`` ``(16, 16)`` with each row labelled
    as the timestep that reads it (row t → input vector x_t of 16 numbers)."""
    image16 = np.asarray(image16, dtype=float)
    figure = make_subplots(
        rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.02,
        subplot_titles=("the 16×16 image", wrapped("…read one row per timestep", 16)),
    )
    figure.add_trace(image_trace(image16), row=1, col=1)
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
    figure.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    figure.update_yaxes(scaleanchor="x", row=1, col=1)
    # Each row's timestep as a tick label on the right: the axis makes room for them.
    figure.update_yaxes(showticklabels=True, side="right", tickmode="array", tickvals=ROWS,
                        ticktext=[f"t={row} → x<sub>{row}</sub>" for row in ROWS], row=1, col=2)
    figure.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    return apply_layout(figure, height=height)


def _curve_points(train_loss, val_iterations, val_loss, val_accuracy) -> list[dict]:
    """The x and y of :func:`training_curves`' three traces, in trace order."""
    return [
        {"x": np.arange(1, len(train_loss) + 1), "y": np.asarray(train_loss, dtype=float)},
        {"x": list(val_iterations), "y": list(val_loss)},
        {"x": list(val_iterations), "y": list(val_accuracy)},
    ]


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
    into a frame that does not jump (and :func:`refresh_training_curves` can add
    points to it).
    """
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    loss, validation, accuracy = _curve_points(train_loss, val_iterations, val_loss, val_accuracy)
    figure.add_trace(
        go.Scatter(
            **loss, name="training loss (this batch)",
            mode="lines", line={"color": LOSS_COLOUR, "width": 1.5},
            hovertemplate="iteration %{x}: loss %{y:.4f}<extra></extra>",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            **validation, name="validation loss",
            mode="lines+markers", line={"color": VALIDATION_COLOUR, "width": 2},
            hovertemplate="iteration %{x}: validation loss %{y:.4f}<extra></extra>",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            **accuracy, name="validation accuracy",
            mode="lines+markers", line={"color": ACCURACY_COLOUR, "width": 2, "dash": "dot"},
            hovertemplate="iteration %{x}: accuracy %{y:.2%}<extra></extra>",
        ),
        secondary_y=True,
    )
    figure.update_xaxes(title_text="iteration (one minibatch)", range=[0, iterations] if iterations else None)
    figure.update_yaxes(title_text="cross-entropy loss", rangemode="tozero", secondary_y=False)
    # Round ticks of its own (not the loss axis's grid lines shared out as 21 %, 41 %, …).
    # Its labels stand off the axis: "0%" sat on the iteration axis's last label.
    figure.update_yaxes(title_text="accuracy", range=[0, 1], tickformat=".0%", tickmode="array",
                        tickvals=[0, 0.25, 0.5, 0.75, 1], showgrid=False, ticklabelstandoff=8, secondary_y=True)
    figure.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    return apply_layout(figure, height=height)


def curves_of(figure: go.Figure) -> tuple:
    """``(train_loss, val_iterations, val_loss, val_accuracy)`` as drawn in ``figure`` (a
    :func:`training_curves` figure): what its text alternative describes."""
    loss, validation, accuracy = figure.data
    return loss.y if loss.y is not None else (), validation.x or (), validation.y or (), accuracy.y or ()


def refresh_training_curves(
    figure: go.Figure,
    train_loss: Sequence[float],
    val_iterations: Sequence[int],
    val_loss: Sequence[float],
    val_accuracy: Sequence[float],
) -> go.Figure:
    """``figure`` (made by :func:`training_curves`) changed in place to show these points.

    The result equals a new :func:`training_curves` of the same points and
    length. It is the live view's redraw: building a figure costs tens of
    milliseconds (Plotly validates the template and the subplot axes), setting
    three traces' points well under one.
    """
    with figure.batch_update():
        for trace, points in zip(figure.data, _curve_points(train_loss, val_iterations, val_loss, val_accuracy),
                                 strict=True):
            trace.update(points)
    return figure


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
    return apply_layout(figure, height=height)


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
    return apply_layout(figure, height=height)
