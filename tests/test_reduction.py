"""The one 28×28 → 16×16 reduction: shape, range, exactness, ink conservation."""

import numpy as np
import pytest

from rnn_demo.data.reduction import area_weights, reduce_images


def test_weights_are_area_fractions_that_sum_to_one():
    weights = area_weights()
    assert weights.shape == (16, 28)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    # Output pixel 0 covers input [0, 1.75): all of pixel 0, three quarters of pixel 1.
    np.testing.assert_allclose(weights[0, :3], [1 / 1.75, 0.75 / 1.75, 0.0], atol=1e-6)
    # Every input pixel contributes 1/1.75 of its area in total, however split.
    np.testing.assert_allclose(weights.sum(axis=0), 16 / 28, atol=1e-6)


def test_uint8_batch_becomes_float32_sequences_in_unit_range():
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    reduced = reduce_images(images)
    assert reduced.shape == (50, 16, 16) and reduced.dtype == np.float32
    assert reduced.min() >= 0.0 and reduced.max() <= 1.0
    # Area averaging keeps the mean intensity (the ink) of every image.
    np.testing.assert_allclose(reduced.mean(axis=(1, 2)), images.mean(axis=(1, 2)) / 255, atol=1e-5)


def test_single_image_and_float_input_agree_with_batch():
    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    batch = reduce_images(images)
    np.testing.assert_allclose(reduce_images(images[1]), batch[1], atol=1e-6)
    np.testing.assert_allclose(reduce_images(images / 255.0), batch, atol=1e-6)


def test_constant_image_stays_constant_and_a_block_is_averaged_exactly():
    np.testing.assert_allclose(reduce_images(np.full((28, 28), 255, np.uint8)), 1.0, atol=1e-6)
    image = np.zeros((28, 28), np.float32)
    image[:7, :7] = 1.0  # exactly output pixels 0..3 (4 × 1.75 = 7) in both axes
    reduced = reduce_images(image)
    np.testing.assert_allclose(reduced[:4, :4], 1.0, atol=1e-6)
    np.testing.assert_allclose(reduced[4:, :], 0.0, atol=1e-6)


def test_rows_stay_rows():
    """Ink in the top rows reaches only the first timesteps (the reading order)."""
    image = np.zeros((28, 28), np.uint8)
    image[0:2, :] = 255
    reduced = reduce_images(image)
    assert reduced[:2].sum() > 0 and reduced[2:].sum() == 0


def test_wrong_size_is_refused():
    with pytest.raises(ValueError, match="28×28"):
        reduce_images(np.zeros((5, 16, 16), np.uint8))
