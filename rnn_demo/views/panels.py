"""Live panels as plain HTML: the Draw page's input and probabilities, and *watch it learn*.

These panels change many times a second (on every stroke, while the pen moves,
with every new set of weights during training), so they must cost the browser
less than a frame: small PNGs shown with crisp pixels and CSS bars render in
well under a millisecond, where Plotly charts took tens of milliseconds each to
re-send and redraw (the twenty subplots of *watch it learn* took so long in the
visitor's browser that, on the 2-core server with its co-located browser, the
live view's ticks fell from every 0.2 s to every 0.3–0.8 s, the training ran
~25 % slower and its results came ~0.7 s later). Pure functions from arrays to
strings, like :mod:`rnn_demo.views.figures`; the pages show them with ``st.html``.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image
from plotly.colors import sequential

from rnn_demo.views.figures import ACCENT

BAR_COLOUR = "#9bb7d4"  # the other classes' bars, as in figures.probability_figure
INPUT_PIXELS = 160  # on screen: 10 screen pixels per input pixel
RIGHT_COLOUR = "#1a7f37"  # a showcase guess that is right
WRONG_COLOUR = "#b42318"  # and one that is wrong
# Probability 0 … 1 as light … dark blue: the stops of the charts' "Blues" scale.
PROBABILITY_STOPS = np.array(
    [[int(part) for part in colour[4:-1].split(",")] for colour in sequential.Blues], dtype=np.float64
)  # (stops, 3)
PIXELATED = "image-rendering: pixelated; display: block; width: 100%"


def input_picture(image16: np.ndarray, *, pixels: int = INPUT_PIXELS) -> str:
    """An ``<img>`` of ``image16`` ``(16, 16)`` in [0, 1], white ink on black, ``pixels`` wide.

    The PNG holds the 16×16 values themselves (about 300 bytes); the browser
    enlarges it without smoothing, so each input pixel stays a square.
    """
    image = np.asarray(image16, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"expected a (height, width) image; got shape {image.shape}")
    return (
        f'<img src="{_grey_png(image)}" width="{pixels}" height="{pixels}" '
        f'alt="The model\'s {image.shape[0]}×{image.shape[1]} input" '
        'style="image-rendering: pixelated; border-radius: 4px; display: block">'
    )


def probability_bars(probabilities: np.ndarray, class_names: Sequence[str]) -> str:
    """The ``(n_classes,)`` probabilities as one labelled bar per class, the predicted one highlighted."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 1 or len(probabilities) != len(class_names):
        raise ValueError(
            f"expected one probability per class ({len(class_names)}); got shape {probabilities.shape}"
        )
    winner = int(probabilities.argmax())
    rows = []
    for index, (name, value) in enumerate(zip(class_names, probabilities, strict=True)):
        colour = ACCENT if index == winner else BAR_COLOUR
        weight = "700" if index == winner else "400"
        rows.append(
            f'<div title="{html.escape(str(name))}: {value:.4f}" style="display: flex; align-items: center; '
            f'gap: 0.5rem; font-weight: {weight}; line-height: 1.5">'
            f'<span style="width: 6.5rem; text-align: right; white-space: nowrap; overflow: hidden; '
            f'text-overflow: ellipsis">{html.escape(str(name))}</span>'
            '<span style="flex: 1; background: rgba(128, 128, 128, 0.12); border-radius: 3px; height: 1rem">'
            f'<span style="display: block; width: {value * 100:.1f}%; height: 100%; background: {colour}; '
            'border-radius: 3px"></span></span>'
            f'<span style="width: 3rem; text-align: right">{value:.0%}</span></div>'
        )
    return "<div>" + "".join(rows) + "</div>"


def _png_url(pixels: np.ndarray) -> str:
    """A ``data:`` URL of ``pixels`` ``(h, w)`` or ``(h, w, 3)`` uint8 as a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _grey_png(image: np.ndarray) -> str:
    """``image`` ``(h, w)`` in [0, 1] as a grey PNG's ``data:`` URL (white ink on black)."""
    return _png_url(np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8))


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


def image_tiles(images: np.ndarray, captions: Sequence[str], *, pixels: int = 64) -> str:
    """``images`` ``(k, h, w)`` in [0, 1] as a wrapping row of ``pixels``-wide tiles, each above its caption.

    One element with ``k`` small PNGs inside (a few hundred bytes each), where
    ``k`` separate images cost the browser ``k`` requests and layouts.
    """
    images = np.asarray(images)
    if images.ndim != 3 or len(images) != len(captions):
        raise ValueError(f"expected k images (k, h, w) and k captions; got {images.shape} and {len(captions)}")
    tiles = [
        f'<figure style="margin: 0; width: {pixels}px; text-align: center">'
        f'<img src="{_grey_png(image)}" alt="{html.escape(caption)}" width="{pixels}" height="{pixels}" '
        f'style="image-rendering: pixelated; display: block; border-radius: 2px">'
        f'<figcaption style="font-size: 0.75rem; opacity: 0.8">{html.escape(caption)}</figcaption></figure>'
        for image, caption in zip(images, captions, strict=True)
    ]
    return '<div style="display: flex; flex-wrap: wrap; gap: 6px">' + "".join(tiles) + "</div>"


def showcase_panel(
    images: np.ndarray, labels: Sequence[int], readout_probabilities: np.ndarray, class_names: Sequence[str]
) -> str:
    """*Watch it learn*: ``k`` digits side by side, each above its row-by-row readout.

    ``images`` ``(k, 16, 16)`` in [0, 1] and their true ``labels`` ``(k,)``;
    ``readout_probabilities`` ``(k, 16, 10)``: row t = the model's class
    probabilities had the image ended after row t (its last row is the model's
    answer). Each column is headed by the guess and how sure (green when right,
    red when wrong, also in its ``data-guess``/``data-right`` attributes), and
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
            f'<b>{names[guess]}</b> {answer[-1, guess]:.0%}</div>'
            f'<img src="{_grey_png(image)}" alt="a {names[int(label)]}" style="{PIXELATED}; aspect-ratio: 1">'
            f'<img src="{_png_url(probability_colours(answer))}" alt="its readout" '
            f'style="{PIXELATED}; aspect-ratio: {classes} / {rows}; outline: 1px solid rgba(128, 128, 128, 0.3)">'
            f'<div style="display: flex; justify-content: space-between; font-size: 0.6rem; opacity: 0.7">'
            f'<span>{names[0]}</span><span>{names[-1]}</span></div></div>'
        )
    return (
        f'<div style="display: grid; grid-template-columns: 1rem repeat({len(columns)}, minmax(0, 1fr)); '
        f'gap: 6px; align-items: end">{row_label}' + "".join(columns) + "</div>"
    )
