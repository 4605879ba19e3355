"""Augmentation: new versions of the training digits, drawn fresh for every batch.

A model that learned from 4,000 digits has seen each writer's habits only a
few times; showing it the same digits shifted, resized, turned, slanted and
written with a thinner or thicker pen teaches it what does *not* change a
digit's class. Every MNIST demo that people draw on does this.

Each 28×28 uint8 image gets, independently:

- a stroke-thickness change: a blend towards its 3×3 grey dilation (thicker
  pen) or, less strongly, towards its 3×3 grey erosion (thinner pen);
- one random affine map about the field's centre: a shift of up to
  :data:`MAX_SHIFT` pixels, a scale in :data:`SCALE_RANGE`, a rotation of up to
  :data:`MAX_ROTATION_DEGREES` and a slant (horizontal shear) of up to
  :data:`MAX_SLANT`, applied by inverse mapping with one bilinear sample per
  output pixel for the whole batch at once (pixels mapped from outside the
  field are background);

and is then reduced to 16×16 by the project's one reduction
(:func:`rnn_demo.data.reduction.reduce_images`).

Randomness is seeded per training iteration from ``(seed, iteration)``, so a
run is reproducible and a batch's augmentation does not depend on how the
engine groups iterations into chunks.
"""

from __future__ import annotations

import numpy as np

from rnn_demo.data.reduction import SOURCE_SIZE, reduce_images

MAX_SHIFT = 2.0  # pixels at 28×28; MNIST's centring by mass leaves digits within ~1 px
SCALE_RANGE = (0.85, 1.1)  # MNIST fits digits to a 20-pixel box; people's digits vary about that
MAX_ROTATION_DEGREES = 12.0
MAX_SLANT = 0.3  # horizontal shear per pixel of height: writers slant by up to ~17°
# Thickness: a blend weight towards the dilated (> 0) or eroded (< 0) image.
# Erosion removes a whole pixel of a 2–3-pixel MNIST stroke, so it is used at
# half strength; dilation up to fully (a pen one pixel wider on each side).
THICKNESS_RANGE = (-0.5, 1.0)
# Images augmented together: a few MB of float work arrays stay in cache
# (measured: groups of 500–2,000 images run ~1.5× faster than 8,000).
GROUP_IMAGES = 2000
# Keeps augmentation's random stream apart from the batch plan's, which is
# seeded by the bare seed.
STREAM = 0x5EED_A06


def iteration_parameters(batch_size: int, seed: int, iteration: int) -> dict[str, np.ndarray]:
    """Random parameters for one iteration's ``batch_size`` images, each ``(batch_size,)``.

    ``iteration`` is 0-based; the same ``(seed, iteration)`` always gives the
    same parameters.
    """
    rng = np.random.default_rng((STREAM, seed, iteration))
    size = batch_size
    return {
        "thickness": rng.uniform(*THICKNESS_RANGE, size),
        "shift_rows": rng.uniform(-MAX_SHIFT, MAX_SHIFT, size),
        "shift_columns": rng.uniform(-MAX_SHIFT, MAX_SHIFT, size),
        "scale": rng.uniform(*SCALE_RANGE, size),
        "rotation": np.deg2rad(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES, size)),
        "slant": rng.uniform(-MAX_SLANT, MAX_SLANT, size),
    }


def _neighbourhood(pixels: np.ndarray, reduce) -> np.ndarray:
    """3×3 max (``np.maximum``) or min (``np.minimum``) filter of ``(n, 28, 28)``, zero border."""
    padded = np.pad(pixels, ((0, 0), (1, 1), (1, 1)))
    rows = reduce(reduce(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])  # (n, 28, 30)
    return reduce(reduce(rows[:, :, :-2], rows[:, :, 1:-1]), rows[:, :, 2:])  # (n, 28, 28)


def change_thickness(images: np.ndarray, thickness: np.ndarray) -> np.ndarray:
    """Blend ``(n, 28, 28)`` uint8 images towards their dilation (``thickness`` > 0)
    or erosion (< 0) by ``|thickness|``, per image; float32 in [0, 1]."""
    pixels = images.astype(np.float32) * np.float32(1 / 255)
    thicker = thickness > 0
    # Filter in uint8 (a quarter of float32's memory traffic), each image once.
    target = np.empty_like(images)
    target[thicker] = _neighbourhood(images[thicker], np.maximum)
    target[~thicker] = _neighbourhood(images[~thicker], np.minimum)
    weight = (np.abs(thickness) * (1 / 255)).astype(np.float32)[:, None, None]
    return pixels + weight * (target.astype(np.float32) - images)


