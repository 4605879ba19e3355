"""The font digit set: handwriting fonts, distorted, framed as MNIST, deterministic."""

import numpy as np
import pytest

from rnn_demo.data import font_digits
from rnn_demo.data.font_digits import FONTS, PACKAGES, font_digit_set


def test_every_font_renders_every_digit_through_the_canvas_pipeline():
    digits = font_digit_set.__wrapped__(variations=1)
    assert digits.sequences.shape == (len(FONTS) * 10, 16, 16)
    assert digits.images28.shape == (len(FONTS) * 10, 28, 28)
    assert digits.sequences.dtype == np.float32 and digits.images28.dtype == np.float32
    assert np.bincount(digits.labels).tolist() == [len(FONTS)] * 10
    assert len(set(digits.fonts)) == len(FONTS)
    assert 0.0 <= digits.sequences.min() and digits.sequences.max() <= 1.0
    # Framed as MNIST: the centre of mass sits at the field's centre, give or take rounding.
    rows = np.arange(28)[None, :, None]
    centre = (digits.images28 * rows).sum(axis=(1, 2)) / digits.images28.sum(axis=(1, 2))
    assert np.abs(centre - 14).max() <= 1.0


def test_the_set_is_deterministic_and_seeded():
    first = font_digit_set.__wrapped__(variations=1)
    again = font_digit_set.__wrapped__(variations=1)
    other = font_digit_set.__wrapped__(variations=1, seed=7)
    np.testing.assert_array_equal(first.sequences, again.sequences)
    assert not np.array_equal(first.sequences, other.sequences)


def test_the_default_set_has_two_thousand_digits():
    assert len(font_digit_set().labels) == len(FONTS) * 10 * font_digits.VARIATIONS == 2000


def test_missing_fonts_name_the_debian_packages(monkeypatch, tmp_path):
    monkeypatch.setattr(font_digits, "FONT_ROOT", tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install " + " ".join(PACKAGES)):
        font_digits.font_paths()
