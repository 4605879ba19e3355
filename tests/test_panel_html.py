"""The Draw page's live panel: the 16×16 input as a PNG and the probabilities as bars."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from rnn_demo.canvas import preprocess_canvas, rgba_from_data_url
from rnn_demo.panel_html import input_picture, probability_bars


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
