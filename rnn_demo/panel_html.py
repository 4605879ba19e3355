"""The Draw page's live prediction panel as plain HTML: the 16×16 input and the ten probabilities.

The panel changes on every stroke (and while the pen moves), so it must cost
the browser less than a frame: a 16×16 PNG shown with crisp pixels and ten CSS
bars render in well under a millisecond, where two Plotly charts took tens of
milliseconds each to re-send and redraw. Pure functions from arrays to strings,
like :mod:`rnn_demo.figures`; the page shows them with ``st.html``.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from rnn_demo.figures import ACCENT

BAR_COLOUR = "#9bb7d4"  # the other classes' bars, as in figures.probability_figure
INPUT_PIXELS = 160  # on screen: 10 screen pixels per input pixel


def input_picture(image16: np.ndarray, *, pixels: int = INPUT_PIXELS) -> str:
    """An ``<img>`` of ``image16`` ``(16, 16)`` in [0, 1], white ink on black, ``pixels`` wide.

    The PNG holds the 16×16 values themselves (about 300 bytes); the browser
    enlarges it without smoothing, so each input pixel stays a square.
    """
    image = np.asarray(image16, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"expected a (height, width) image; got shape {image.shape}")
    grey = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="PNG")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{encoded}" width="{pixels}" height="{pixels}" '
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
