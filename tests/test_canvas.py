"""Canvas preprocessing: polarity, empty canvases, bad input, and the data distribution."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from rnn_demo.data.canvas import (
    MAX_CANVAS_PIXELS,
    MAX_CANVAS_SIDE,
    MAX_DATA_URL_CHARS,
    PNG_PREFIX,
    CanvasError,
    CanvasInput,
    NothingDrawn,
    preprocess_canvas,
    rgba_from_data_url,
)
from rnn_demo.data.reduction import reduce_images
from rnn_demo.twins.model import NumpyModel

CANVAS = 280
DISTRIBUTION_DIGITS = 1000
# Measured with the 96-step LSTM on all 1,000 validation digits: 0.923 on the
# originals, 0.913 through a transparent canvas and 0.913 through a black one (a
# GRU: 0.934 / 0.936 / 0.936). Mistakes move it far more: a 24-pixel digit box
# gave 0.844, centring 1.5 pixels off gave 0.70–0.76. So 3 points is the bound.
ALLOWED_ACCURACY_DROP = 0.03


def seven_stroke() -> np.ndarray:
    """``(280, 280)`` uint8 ink of a hand-like "7": two thick strokes, off-centre."""
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    draw.line([(60, 50), (200, 60), (110, 240)], fill=255, width=18, joint="curve")
    # A softer stroke so that intermediate ink levels are compared too.
    draw.line([(90, 150), (170, 145)], fill=140, width=12)
    return np.asarray(image)


def on_canvas(ink: np.ndarray, style: str) -> np.ndarray:
    """``(h, w, 4)`` uint8 RGBA showing uint8 ``ink`` the way a canvas might return it."""
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    if style == "white on black":
        rgba[..., :3] = ink[..., None]
        rgba[..., 3] = 255
    elif style == "black on white":
        rgba[..., :3] = 255 - ink[..., None]
        rgba[..., 3] = 255
    elif style == "white on transparent":
        rgba[..., :3] = 255
        rgba[..., 3] = ink
    elif style == "black on transparent":
        rgba[..., 3] = ink
    else:
        raise ValueError(style)
    return rgba


STYLES = ["white on black", "black on white", "white on transparent", "black on transparent"]


def test_every_polarity_gives_the_same_digit():
    ink = seven_stroke()
    results = [preprocess_canvas(on_canvas(ink, style)) for style in STYLES]
    backgrounds = [result.background for result in results]
    assert backgrounds == ["dark", "light", "transparent", "transparent"]
    for style, result in zip(STYLES[1:], results[1:], strict=True):
        np.testing.assert_allclose(result.image28, results[0].image28, atol=1e-6, err_msg=style)
        assert result.ink_box == results[0].ink_box


def test_result_follows_mnist_layout():
    result = preprocess_canvas(on_canvas(seven_stroke(), "black on white"))
    image = result.image28
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.9
    marked_rows = np.flatnonzero((image > 0.05).any(axis=1))
    marked_columns = np.flatnonzero((image > 0.05).any(axis=0))
    # The longer side (the height of this "7") is scaled to 20 pixels.
    assert 19 <= marked_rows[-1] - marked_rows[0] + 1 <= 21
    assert marked_columns[-1] - marked_columns[0] + 1 <= 20
    rows, columns = np.indices(image.shape)
    assert abs((rows * image).sum() / image.sum() - 14.0) <= 0.5
    assert abs((columns * image).sum() / image.sum() - 14.0) <= 0.5
    np.testing.assert_array_equal(result.image16, reduce_images(result.image28))
    assert result.image16.shape == (16, 16)
    top, left, bottom, right = result.ink_box
    assert 40 <= top <= 50 and 45 <= left <= 60 and 240 <= bottom <= 255 and 200 <= right <= 215


def blank(rgb: int, alpha: int) -> np.ndarray:
    return np.tile(np.array([rgb, rgb, rgb, alpha], dtype=np.uint8), (CANVAS, CANVAS, 1))


@pytest.mark.parametrize(
    "canvas",
    [
        blank(0, 0),  # what an untouched canvas returns: transparent black
        blank(255, 0),  # transparent white
        blank(255, 255),  # opaque white paper
        blank(0, 255),  # opaque black board
        None,  # the canvas has not returned anything yet
    ],
    ids=["transparent-black", "transparent-white", "white", "black", "none"],
)
def test_blank_canvases_are_nothing_drawn(canvas):
    result = preprocess_canvas(canvas)
    assert isinstance(result, NothingDrawn)
    assert "draw" in result.message.lower()
    assert result.ink_fraction == 0.0


def test_a_speck_or_a_noisy_pixel_is_nothing_drawn():
    speck = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
    speck[130:142, 130:142] = 255  # a 12-pixel dab of the brush
    result = preprocess_canvas(on_canvas(speck, "white on transparent"))
    assert isinstance(result, NothingDrawn) and result.ink_fraction > 0
    pixel = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
    pixel[5, 270] = 255
    assert isinstance(preprocess_canvas(on_canvas(pixel, "black on white")), NothingDrawn)


def test_a_thin_one_is_still_a_digit():
    ink = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
    ink[40:240, 135:145] = 255  # a plain vertical stroke, 3.6 % of the canvas
    result = preprocess_canvas(on_canvas(ink, "white on transparent"))
    assert not isinstance(result, NothingDrawn)
    assert result.image28[:, 14].max() == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    ("canvas", "message"),
    [
        (np.zeros((280, 280, 3), dtype=np.uint8), "shape \\(height, width, 4\\)"),
        (np.zeros((280, 280), dtype=np.uint8), "shape \\(height, width, 4\\)"),
        (np.zeros((0, 280, 4), dtype=np.uint8), "shape \\(height, width, 4\\)"),
        (np.zeros((280, 280, 4), dtype=np.float32), "dtype float32"),
        (np.zeros((280, 280, 4), dtype=bool), "dtype bool"),
        (np.full((28, 28, 4), 300, dtype=np.int64), "values from 300 to 300"),
    ],
)
def test_bad_canvases_are_refused_with_a_clear_message(canvas, message):
    with pytest.raises(ValueError, match=message):
        preprocess_canvas(canvas)


def test_integer_canvases_other_than_uint8_are_read():
    ink = seven_stroke()
    expected = preprocess_canvas(on_canvas(ink, "white on black")).image28
    as_int64 = on_canvas(ink, "white on black").astype(np.int64)
    np.testing.assert_array_equal(preprocess_canvas(as_int64).image28, expected)


def canvas_from_digit(digit: np.ndarray, shift: tuple[int, int], transparent: bool) -> np.ndarray:
    """A 28×28 uint8 digit drawn 10× larger on a 280×280 canvas, moved by ``shift``."""
    large = Image.fromarray(digit).resize((CANVAS, CANVAS), Image.Resampling.BILINEAR)
    ink = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
    down, right = shift
    # MNIST's 4-pixel margins become 40 canvas pixels, so shifts up to 35 keep the digit whole.
    ink[max(down, 0) : CANVAS + min(down, 0), max(right, 0) : CANVAS + min(right, 0)] = np.asarray(
        large
    )[max(-down, 0) : CANVAS - max(down, 0), max(-right, 0) : CANVAS - max(right, 0)]
    return on_canvas(ink, "white on transparent" if transparent else "white on black")


def test_canvas_digits_keep_the_models_accuracy(trained_lstm, embedded_digits):
    """Real validation digits, drawn large and off-centre on a canvas, come back
    close enough to MNIST's distribution that a trained model reads them as well."""
    numpy_model = NumpyModel.from_keras(trained_lstm)
    digits = embedded_digits.x_valid[:DISTRIBUTION_DIGITS]
    labels = embedded_digits.y_valid[:DISTRIBUTION_DIGITS]
    original_accuracy = np.mean(
        numpy_model.predict_probabilities(reduce_images(digits)).argmax(1) == labels
    )
    shifts = np.random.default_rng(3).integers(-35, 36, size=(len(digits), 2))
    for transparent in (True, False):
        inputs = np.stack(
            [
                preprocess_canvas(canvas_from_digit(digit, tuple(shift), transparent)).image16
                for digit, shift in zip(digits, shifts, strict=True)
            ]
        )
        canvas_accuracy = np.mean(numpy_model.predict_probabilities(inputs).argmax(1) == labels)
        assert original_accuracy > 0.85  # the model really learned
        assert canvas_accuracy >= original_accuracy - ALLOWED_ACCURACY_DROP, (
            f"transparent={transparent}: {canvas_accuracy:.3f} on the canvas "
            f"vs {original_accuracy:.3f} on the originals"
        )


