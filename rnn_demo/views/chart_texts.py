"""Short text alternatives for the charts: what each one shows, in a sentence or two.

A screen reader reads the text as the chart's accessible name (the app shows
every chart through :func:`rnn_demo.ui.charts.chart`). Each function takes the
same arrays as its figure builder in :mod:`rnn_demo.views.figures`,
:mod:`rnn_demo.views.inside_figures` or :mod:`rnn_demo.views.class_figures`
and says what a sighted reader would take from the picture: its kind, its axes,
and the one fact that stands out. Pure functions, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LISTED_RUNS = 6  # runs named one by one in a sentence; more are counted


def image_text(image: np.ndarray, title: str | None = None) -> str:
    """``image`` ``(h, w)`` in [0, 1], shown as a picture."""
    height, width = np.shape(image)
    what = f"{title}: a" if title else "A"
    return f"{what} {height}×{width} picture of the digit, white ink on black."


def sequence_text(image16: np.ndarray) -> str:
    """The image beside its rows pulled apart (:func:`rnn_demo.views.figures.sequence_figure`)."""
    ink = np.asarray(image16, dtype=float).sum(axis=1)  # (16,)
    inked = np.flatnonzero(ink > 0.05 * max(ink.max(), 1e-9)) + 1
    rows = f"; the ink is in rows {inked[0]} to {inked[-1]}" if len(inked) else ""
    return (f"The {len(ink)}×{np.shape(image16)[1]} digit beside its {len(ink)} rows pulled apart: "
            f"timestep t reads row t as its input x_t of {np.shape(image16)[1]} numbers{rows}.")


def training_curves_text(
    train_loss: Sequence[float], val_iterations: Sequence[int], val_loss: Sequence[float],
    val_accuracy: Sequence[float], *, iterations: int | None = None,
) -> str:
    """Loss and validation accuracy against iteration (:func:`rnn_demo.views.figures.training_curves`)."""
    planned = f" of {iterations}" if iterations else ""
    if not len(train_loss):
        return f"Training curves, empty until the first{planned} iterations: loss and validation accuracy."
    text = (f"Training curves after {len(train_loss)}{planned} iterations: the training loss went from "
            f"{train_loss[0]:.2f} to {train_loss[-1]:.2f}")
    if len(val_accuracy):
        text += (f"; at iteration {val_iterations[-1]} the validation loss is {val_loss[-1]:.2f} and "
                 f"the validation accuracy {val_accuracy[-1]:.0%}")
    return text + "."


def _listed(parts: list[str]) -> str:
    shown = "; ".join(parts[:LISTED_RUNS])
    return shown + (f"; and {len(parts) - LISTED_RUNS} more" if len(parts) > LISTED_RUNS else "")


def compare_text(runs: Sequence[dict]) -> str:
    """Several runs' curves (:func:`rnn_demo.views.figures.compare_figure`; the same ``runs``)."""
    if not runs:
        return "Loss and validation accuracy curves, with no run to show yet."
    parts = []
    for run in runs:
        part = f"{run['label']}: loss {run['train_loss'][-1]:.2f}" if len(run["train_loss"]) else run["label"]
        if len(run["val_accuracy"]):
            part += f", accuracy {run['val_accuracy'][-1]:.0%}"
        parts.append(part)
    return f"Training loss and validation accuracy of {len(runs)} runs against iteration. At the end, {_listed(parts)}."


def board_text(runs: Sequence[dict]) -> str:
    """The class board's curves (:func:`rnn_demo.views.class_figures.board_curves_figure`)."""
    finished = [run for run in runs if len(run["val_accuracy"])]
    if not finished:
        return f"Validation accuracy of the class's runs against iteration; {len(runs)} runs, none measured yet."
    best = max(finished, key=lambda run: run["val_accuracy"][-1])
    return (f"Validation accuracy of {len(runs)} runs posted to the class, against iteration, one colour "
            f"per recipe. The best so far: {best['label']} ({best['recipe']}), {best['val_accuracy'][-1]:.0%}.")


