"""The HTML panels: the Draw page's 16×16 input as a PNG and its probabilities as bars, image
tiles, and *watch it learn*'s digits and readouts."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from rnn_demo.data.canvas import preprocess_canvas, rgba_from_data_url
from rnn_demo.views.panels import image_tiles, input_picture, probability_bars
from rnn_demo.views.watch import (
    RIGHT_COLOUR,
    first_right_row,
    probability_colours,
    watch_indices,
    watch_panel,
)


def test_input_picture_holds_the_sixteen_by_sixteen_values():
    image = np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16)
    tag = input_picture(image)
    encoded = re.search(r'src="data:image/png;base64,([^"]+)"', tag).group(1)
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))
    assert shown.shape == (16, 16)
    np.testing.assert_allclose(shown / 255, image, atol=0.5 / 255 + 1e-6)
    assert "image-rendering: pixelated" in tag and 'width="160"' in tag


def test_probability_bars_mark_the_winner_and_escape_names():
    probabilities = np.array([0.1, 0.7, 0.2])
    bars = probability_bars(probabilities, ["<a>", "b", "c"])
    titles = re.findall(r'title="([^"]*)"', bars)
    assert titles == ["&lt;a&gt;: 0.1000", "b: 0.7000", "c: 0.2000"]
    assert bars.count("font-weight: 700") == 1 and "width: 70.0%" in bars
    with pytest.raises(ValueError, match="one probability per class"):
        probability_bars(probabilities, ["a", "b"])


def test_a_canvas_png_reads_like_its_pixels():
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[40:240, 130:152] = 255  # a "1": white, opaque ink on a transparent canvas
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    decoded = rgba_from_data_url(url)
    np.testing.assert_array_equal(decoded, rgba)
    assert preprocess_canvas(decoded).background == "transparent"
    with pytest.raises(ValueError, match="data:image"):
        rgba_from_data_url("https://example.invalid/x.png")


def _pictures(tag: str) -> list[np.ndarray]:
    """The PNG pictures in ``tag``, as arrays, in order."""
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))
            for encoded in re.findall(r'src="data:image/png;base64,([^"]+)"', tag)]


def test_the_watch_panel_heads_each_digit_with_its_guess(embedded_digits):
    indices = watch_indices(embedded_digits.y_valid)
    images, labels = embedded_digits.valid_sequences[indices], embedded_digits.y_valid[indices]
    readout = np.full((10, 16, 10), 0.01)
    readout[:, :, 3] = 0.91  # guesses 3 everywhere: right once, from the first row
    panel = watch_panel(images, labels, readout, embedded_digits.class_names)
    guesses = re.findall(r'data-guess="([^"]*)" data-right="(true|false)"', panel)
    assert guesses == [("3", "true" if label == 3 else "false") for label in labels]
    assert panel.count("<b>3</b> 91%") == 10 and panel.count(RIGHT_COLOUR) == 1
    assert "read right from row 1 on" in panel and panel.count("not read right yet") == 9
    pictures = _pictures(panel)
    assert len(pictures) == 20
    for image, picture in zip(images, pictures[0::2], strict=True):  # each digit as the model reads it
        np.testing.assert_allclose(picture / 255, image, atol=0.5 / 255 + 1e-6)
    readout_picture = pictures[1]
    assert readout_picture.shape == (16, 10, 3)  # a row per timestep, a column per class
    assert (readout_picture[:, 3].sum(axis=-1) < readout_picture[:, 0].sum(axis=-1)).all()  # surer is darker
    with pytest.raises(ValueError, match="expected 10 classes"):
        watch_panel(images, labels, readout[..., :9], embedded_digits.class_names)


def test_probability_colours_run_light_to_dark():
    colours = probability_colours(np.array([0.0, 0.5, 1.0, 2.0]))
    assert colours.dtype == np.uint8 and colours.shape == (4, 3)
    assert tuple(colours[0]) == (247, 251, 255) and tuple(colours[2]) == tuple(colours[3]) == (8, 48, 107)
    assert colours[0].sum() > colours[1].sum() > colours[2].sum()


def test_first_right_row_is_where_the_answer_settles():
    readout = np.zeros((16, 10))
    readout[:, 1] = 1.0
    readout[[2, 9], 1], readout[[2, 9], 7] = 0.0, 1.0  # right, wrong at rows 3 and 10, right after
    assert first_right_row(readout, 1) == 11
    assert first_right_row(readout, 7) is None  # wrong in the end: not read right
    readout[9] = readout[0]
    readout[2] = readout[0]
    assert first_right_row(readout, 1) == 1


def test_image_tiles_show_each_image_above_its_escaped_caption():
    images = np.random.default_rng(0).random((3, 16, 16))
    tiles = image_tiles(images, ["7→1", "<b>", "3→8"])
    assert re.findall(r"<figcaption[^>]*>([^<]*)</figcaption>", tiles) == ["7→1", "&lt;b&gt;", "3→8"]
    for image, picture in zip(images, _pictures(tiles), strict=True):
        np.testing.assert_allclose(picture / 255, image, atol=0.5 / 255 + 1e-6)
    with pytest.raises(ValueError, match="k captions"):
        image_tiles(images, ["one"])
