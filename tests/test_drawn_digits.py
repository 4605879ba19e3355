"""The drawn-digit test set: strokes as people draw them, through the app's canvas pipeline."""

import numpy as np

from rnn_demo.data.canvas import CanvasInput, preprocess_canvas
from rnn_demo.data.drawn_digits import (
    CANVAS_PIXELS,
    STROKE_WIDTH,
    TEMPLATES,
    VARIATIONS,
    Drawing,
    drawn_digit_set,
    render,
)


def test_every_digit_has_several_styles_and_the_set_is_balanced():
    drawn = drawn_digit_set()
    assert set(TEMPLATES) == set(range(10))
    assert all(len(styles) >= 3 for styles in TEMPLATES.values())
    counts = np.bincount(drawn.labels, minlength=10)
    assert counts.min() >= 3 * VARIATIONS and counts.sum() == len(drawn.styles) >= 250
    assert drawn.sequences.shape == (counts.sum(), 16, 16) and drawn.sequences.dtype == np.float32
    assert drawn.images28.shape == (counts.sum(), 28, 28)


def test_a_drawing_is_what_the_canvas_returns():
    """280×280 RGBA, opaque black, white round-capped strokes as wide as the brush."""
    stick = [[(0.5, 0.0), (0.5, 1.0)]]
    rgba = render(stick, Drawing(height=0.6, slant=0.0, width=1.0, brush=STROKE_WIDTH,
                                 centre=(140.0, 140.0), tremor_seed=0))
    assert rgba.shape == (CANVAS_PIXELS, CANVAS_PIXELS, 4) and rgba.dtype == np.uint8
    assert (rgba[..., 3] == 255).all() and rgba[0, 0, 0] == 0 and rgba[140, 140, :3].min() > 200
    inked_columns = np.flatnonzero(rgba[140, :, 0] > 127)
    assert abs(len(inked_columns) - STROKE_WIDTH) <= 6  # the tremor wobbles the line a little
    inked_rows = np.flatnonzero(rgba[:, 140, 0] > 127)
    # A 168-pixel stroke plus round caps of half the brush at each end.
    assert abs(len(inked_rows) - (168 + STROKE_WIDTH)) <= 12


def test_the_set_is_reproducible_and_matches_the_canvas_pipeline():
    drawn = drawn_digit_set()
    again = drawn_digit_set.__wrapped__()
    assert np.array_equal(drawn.sequences, again.sequences) and drawn.styles == again.styles
    prepared = preprocess_canvas(render(TEMPLATES[7]["plain"], Drawing(0.5, 0.1, 1.0, 22, (120.0, 150.0), 3)))
    assert isinstance(prepared, CanvasInput) and prepared.image16.shape == (16, 16)
    # The pipeline scales each digit to MNIST's 20-pixel box and centres its mass.
    rows, columns = np.indices((28, 28))
    images = drawn.images28
    mass = images.sum(axis=(1, 2))
    centre_rows = (images * rows).sum(axis=(1, 2)) / mass
    centre_columns = (images * columns).sum(axis=(1, 2)) / mass
    assert np.abs(centre_rows - 14).max() < 1.0 and np.abs(centre_columns - 14).max() < 1.0