def warp(pixels: np.ndarray, parameters: dict[str, np.ndarray]) -> np.ndarray:
    """Apply each image's affine map to ``(n, 28, 28)`` float32 images, bilinear.

    The forward map is ``output = centre + shift + scale · R(rotation) · S(slant)
    · (input − centre)``; each output pixel reads the input at the inverse map
    of its own position.
    """
    count = len(pixels)
    size = SOURCE_SIZE
    centre = (size - 1) / 2
    cos, sin = np.cos(parameters["rotation"]), np.sin(parameters["rotation"])
    scale, slant = parameters["scale"], parameters["slant"]
    # Forward linear part M = scale · R · S in (row, column) coordinates, where
    # the slant moves columns in proportion to height above the centre
    # (S = [[1, 0], [−slant, 1]]: ink higher up leans right) and R turns
    # counter-clockwise on screen.
    m00 = scale * (cos + sin * slant)
    m01 = scale * (-sin)
    m10 = scale * (sin - cos * slant)
    m11 = scale * cos
    determinant = m00 * m11 - m01 * m10
    # Inverse map as source = A · (output − centre − shift) + centre + 1 (the +1
    # is the padding below); float32 throughout, it is all the arithmetic there is.
    inverse = (np.stack([m11, -m01, -m10, m00], axis=1) / determinant[:, None]).astype(np.float32)
    inverse = inverse[:, :, None, None]  # (n, 4, 1, 1)
    offsets = np.arange(size, dtype=np.float32) - np.float32(centre)
    out_rows = offsets[None, :, None] - parameters["shift_rows"].astype(np.float32)[:, None, None]
    out_columns = offsets[None, None, :] - parameters["shift_columns"].astype(np.float32)[:, None, None]
    # (n, 28, 1) and (n, 1, 28) broadcast to (n, 28, 28).
    source_rows = inverse[:, 0] * out_rows + inverse[:, 1] * out_columns + np.float32(centre + 1)
    source_columns = inverse[:, 2] * out_rows + inverse[:, 3] * out_columns + np.float32(centre + 1)
    # The field is padded with one zero row/column before and two after, and
    # samples are clipped to the padding: whatever falls outside the field
    # reads background, and a sample's bottom-right neighbour always exists.
    limit = np.float32(size + 1)
    np.clip(source_rows, 0, limit, out=source_rows)
    np.clip(source_columns, 0, limit, out=source_columns)
    top = np.floor(source_rows)
    left = np.floor(source_columns)
    down = source_rows - top
    right = source_columns - left
    width = size + 3
    padded = np.pad(pixels, ((0, 0), (1, 2), (1, 2))).reshape(-1)  # (n · 31 · 31,)
    corner = (
        np.arange(count, dtype=np.intp)[:, None, None] * width * width
        + top.astype(np.intp) * width
        + left.astype(np.intp)
    )  # (n, 28, 28) flat index of each sample's top-left neighbour
    top_left, top_right = padded.take(corner), padded.take(corner + 1)
    bottom_left, bottom_right = padded.take(corner + width), padded.take(corner + width + 1)
    upper = top_left + right * (top_right - top_left)
    lower = bottom_left + right * (bottom_right - bottom_left)
    return upper + down * (lower - upper)  # (n, 28, 28)


def augment_images(images: np.ndarray, parameters: dict[str, np.ndarray]) -> np.ndarray:
    """``(n, 28, 28)`` uint8 images → augmented ``(n, 28, 28)`` float32 in [0, 1]."""
    pixels = np.asarray(images)
    if pixels.ndim != 3 or pixels.shape[1:] != (SOURCE_SIZE, SOURCE_SIZE):
        raise ValueError(f"expected (n, 28, 28) images, got shape {pixels.shape}")
    pixels = change_thickness(pixels, parameters["thickness"])
    return np.clip(warp(pixels, parameters), 0.0, 1.0)


def augmented_sequences(
    images: np.ndarray, plan: np.ndarray, seed: int, first_iteration: int
) -> np.ndarray:
    """The model inputs for iterations ``first_iteration …`` of a batch plan, augmented.

    ``images``: ``(n_train, 28, 28)`` uint8; ``plan``: ``(k, batch)`` training
    indices, row ``j`` being iteration ``first_iteration + j`` (0-based).
    Returns ``(k · batch, 16, 16)`` float32, rows in plan order.
    """
    iterations, batch_size = plan.shape
    group = max(1, GROUP_IMAGES // batch_size)
    sequences = np.empty((iterations * batch_size, 16, 16), dtype=np.float32)
    for start in range(0, iterations, group):
        stop = min(start + group, iterations)
        drawn = [
            iteration_parameters(batch_size, seed, first_iteration + row)
            for row in range(start, stop)
        ]
        parameters = {key: np.concatenate([part[key] for part in drawn]) for key in drawn[0]}
        augmented = augment_images(images[plan[start:stop].reshape(-1)], parameters)
        sequences[start * batch_size : stop * batch_size] = reduce_images(augmented)
    return sequences