def png_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return PNG_PREFIX + base64.b64encode(buffer.getvalue()).decode()


def test_a_huge_picture_is_refused_from_its_header_before_decoding():
    """9000×9000 pixels in 490 KB of text: decoding it took the web process to 7.4 GB."""
    url = png_url(Image.new("RGBA", (9000, 9000)))
    assert len(url) <= MAX_DATA_URL_CHARS  # small on the wire: only the header check stops it
    started = time.perf_counter()
    with pytest.raises(CanvasError, match=f"over {MAX_CANVAS_PIXELS:,} pixels"):
        rgba_from_data_url(url)
    assert time.perf_counter() - started < 1.0  # decoding would take many seconds
    wide = png_url(Image.new("RGBA", (MAX_CANVAS_SIDE + 1, 8)))
    with pytest.raises(CanvasError, match=f"{MAX_CANVAS_SIDE + 1}×8 pixels"):
        rgba_from_data_url(wide)


def test_pillows_own_guard_fails_rather_than_warns():
    """In a process that imports the canvas module (pytest resets warning filters, so a child)."""
    script = (
        "import io, sys\n"
        "from PIL import Image\n"
        "from rnn_demo.data.canvas import MAX_CANVAS_PIXELS, MAX_CANVAS_SIDE\n"
        "assert Image.MAX_IMAGE_PIXELS == MAX_CANVAS_PIXELS\n"
        "buffer = io.BytesIO()\n"
        "Image.new('L', (MAX_CANVAS_SIDE + 100, MAX_CANVAS_SIDE + 100)).save(buffer, format='PNG')\n"
        "try:\n"
        "    Image.open(buffer)\n"
        "except Image.DecompressionBombWarning:\n"
        "    sys.exit(0)\n"
        "sys.exit(3)\n"
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 0


def test_the_largest_picture_read_is_still_read():
    image = Image.new("RGBA", (MAX_CANVAS_SIDE, MAX_CANVAS_SIDE))
    ImageDraw.Draw(image).line([(200, 200), (800, 250), (450, 950)], fill=(255, 255, 255, 255), width=90)
    assert isinstance(preprocess_canvas(rgba_from_data_url(png_url(image))), CanvasInput)


def test_text_over_the_cap_is_refused_before_base64_decoding():
    assert MAX_DATA_URL_CHARS > 419_096  # a 280×280 PNG of noise, as base64, still fits
    with pytest.raises(CanvasError, match="characters is over"):
        rgba_from_data_url(PNG_PREFIX + "A" * MAX_DATA_URL_CHARS)


def truncated_png() -> str:
    url = png_url(Image.fromarray(on_canvas(seven_stroke(), "white on black")))
    return url[: len(url) // 2 // 4 * 4]


SVG = "<svg xmlns='http://www.w3.org/2000/svg' width='9e9' height='9e9'/>"


@pytest.mark.parametrize(
    "value",
    [
        {"image": "data:image/png;base64,"},  # an object where the address should be
        ["data:image/png;base64,"],
        None,
        b"data:image/png;base64,",
        12,
        "",
        "data:image/png;base64,!!!not base64!!!",
        "data:image/png;base64,é",
        "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode(),
        "data:image/png;base64," + base64.b64encode(SVG.encode()).decode(),  # an SVG labelled PNG
        "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40).decode(),
        truncated_png(),
    ],
    ids=["object", "list", "none", "bytes", "number", "empty", "junk-base64", "non-ascii", "svg",
         "svg-as-png", "bad-chunks", "truncated"],
)
def test_malformed_canvas_values_are_one_clear_sentence(value):
    with pytest.raises(CanvasError, match="^The drawing could not be read: .*\\.$") as caught:
        rgba_from_data_url(value)
    assert "\n" not in str(caught.value)


def test_a_jpeg_is_refused_even_labelled_as_a_picture():
    buffer = io.BytesIO()
    Image.new("RGB", (280, 280)).save(buffer, format="JPEG")
    encoded = base64.b64encode(buffer.getvalue()).decode()
    for prefix in ("data:image/jpeg;base64,", PNG_PREFIX):
        with pytest.raises(CanvasError, match="could not be read"):
            rgba_from_data_url(prefix + encoded)


@pytest.mark.parametrize("value", [[[1, 2], [3]], {"a": 1}, "text", np.zeros((MAX_CANVAS_SIDE + 1, 4, 4), np.uint8)])
def test_odd_arrays_are_refused_as_canvas_errors(value):
    with pytest.raises(CanvasError):
        preprocess_canvas(value)
