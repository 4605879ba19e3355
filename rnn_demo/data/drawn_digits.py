"""Digits drawn the way people draw them on the app's canvas: a test set.

Real MNIST digits were written with a pen on paper and scanned; the app's
visitors draw with a mouse or a finger on a 280×280 canvas with a round
white brush 22 pixels wide. This module makes a deterministic set of such
drawings so a model can be scored on them:

- :data:`TEMPLATES`: for each digit 0–9, several styles people use (a "7" with
  and without a bar, a "1" with a flag and with a base, an open and a closed
  "4", a "9" with a straight or a curved tail, an "8" in one stroke or two
  circles …), each a list of strokes, each stroke a polyline in a unit box
  (x to the right, y down, the digit's height spanning 0 → 1);
- :func:`render`: one drawing of a template — its size on the canvas, slant,
  width, brush thickness, position and a slight hand tremor — as the canvas
  returns it, ``(280, 280, 4)`` uint8 RGBA, white round-capped strokes on black
  (drawn at twice the size and averaged down, as the browser antialiases);
- :func:`drawn_digit_set`: every template in :data:`VARIATIONS` seeded drawings,
  passed through the app's own :func:`rnn_demo.data.canvas.preprocess_canvas`, so the
  result is exactly what a model reads: ``(n, 16, 16)`` float32 and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from rnn_demo.data.canvas import CANVAS_PIXELS, STROKE_WIDTH, CanvasInput, preprocess_canvas

SUPERSAMPLE = 2
VARIATIONS = 9  # drawings per template
SEED = 2026
# Drawing variations, uniform in these ranges.
HEIGHT_RANGE = (0.3, 0.9)  # the digit's height as a fraction of the canvas
SLANT_RANGE = (-0.2, 0.4)  # horizontal lean per unit of height (positive leans right)
WIDTH_RANGE = (0.8, 1.2)  # the digit's width relative to its template
BRUSH_WIDTHS = (16, 22, 22, 30)  # canvas pixels: thinner, the app's, thicker (other devices)
TREMOR = 0.012  # hand tremor: smooth random offsets, in units of the digit's height

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float, points: int = 0) -> Stroke:
    """Points on an ellipse from angle ``start`` to ``stop`` (degrees; 0 = right,
    90 = down, so increasing angles turn clockwise on screen)."""
    count = points or max(4, int(abs(stop - start) / 10) + 1)
    angles = np.deg2rad(np.linspace(start, stop, count))
    return [(cx + rx * float(np.cos(a)), cy + ry * float(np.sin(a))) for a in angles]


def _figure_eight(upper: float, lower: float) -> Stroke:
    """One-stroke "8": from the top, down the left of the upper loop, through the
    crossing, round the lower loop and back up the right of the upper loop."""
    turns = np.linspace(0, 2 * np.pi, 61)
    y = 0.5 - 0.5 * np.cos(turns)
    width = np.where(y < 0.5, upper, lower)
    x = 0.5 - width * np.sin(2 * turns)
    return list(zip(x.tolist(), y.tolist(), strict=True))


def _join(*parts: Stroke) -> Stroke:
    return [point for part in parts for point in part]


TEMPLATES: dict[int, dict[str, list[Stroke]]] = {
    0: {
        "oval": [arc(0.5, 0.5, 0.3, 0.5, -90, 270)],
        "round, overlapping": [arc(0.5, 0.5, 0.38, 0.5, -100, 285)],
        "anticlockwise, narrow": [arc(0.5, 0.5, 0.24, 0.5, -80, -445)],
    },
    1: {
        "stick": [[(0.5, 0.0), (0.5, 1.0)]],
        "flag": [[(0.3, 0.22), (0.55, 0.0), (0.55, 1.0)]],
        "flag and base": [[(0.3, 0.22), (0.55, 0.0), (0.55, 1.0)], [(0.3, 1.0), (0.8, 1.0)]],
        "leaning stick": [[(0.62, 0.0), (0.42, 1.0)]],
    },
    2: {
        "swan": [_join(arc(0.5, 0.3, 0.32, 0.3, 200, 380), [(0.15, 1.0), (0.88, 1.0)])],
        "looped base": [
            _join(arc(0.5, 0.3, 0.32, 0.3, 200, 380), [(0.25, 0.85)],
                  arc(0.3, 0.88, 0.1, 0.1, -60, -330), [(0.88, 0.95)])
        ],
        "angular": [[(0.18, 0.18), (0.5, 0.0), (0.8, 0.15), (0.8, 0.35), (0.15, 1.0), (0.85, 1.0)]],
    },
    3: {
        "two bumps": [_join(arc(0.5, 0.26, 0.3, 0.26, 200, 450), arc(0.5, 0.76, 0.34, 0.25, -90, 150))],
        "flat top": [_join([(0.2, 0.0), (0.8, 0.0), (0.45, 0.42)], arc(0.5, 0.72, 0.33, 0.28, -100, 150))],
        "small top": [_join(arc(0.48, 0.22, 0.24, 0.22, 190, 440), arc(0.48, 0.7, 0.36, 0.3, -95, 145))],
    },
    4: {
        "open": [[(0.4, 0.0), (0.15, 0.62), (0.88, 0.62)], [(0.66, 0.3), (0.66, 1.0)]],
        "closed": [[(0.68, 1.0), (0.68, 0.0), (0.1, 0.66), (0.9, 0.66)]],
        "open, upright": [[(0.2, 0.0), (0.2, 0.56), (0.85, 0.56)], [(0.7, 0.0), (0.7, 1.0)]],
    },
    5: {
        "two strokes": [
            _join([(0.32, 0.0), (0.26, 0.45)], arc(0.46, 0.7, 0.34, 0.28, -120, 150)),
            [(0.32, 0.0), (0.82, 0.0)],
        ],
        "one stroke": [_join([(0.82, 0.0), (0.3, 0.0), (0.25, 0.45)], arc(0.46, 0.7, 0.34, 0.28, -120, 150))],
        "square belly": [
            _join([(0.8, 0.0), (0.25, 0.0), (0.22, 0.42), (0.65, 0.42), (0.8, 0.6),
                   (0.78, 0.85), (0.55, 1.0), (0.2, 0.92)])
        ],
    },
    6: {
        "curved stem": [
            _join([(0.72, 0.0), (0.45, 0.15), (0.28, 0.4), (0.22, 0.68)], arc(0.5, 0.74, 0.28, 0.26, 180, 540))
        ],
        "straight stem": [_join([(0.58, 0.0), (0.25, 0.7)], arc(0.5, 0.76, 0.26, 0.24, 160, 520))],
        "small loop": [_join([(0.65, 0.0), (0.3, 0.45), (0.25, 0.8)], arc(0.45, 0.82, 0.2, 0.18, 180, 530))],
    },
    7: {
        "plain": [[(0.12, 0.0), (0.88, 0.0), (0.42, 1.0)]],
        "barred": [[(0.12, 0.0), (0.88, 0.0), (0.42, 1.0)], [(0.35, 0.5), (0.82, 0.5)]],
        "curved stem": [[(0.12, 0.04), (0.88, 0.0), (0.7, 0.3), (0.55, 0.65), (0.5, 1.0)]],
        "hooked": [[(0.12, 0.18), (0.12, 0.0), (0.88, 0.0), (0.45, 1.0)]],
    },
    8: {
        "one stroke": [_figure_eight(0.26, 0.34)],
        "two circles": [arc(0.5, 0.23, 0.24, 0.23, -90, 270), arc(0.5, 0.72, 0.31, 0.28, -90, 270)],
        "one stroke, narrow": [_figure_eight(0.2, 0.26)],
    },
    9: {
        "straight tail": [_join(arc(0.45, 0.27, 0.28, 0.27, 0, -360), [(0.73, 0.27), (0.7, 1.0)])],
        "curved tail": [
            _join(arc(0.45, 0.27, 0.28, 0.27, 0, -360), [(0.73, 0.3), (0.72, 0.7), (0.6, 0.95), (0.35, 1.0)])
        ],
        "from the top": [_join(arc(0.47, 0.28, 0.28, 0.28, -40, -400), [(0.72, 0.5), (0.62, 1.0)])],
    },
}


@dataclass(frozen=True)
class Drawing:
    """How one template is drawn: ``height`` (fraction of the canvas), ``slant``,
    ``width`` (relative), ``brush`` (canvas pixels), ``centre`` (x, y in canvas
    pixels) and ``tremor_seed``."""

    height: float
    slant: float
    width: float
    brush: int
    centre: tuple[float, float]
    tremor_seed: int


def random_drawing(rng: np.random.Generator) -> Drawing:
    """A drawing's variations, uniform in the module's ranges; the digit stays on the canvas."""
    height = rng.uniform(*HEIGHT_RANGE)
    slant = rng.uniform(*SLANT_RANGE)
    width = rng.uniform(*WIDTH_RANGE)
    brush = int(rng.choice(BRUSH_WIDTHS))
    half_height = height * CANVAS_PIXELS / 2
    half_width = half_height * (width + abs(slant))
    middle = CANVAS_PIXELS / 2
    # Anywhere that keeps the digit's box (and the brush) on the canvas; a box
    # wider than the canvas allows stays in the middle.
    reach_x = max(0.0, middle - half_width - STROKE_WIDTH)
    reach_y = max(0.0, middle - half_height - STROKE_WIDTH)
    centre_x = middle + rng.uniform(-reach_x, reach_x)
    centre_y = middle + rng.uniform(-reach_y, reach_y)
    return Drawing(height, slant, width, brush, (centre_x, centre_y), int(rng.integers(2**31)))


def render(strokes: list[Stroke], drawing: Drawing) -> np.ndarray:
    """The canvas's ``image_data`` for ``strokes`` drawn as ``drawing`` says:
    ``(280, 280, 4)`` uint8, white round-capped strokes on opaque black."""
    size = CANVAS_PIXELS * SUPERSAMPLE
    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    rng = np.random.default_rng(drawing.tremor_seed)
    scale = drawing.height * CANVAS_PIXELS * SUPERSAMPLE
    centre_x, centre_y = (coordinate * SUPERSAMPLE for coordinate in drawing.centre)
    radius = drawing.brush * SUPERSAMPLE / 2
    for stroke in strokes:
        points = np.asarray(stroke, dtype=np.float64)  # (m, 2): x, y in the unit box
        # Tremor: random offsets at a few knots, linearly interpolated (a hand
        # wobbles slowly, not from point to point).
        knots = rng.normal(0.0, TREMOR, (4, 2))
        along = np.linspace(0, 3, len(points))
        wobble = np.stack([np.interp(along, np.arange(4), knots[:, axis]) for axis in (0, 1)], axis=1)
        points = points + wobble
        x = (points[:, 0] - 0.5) * drawing.width + drawing.slant * (0.5 - points[:, 1])
        y = points[:, 1] - 0.5
        canvas_points = [
            (centre_x + scale * px, centre_y + scale * py) for px, py in zip(x, y, strict=True)
        ]
        pen.line(canvas_points, fill=255, width=int(round(2 * radius)), joint="curve")
        for px, py in (canvas_points[0], canvas_points[-1]):  # round caps
            pen.ellipse((px - radius, py - radius, px + radius, py + radius), fill=255)
    grey = np.asarray(image.resize((CANVAS_PIXELS, CANVAS_PIXELS), Image.Resampling.BOX))
    rgba = np.empty((CANVAS_PIXELS, CANVAS_PIXELS, 4), dtype=np.uint8)
    rgba[..., :3] = grey[..., None]
    rgba[..., 3] = 255
    return rgba


@dataclass(frozen=True, eq=False)
class DrawnDigits:
    """The drawn set: ``sequences`` ``(n, 16, 16)`` float32 (the model's input),
    ``images28`` ``(n, 28, 28)`` float32, ``labels`` ``(n,)`` int64 and ``styles``
    (the template's name per digit)."""

    sequences: np.ndarray
    images28: np.ndarray
    labels: np.ndarray
    styles: tuple[str, ...]


@lru_cache(maxsize=1)
def drawn_digit_set(variations: int = VARIATIONS, seed: int = SEED) -> DrawnDigits:
    """Every template drawn ``variations`` times, through the app's canvas pipeline."""
    rng = np.random.default_rng(seed)
    sequences, images, labels, styles = [], [], [], []
    for digit, styled in TEMPLATES.items():
        for style, strokes in styled.items():
            for _ in range(variations):
                prepared = preprocess_canvas(render(strokes, random_drawing(rng)))
                if not isinstance(prepared, CanvasInput):
                    raise RuntimeError(f"drawn {digit} ({style}) read as nothing drawn")
                sequences.append(prepared.image16)
                images.append(prepared.image28)
                labels.append(digit)
                styles.append(f"{digit} {style}")
    return DrawnDigits(
        np.stack(sequences), np.stack(images), np.asarray(labels, dtype=np.int64), tuple(styles)
    )
