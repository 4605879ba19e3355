"""From a drawing canvas to the model's input, by MNIST's own recipe.

The canvas returns an RGBA uint8 image of any size. The models were trained
on MNIST digits: white ink on black, the digit scaled so that its longer side
is 20 pixels (aspect ratio kept, antialiased) and pasted into a 28×28 field
with its centre of mass at the centre, then reduced to 16×16 by
:func:`rnn_demo.data.reduction.reduce_images`. :func:`preprocess_canvas` does exactly
that, so a drawn digit looks to the model like the digits it learned from.

Ink is read robustly: where the background is transparent, ink is the alpha
channel whatever the stroke colour; on an opaque canvas, ink is how far a
pixel's grey level is from the background's (dark ink on white and white ink
on black both work). The background is judged from the canvas's border,
which a digit rarely covers.

What a browser sends is untrusted: :func:`rgba_from_data_url` caps the text and
the picture's size (read from its header) before decoding, and anything that is
not a small PNG is a :class:`CanvasError` with one sentence for the visitor.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin

from rnn_demo.data.reduction import SOURCE_SIZE, reduce_images
from rnn_demo.errors import UserError

# The app's drawing canvas (rnn_demo.ui.drawing): here, without Streamlit, so that the
# drawn-digit test set and the benches draw exactly what a visitor draws.
CANVAS_PIXELS = 280  # 10 screen pixels per MNIST pixel: big enough for a mouse or a finger
STROKE_WIDTH = 22  # about MNIST's pen: strokes 2–3 pixels wide at 28×28
DIGIT_BOX = 20  # MNIST scales each digit's longer side to 20 of the 28 pixels
FIELD_CENTRE = (
    14.0  # measured on the embedded sample: mean centre of mass (14.0, 14.0), row/column index
)
INK_FLOOR = 0.1  # fainter ink (antialiasing haze, paper tone) does not extend the digit's box
MIN_INK_FRACTION = 0.002  # ink below 0.2 % of the canvas area is a speck, not a digit
MIN_EXTENT_FRACTION = 0.1  # a digit spans at least a tenth of the canvas's shorter side
BORDER_FRACTION = 0.05  # the outer 5 % of each side is where the background is read
NOTHING_DRAWN = "Nothing drawn yet: draw one digit, large, filling most of the box."
TOO_LITTLE_INK = "Too little ink to read: draw one digit, large, filling most of the box."

# What a canvas may send. A side of 4 × the canvas leaves room for a high-DPI
# canvas; the text cap is a 280×280 RGBA PNG that does not compress at all
# (314 KB, 419 KB as base64) plus 64 KiB. See docs/hosting.md.
MAX_CANVAS_SIDE = 4 * CANVAS_PIXELS
MAX_CANVAS_PIXELS = MAX_CANVAS_SIDE**2
MAX_DATA_URL_CHARS = 4 * -(-(CANVAS_PIXELS**2 * 4 + 2**16) // 3) + 64
PNG_PREFIX = "data:image/png;base64,"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow's own guard, for this process: a bigger picture is an error, not a
# warning; and no text chunk may inflate past a few KiB (a canvas writes none).
Image.MAX_IMAGE_PIXELS = MAX_CANVAS_PIXELS
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
PngImagePlugin.MAX_TEXT_CHUNK = 2**16
PngImagePlugin.MAX_TEXT_MEMORY = 2**18


class CanvasError(UserError, ValueError):
    """What the canvas sent is not a picture this app reads (too big, not a PNG, damaged)."""


@dataclass(frozen=True, eq=False)
class CanvasInput:
    """A drawing ready for the model.

    ``image28``: ``(28, 28)`` float32 in [0, 1], white ink on black, MNIST layout
    (show this to the learner: it is what the model's input was made from).
    ``image16``: ``(16, 16)`` float32 in [0, 1], the model input (row = timestep).
    ``ink_box``: ``(top, left, bottom, right)`` of the ink on the canvas, in canvas
    pixels, bottom and right exclusive.
    ``background``: ``"transparent"``, ``"dark"`` or ``"light"``, as detected.
    """

    image28: np.ndarray
    image16: np.ndarray
    ink_box: tuple[int, int, int, int]
    background: str


@dataclass(frozen=True)
class NothingDrawn:
    """The canvas holds no digit to read: show ``message`` instead of a prediction.

    ``ink_fraction``: the ink found, as a fraction of the canvas area.
    """

    message: str
    ink_fraction: float


def _check_rgba(rgba) -> np.ndarray:
    """``(h, w, 4)`` float32 in [0, 1] from integer RGBA in 0–255, or :class:`CanvasError`."""
    try:
        array = np.asarray(rgba)
    except (ValueError, TypeError) as error:  # ragged lists, objects NumPy cannot hold
        raise CanvasError(f"expected an RGBA image of shape (height, width, 4); got {type(rgba).__name__}") from error
    if array.ndim != 3 or array.shape[2] != 4 or array.shape[0] == 0 or array.shape[1] == 0:
        raise CanvasError(f"expected an RGBA image of shape (height, width, 4); got {array.shape}")
    if max(array.shape[:2]) > MAX_CANVAS_SIDE:
        raise CanvasError(f"the picture is {array.shape[1]}×{array.shape[0]} pixels; "
                          f"at most {MAX_CANVAS_SIDE}×{MAX_CANVAS_SIDE} is read")
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise CanvasError(f"expected uint8 RGBA values 0–255; got dtype {array.dtype}")
    if array.dtype != np.uint8 and (array.min() < 0 or array.max() > 255):
        raise CanvasError(
            f"expected RGBA values 0–255; got values from {array.min()} to {array.max()}"
        )
    # float32: a full-size float64 copy of each channel would double the memory for nothing.
    return array.astype(np.float32) / np.float32(255.0)


def ink_intensity(rgba) -> tuple[np.ndarray, str]:
    """Ink per canvas pixel, ``(h, w)`` float32 in [0, 1], and the background kind.

    ``rgba``: ``(h, w, 4)`` integers 0–255. Background ``"transparent"``: ink is
    alpha. ``"dark"`` / ``"light"`` (opaque): ink is the distance of the pixel's
    luminance from the background's, scaled so full contrast is 1, times alpha.
    """
    channels = _check_rgba(rgba)
    alpha = channels[..., 3]
    # ITU-R 601 luma; the weights sum to exactly 1, so grey g stays g.
    luminance = channels[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    height, width = alpha.shape
    margin = max(1, round(BORDER_FRACTION * min(height, width)))
    border = np.ones((height, width), dtype=bool)
    border[margin:-margin, margin:-margin] = False
    if np.median(alpha[border]) < 0.5:
        return alpha, "transparent"
    opaque_border = border & (alpha >= 0.5)
    background_level = float(np.median(luminance[opaque_border]))
    contrast = max(background_level, 1.0 - background_level)
    ink = alpha * np.clip(np.abs(luminance - np.float32(background_level)) / np.float32(contrast), 0.0, 1.0)
    return ink, "light" if background_level >= 0.5 else "dark"


def _fit_in_digit_box(crop: np.ndarray) -> np.ndarray:
    """Scale ``crop`` so its longer side is 20 pixels, aspect kept, antialiased."""
    height, width = crop.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow: (w, h)
    resized = Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    # Lanczos rings slightly below 0 and above 1 next to sharp strokes.
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)


def _paste_centred_on_mass(digit: np.ndarray) -> np.ndarray:
    """``(28, 28)``: ``digit`` shifted by whole pixels so its centre of mass sits at (14, 14).

    Whole-pixel shifts are MNIST's: the sample's centres of mass scatter around
    14 with the spread of rounding (0.29 pixels).
    """
    rows, columns = np.indices(digit.shape)
    mass = digit.sum()
    top = int(np.rint(FIELD_CENTRE - (rows * digit).sum() / mass))
    left = int(np.rint(FIELD_CENTRE - (columns * digit).sum() / mass))
    field = np.zeros((SOURCE_SIZE, SOURCE_SIZE))
    # A lopsided digit may be pushed past the edge; keep the part inside the field.
    field_top, field_left = max(top, 0), max(left, 0)
    field_bottom = min(top + digit.shape[0], SOURCE_SIZE)
    field_right = min(left + digit.shape[1], SOURCE_SIZE)
    field[field_top:field_bottom, field_left:field_right] = digit[
        field_top - top : field_bottom - top, field_left - left : field_right - left
    ]
    return field


def rgba_from_data_url(url: object) -> np.ndarray:
    """``(h, w, 4)`` uint8 RGBA from a ``data:image/png;base64,…`` address (what a browser canvas sends).

    The text is capped at :data:`MAX_DATA_URL_CHARS` and the picture's sides at
    :data:`MAX_CANVAS_SIDE` (read from the PNG header) before any pixel is
    decoded. Anything else, a damaged PNG included, is a :class:`CanvasError`.
    """
    if not isinstance(url, str):
        raise CanvasError(f"The drawing could not be read: expected a data:image/png address; got {type(url).__name__}.")
    if len(url) > MAX_DATA_URL_CHARS:
        raise CanvasError(f"The drawing could not be read: {len(url):,} characters is over the "
                          f"{MAX_DATA_URL_CHARS:,} a {CANVAS_PIXELS}×{CANVAS_PIXELS} canvas can send.")
    if not url.startswith(PNG_PREFIX):
        raise CanvasError(f"The drawing could not be read: expected a data:image/png;base64 address; got {url[:40]!r}.")
    try:
        data = base64.b64decode(url[len(PNG_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise CanvasError("The drawing could not be read: its data is not valid base64.") from None
    if not data.startswith(PNG_SIGNATURE):
        raise CanvasError("The drawing could not be read: its data is not a PNG picture.")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if max(width, height) > MAX_CANVAS_SIDE:
                raise CanvasError(f"The drawing could not be read: the picture is {width}×{height} pixels; "
                                  f"at most {MAX_CANVAS_SIDE}×{MAX_CANVAS_SIDE} is read.")
            return np.asarray(image.convert("RGBA"))
    except CanvasError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise CanvasError(f"The drawing could not be read: the picture is over {MAX_CANVAS_PIXELS:,} pixels, "
                          f"the most this app reads (its canvas sends {CANVAS_PIXELS}×{CANVAS_PIXELS}).") from None
    # Pillow's ways of saying "damaged": a bad chunk, a truncated stream.
    except (OSError, ValueError, SyntaxError, EOFError, zlib.error) as error:
        raise CanvasError(f"The drawing could not be read: a damaged PNG ({type(error).__name__}).") from None


def preprocess_canvas(rgba) -> CanvasInput | NothingDrawn:
    """Turn a canvas image into the model's input, or say that nothing is drawn.

    ``rgba``: ``(height, width, 4)`` integers 0–255 (the canvas's ``image_data``),
    any size, either polarity, with or without a transparent background; ``None``
    (a canvas that has returned nothing yet) counts as nothing drawn.

    Returns :class:`NothingDrawn` when the ink covers under 0.2 % of the canvas
    or its box spans under a tenth of the canvas's shorter side (a stray dot),
    else a :class:`CanvasInput`. Raises :class:`CanvasError` (a ``ValueError``)
    for another shape, a non-integer dtype or a side over :data:`MAX_CANVAS_SIDE`.
    """
    if rgba is None:
        return NothingDrawn(NOTHING_DRAWN, 0.0)
    ink, background = ink_intensity(rgba)
    height, width = ink.shape
    marked = ink > INK_FLOOR
    ink_fraction = float(ink[marked].sum() / (height * width))
    if not marked.any():
        return NothingDrawn(NOTHING_DRAWN, ink_fraction)
    marked_rows = np.flatnonzero(marked.any(axis=1))
    marked_columns = np.flatnonzero(marked.any(axis=0))
    top, bottom = int(marked_rows[0]), int(marked_rows[-1]) + 1
    left, right = int(marked_columns[0]), int(marked_columns[-1]) + 1
    extent = max(bottom - top, right - left) / min(height, width)
    if ink_fraction < MIN_INK_FRACTION or extent < MIN_EXTENT_FRACTION:
        return NothingDrawn(TOO_LITTLE_INK, ink_fraction)
    digit = _fit_in_digit_box(ink[top:bottom, left:right])
    image28 = _paste_centred_on_mass(digit).astype(np.float32)
    return CanvasInput(image28, reduce_images(image28), (top, left, bottom, right), background)
