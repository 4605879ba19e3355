"""Live panels as plain HTML: the Draw page's input and probabilities, and image tiles.

These panels change many times a second (on every stroke, while the pen moves),
so they must cost the browser less than a frame: small PNGs shown with crisp
pixels and CSS bars render in well under a millisecond, where a Plotly chart
takes tens of milliseconds to re-send and redraw. Pure functions from arrays to
strings, like :mod:`rnn_demo.views.figures`; the pages show them with ``st.html``.
*Watch it learn*'s panel is built the same way, in :mod:`rnn_demo.views.watch`.
See docs/performance.md.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from rnn_demo.views.figures import ACCENT, BAR_COLOUR

INPUT_PIXELS = 160  # on screen: 10 screen pixels per input pixel


def input_picture(image16: np.ndarray, *, pixels: int = INPUT_PIXELS) -> str:
    """An ``<img>`` of ``image16`` ``(16, 16)`` in [0, 1], white ink on black, ``pixels`` wide.

    The PNG holds the 16×16 values themselves (about 300 bytes); the browser
    enlarges it without smoothing, so each input pixel stays a square.
    """
    image = np.asarray(image16, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"expected a (height, width) image; got shape {image.shape}")
    return (
        f'<img src="{grey_png(image)}" width="{pixels}" height="{pixels}" '
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


def png_url(pixels: np.ndarray) -> str:
    """A ``data:`` URL of ``pixels`` ``(h, w)`` or ``(h, w, 3)`` uint8 as a PNG."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grey_png(image: np.ndarray) -> str:
    """``image`` ``(h, w)`` in [0, 1] as a grey PNG's ``data:`` URL (white ink on black)."""
    return png_url(np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8))


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
        f'<img src="{grey_png(image)}" alt="{html.escape(caption)}" width="{pixels}" height="{pixels}" '
        f'style="image-rendering: pixelated; display: block; border-radius: 2px">'
        f'<figcaption style="font-size: 0.75rem; opacity: 0.8">{html.escape(caption)}</figcaption></figure>'
        for image, caption in zip(images, captions, strict=True)
    ]
    return '<div style="display: flex; flex-wrap: wrap; gap: 6px">' + "".join(tiles) + "</div>"
