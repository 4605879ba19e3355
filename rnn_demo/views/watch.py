"""Watch it learn: a fixed handful of validation digits, read by a model while it trains.

The digits are the same for every visitor and every run: the first validation
digit of each class (:func:`watch_indices`), so a class sees the network go
from guessing to reading the *same* ten digits. :func:`read_watch_digits` runs a
model's NumPy twin (built from the latest weights the worker sent, see
:func:`rnn_demo.compute.jobs.train`) on them, and :func:`watch_panel` shows the
result as plain HTML (see :mod:`rnn_demo.views.panels` for why not Plotly)::

    indices = watch_indices(dataset.y_valid)                        # (10,)
    reading = read_watch_digits(numpy_model, dataset.valid_sequences[indices])
    reading.guesses        # (10,) predicted classes
    reading.readout        # (10, 16, 10) probabilities had each image ended after row t

Plain NumPy (no Keras, no Streamlit).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from plotly.colors import sequential

from rnn_demo.twins.model import NumpyModel
from rnn_demo.views.panels import grey_png, png_url

# A guess that is right, and one that is wrong: marked ✓ and ✗ too, since red and green
# are the pair colour-blind viewers confuse most.
RIGHT_COLOUR = "#1a7f37"
WRONG_COLOUR = "#b42318"
# Probability 0 … 1 as light … dark blue: the stops of the charts' "Blues" scale.
PROBABILITY_STOPS = np.array(
    [[int(part) for part in colour[4:-1].split(",")] for colour in sequential.Blues], dtype=np.float64
)  # (stops, 3)
PIXELATED = "image-rendering: pixelated; display: block; width: 100%"


def watch_indices(labels, classes: int = 10) -> np.ndarray:
    """``(k,)`` the index of the first digit of each class present in ``labels`` ``(n,)``, by class."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"expected labels of shape (n,); got {labels.shape}")
    return np.array([int(np.flatnonzero(labels == label)[0]) for label in range(classes)
                     if np.any(labels == label)], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class WatchReading:
    """What a model makes of the watched digits: ``readout`` ``(k, 16, 10)`` (row t:
    probabilities had the image ended after row t), ``probabilities`` ``(k, 10)``
    (after all 16 rows) and ``guesses`` ``(k,)``."""

    readout: np.ndarray
    probabilities: np.ndarray
    guesses: np.ndarray


def read_watch_digits(numpy_model: NumpyModel, images) -> WatchReading:
    """Read ``images`` ``(k, 16, 16)`` with ``numpy_model``: one batch, a few milliseconds."""
    readout = numpy_model.predict_readout(images)  # (k, 16, 10)
    probabilities = readout[:, -1]  # after all 16 rows: the model's own answer
    return WatchReading(readout, probabilities, probabilities.argmax(axis=-1))


def probability_colours(values: np.ndarray) -> np.ndarray:
    """``values`` ``(...)`` in [0, 1] as ``(..., 3)`` uint8 RGB on the light-to-dark blue scale."""
    positions = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0) * (len(PROBABILITY_STOPS) - 1)
    channels = [np.interp(positions, np.arange(len(PROBABILITY_STOPS)), PROBABILITY_STOPS[:, channel])
                for channel in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)


def first_right_row(readout: np.ndarray, label: int) -> int | None:
    """The row (1-based) from which ``readout`` ``(16, classes)`` guesses ``label`` to the end, or None."""
    right = np.asarray(readout).argmax(axis=-1) == int(label)
    if not right[-1]:
        return None
    wrong = np.flatnonzero(~right)
    return int(wrong[-1]) + 2 if len(wrong) else 1


def watch_panel(
    images: np.ndarray, labels: Sequence[int], readout_probabilities: np.ndarray, class_names: Sequence[str]
) -> str:
    """*Watch it learn*: ``k`` digits side by side, each above its row-by-row readout.

    ``images`` ``(k, 16, 16)`` in [0, 1] and their true ``labels`` ``(k,)``;
    ``readout_probabilities`` ``(k, 16, 10)``: row t = the model's class
    probabilities had the image ended after row t (its last row is the model's
    answer). Each column is headed by the guess and how sure (✓ and green when right,
    ✗ and red when wrong, also in its ``data-guess``/``data-right`` attributes), and
    says on hover from which row on the model reads it right; the readout's
    rows line up with the image's.
    """
    images = np.asarray(images)
    readout = np.asarray(readout_probabilities)
    if images.ndim != 3 or readout.ndim != 3 or len(images) != len(readout) or len(labels) != len(images):
        raise ValueError(
            f"expected k images (k, h, w), k labels and k readouts (k, rows, classes); got "
            f"{images.shape}, {len(labels)} and {readout.shape}"
        )
    if readout.shape[-1] != len(class_names):
        raise ValueError(f"expected {len(class_names)} classes in the readout; got {readout.shape[-1]}")
    names = [html.escape(str(name)) for name in class_names]
    rows, classes = readout.shape[1:]
    # Beside the first readout, reading upwards: which row each readout row is after.
    row_label = (
        '<div style="writing-mode: vertical-rl; transform: rotate(180deg); font-size: 0.7rem; '
        'opacity: 0.7; padding-top: 1rem; white-space: nowrap">after row 1 → 16</div>'
    )
    columns = []
    for image, label, answer in zip(images, labels, readout, strict=True):
        guess = int(answer[-1].argmax())
        right = guess == int(label)
        from_row = first_right_row(answer, int(label))
        hover = f"true {names[int(label)]}, read as {names[guess]} ({answer[-1, guess]:.0%})"
        hover += f"; read right from row {from_row} on" if from_row else "; not read right yet"
        colour = RIGHT_COLOUR if right else WRONG_COLOUR
        columns.append(
            f'<div title="{hover}" data-guess="{names[guess]}" data-right="{str(right).lower()}" '
            f'style="display: flex; flex-direction: column; gap: 3px; min-width: 0">'
            f'<div style="text-align: center; color: {colour}; white-space: nowrap; font-size: 0.85rem">'
            f'{"✓" if right else "✗"} <b>{names[guess]}</b> {answer[-1, guess]:.0%}</div>'
            f'<img src="{grey_png(image)}" alt="a {names[int(label)]}" style="{PIXELATED}; aspect-ratio: 1">'
            f'<img src="{png_url(probability_colours(answer))}" alt="its readout" '
            f'style="{PIXELATED}; aspect-ratio: {classes} / {rows}; outline: 1px solid rgba(128, 128, 128, 0.3)">'
            f'<div style="display: flex; justify-content: space-between; font-size: 0.6rem; opacity: 0.7">'
            f'<span>{names[0]}</span><span>{names[-1]}</span></div></div>'
        )
    return (
        f'<div style="display: grid; grid-template-columns: 1rem repeat({len(columns)}, minmax(0, 1fr)); '
        f'gap: 6px; align-items: end">{row_label}' + "".join(columns) + "</div>"
    )