def confusion_text(confusion: np.ndarray, class_names: Sequence[str]) -> str:
    """Counts ``confusion[true, predicted]`` ``(k, k)`` (:func:`rnn_demo.views.figures.confusion_figure`)."""
    confusion = np.asarray(confusion)
    total, right = int(confusion.sum()), int(np.trace(confusion))
    text = (f"Confusion matrix of {total} validation digits, true class down, predicted across: "
            f"{right} ({right / max(total, 1):.0%}) read right")
    mistakes = confusion - np.diag(np.diag(confusion))
    if mistakes.any():
        true, predicted = np.unravel_index(int(mistakes.argmax()), mistakes.shape)
        text += (f"; the most common mistake is a {class_names[true]} read as {class_names[predicted]} "
                 f"({int(mistakes[true, predicted])} times)")
    return text + "."


def state_text(values: np.ndarray, label: str) -> str:
    """One array ``values`` ``(16, units)`` over time (:func:`rnn_demo.views.inside_figures.state_figure`)."""
    values = np.asarray(values, dtype=float)
    timesteps, units = values.shape
    row, unit = np.unravel_index(int(np.abs(values).argmax()), values.shape)
    return (f"Heatmap of {label}, {units} units across, over the {timesteps} rows read, beside the input rows; "
            f"the strongest value, {values[row, unit]:.2f}, is unit {unit + 1}'s at row {row + 1}.")


def _leading_from(readout: np.ndarray) -> int:
    """The row (1-based) from which ``readout`` ``(16, k)``'s top class is its final one."""
    top = readout.argmax(axis=1)
    other = np.flatnonzero(top != top[-1])
    return int(other[-1]) + 2 if len(other) else 1


def readout_text(readout_probabilities: np.ndarray, row_importance: np.ndarray,
                 class_names: Sequence[str]) -> str:
    """How the prediction forms (:func:`rnn_demo.views.inside_figures.readout_figure`)."""
    readout = np.asarray(readout_probabilities, dtype=float)
    importance = np.asarray(row_importance, dtype=float)
    winner = int(readout[-1].argmax())
    return (f"How the prediction forms row by row: after all {len(readout)} rows the model says "
            f"{class_names[winner]} ({readout[-1, winner]:.0%}), its top answer from row {_leading_from(readout)} "
            f"on; blanking row {int(importance.argmax()) + 1} lowers that answer most.")


def step_through_text(states: np.ndarray, readout_probabilities: np.ndarray, class_names: Sequence[str],
                      state_label: str) -> str:
    """The reading as an animation (:func:`rnn_demo.views.inside_figures.step_through_figure`)."""
    readout = np.asarray(readout_probabilities, dtype=float)
    winner = int(readout[-1].argmax())
    return (f"Animation of the digit read one row at a time, {len(readout)} frames: the row being read, "
            f"{state_label} filling in row by row, and the prediction so far. After the last row it is "
            f"{class_names[winner]} ({readout[-1, winner]:.0%}), the top answer from row "
            f"{_leading_from(readout)} on.")


def gradient_norms_text(models: Sequence[dict]) -> str:
    """Gradient norms through time (:func:`rnn_demo.views.inside_figures.gradient_norms_figure`; same ``models``)."""
    parts = []
    for model in models:
        norms = next(iter(model["hidden"].values()))
        norms = np.asarray(norms, dtype=float)
        parts.append(f"{model['title']}: {norms[-1]:.1e} at row {len(norms)}, {norms[0]:.1e} at row 1")
    return ("Gradient size at each row, ‖∂L/∂h_t‖ of the first layer on a log scale, rows down the side; "
            + "; ".join(parts) + ".")


def state_plane_text(points: np.ndarray, labels: np.ndarray, path: np.ndarray,
                     class_names: Sequence[str]) -> str:
    """Where the digits live (:func:`rnn_demo.views.inside_figures.state_plane_figure`)."""
    points, labels, path = np.asarray(points, dtype=float), np.asarray(labels), np.asarray(path, dtype=float)
    present = [index for index in range(len(class_names)) if np.any(labels == index)]
    centres = np.array([points[labels == index].mean(axis=0) for index in present])  # (classes, 2)
    nearest = present[int(np.linalg.norm(centres - path[-1], axis=1).argmin())]
    return (f"Scatter plot of {len(points):,} digits' final states on two principal components, one colour per "
            f"class, and this digit's path as it is read row by row; the path ends nearest the "
            f"{class_names[nearest]}s.")
