"""Augmentation: new versions of the training digits, drawn fresh for every batch.

A model that learned from 4,000 digits has seen each writer's habits only a
few times; showing it the same digits written differently teaches it what
does *not* change a digit's class. Each 28×28 uint8 image gets, independently:

- a pen-thickness change: a blend towards its 3×3 grey dilation (or a second
  one: a much thicker pen) or, less strongly, towards its erosion;
- one random map about the field's centre: a shift, a scale, a wider or
  narrower hand (aspect), a rotation, a slant (horizontal shear) and a smooth
  elastic wobble (random offsets on a coarse grid, interpolated), applied by
  inverse mapping with one bilinear sample per output pixel;
- re-framing as MNIST framed its digits (:func:`reframe`): the ink's box scaled
  so its longer side is a random size about MNIST's 20 pixels, and its centre
  of mass moved to the centre, so a variant is framed as a test digit would be;
- soft edges (a blend towards a 3×3 blur) and a contrast change (the ink
  multiplied by a gain and clipped: fainter pens, or saturated scans);

and, before all of these, a share of the 1s is written the European way
(:func:`add_flags`): a flag stroke down to the left from the top of the stick,
sometimes with a base across its foot, in the digit's own pen. MNIST's hands
are mostly American, whose 1 is a stick; without flagged 1s the models read
a flagged one as a 7 and one with a base as a 2. The flags need the labels,
so they are drawn only where :func:`augmented_sequences` is given them;

and is then reduced to 16×16 by the project's one reduction
(:func:`rnn_demo.data.reduction.reduce_images`). What each part buys:
docs/models.md, "Augmentation".

Randomness is seeded per training iteration from ``(seed, iteration)``, so a
run is reproducible and a batch's augmentation does not depend on how the
engine groups iterations into chunks.
"""

from __future__ import annotations

import numpy as np

from rnn_demo.data.reduction import SOURCE_SIZE, reduce_images

MAX_SHIFT = 2.0  # pixels at 28×28; MNIST's centring by mass leaves digits within ~1 px
SCALE_RANGE = (0.85, 1.1)  # MNIST fits digits to a 20-pixel box; people's digits vary about that
ASPECT_RANGE = (0.8, 1.2)  # width relative to height: narrower and wider hands
MAX_ROTATION_DEGREES = 12.0
MAX_SLANT = 0.3  # horizontal shear per pixel of height: writers slant by up to ~17°
# Thickness: a blend weight towards the dilated (> 0) or eroded (< 0) image;
# from 1 to 2 the blend goes on from one dilation towards two (a pen two
# pixels wider). Erosion removes a whole pixel of a 2–3-pixel MNIST stroke, so
# it is used at half strength.
THICKNESS_RANGE = (-0.5, 1.3)
ELASTIC_PIXELS = 1.5  # largest offset of the elastic wobble at a grid knot
ELASTIC_KNOTS = 4  # the wobble's coarse grid: 4×4 random offsets per axis
# Re-framing: the ink's box is scaled so its longer side is this many pixels
# (MNIST's is 20), on this share of the images; the others keep the affine
# map's size and position.
FRAME_RANGE = (17.0, 23.0)
REFRAME_SHARE = 1.0
FRAME_CENTRE = 14.0  # MNIST's centre of mass (row/column index), as the canvas pipeline uses
FRAME_INK_FLOOR = 0.1  # fainter ink does not extend the box (as in rnn_demo.data.canvas)
SOFTNESS_RANGE = (0.0, 0.8)  # blend weight towards a 3×3 blur: soft edges
GAIN_RANGE = (0.7, 1.4)  # ink multiplied by this, clipped at 1: fainter pens or saturated scans
# Flagged 1s: this share of the training 1s gets a flag, and this share of
# those a base too. The flag leaves the top of the stick at an angle to it
# (degrees: 90 would be square to the stick, more turns it down towards the
# foot), its length a fraction of the stick's; a 7's bar is longer and square.
FLAG_SHARE = 0.3
BASE_SHARE = 0.4
FLAG_ANGLE_DEGREES = (120.0, 155.0)
FLAG_LENGTH_RANGE = (0.25, 0.5)
BASE_HALF_LENGTH_RANGE = (0.15, 0.35)  # each side of the foot, as a fraction of the stick
BASE_TILT_DEGREES = 6.0
FLAG_LABEL = 1
STICK_INK_FLOOR = 128  # uint8: the pixels that place the stick's ends
# Images augmented together: a few MB of float work arrays stay in cache
# (measured: groups of 500–2,000 images run ~1.5× faster than 8,000).
GROUP_IMAGES = 2000
# Keeps augmentation's random stream apart from the batch plan's, which is
# seeded by the bare seed.
STREAM = 0x5EED_A06


def iteration_parameters(batch_size: int, seed: int, iteration: int) -> dict[str, np.ndarray]:
    """Random parameters for one iteration's ``batch_size`` images, each ``(batch_size, …)``.

    ``iteration`` is 0-based; the same ``(seed, iteration)`` always gives the
    same parameters. ``frame`` 0 means the image is not re-framed.
    """
    rng = np.random.default_rng((STREAM, seed, iteration))
    size = batch_size
    reframed = rng.random(size) < REFRAME_SHARE
    return {
        "thickness": rng.uniform(*THICKNESS_RANGE, size),
        "shift_rows": rng.uniform(-MAX_SHIFT, MAX_SHIFT, size),
        "shift_columns": rng.uniform(-MAX_SHIFT, MAX_SHIFT, size),
        "scale": rng.uniform(*SCALE_RANGE, size),
        "aspect": rng.uniform(*ASPECT_RANGE, size),
        "rotation": np.deg2rad(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES, size)),
        "slant": rng.uniform(-MAX_SLANT, MAX_SLANT, size),
        "elastic": rng.uniform(-ELASTIC_PIXELS, ELASTIC_PIXELS, (size, 2, ELASTIC_KNOTS, ELASTIC_KNOTS)),
        "frame": np.where(reframed, rng.uniform(*FRAME_RANGE, size), 0.0),
        "softness": rng.uniform(*SOFTNESS_RANGE, size),
        "gain": rng.uniform(*GAIN_RANGE, size),
    }


def flag_parameters(batch_size: int, seed: int, iteration: int) -> dict[str, np.ndarray]:
    """Random flag and base parameters for one iteration's ``batch_size`` images, each ``(batch_size,)``.

    Drawn for every image, whatever its label, from a stream of their own, so
    :func:`iteration_parameters` is as it was before flags existed. ``flag`` and
    ``base`` are booleans; angles in radians, lengths as fractions of the stick.
    """
    rng = np.random.default_rng((STREAM, seed, iteration, FLAG_LABEL))
    size = batch_size
    flag = rng.random(size) < FLAG_SHARE
    return {
        "flag": flag,
        "base": flag & (rng.random(size) < BASE_SHARE),
        "flag_angle": np.deg2rad(rng.uniform(*FLAG_ANGLE_DEGREES, size)),
        "flag_length": rng.uniform(*FLAG_LENGTH_RANGE, size),
        "base_left": rng.uniform(*BASE_HALF_LENGTH_RANGE, size),
        "base_right": rng.uniform(*BASE_HALF_LENGTH_RANGE, size),
        "base_tilt": np.deg2rad(rng.uniform(-BASE_TILT_DEGREES, BASE_TILT_DEGREES, size)),
    }


def _stroke(start: np.ndarray, end: np.ndarray, width: float) -> np.ndarray:
    """``(28, 28)`` coverage in [0, 1] of a round-capped pen ``width`` pixels wide
    from ``start`` to ``end`` (``(row, column)``), antialiased over a pixel."""
    rows, columns = np.indices((SOURCE_SIZE, SOURCE_SIZE), dtype=np.float64)
    along = end - start
    length_squared = max(float(along @ along), 1e-9)
    # Each pixel's nearest point on the segment, as a fraction of the way along it.
    fraction = np.clip(((rows - start[0]) * along[0] + (columns - start[1]) * along[1]) / length_squared, 0, 1)
    distance = np.hypot(rows - start[0] - fraction * along[0], columns - start[1] - fraction * along[1])
    return np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)


def _stick_ends(image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``(row, column)`` of the top and the foot of a 1's stick, or None without ink."""
    inked = image >= STICK_INK_FLOOR
    rows = np.flatnonzero(inked.any(axis=1))
    if len(rows) < 2:
        return None
    columns = np.arange(SOURCE_SIZE)

    def end(chosen: np.ndarray) -> np.ndarray:
        weights = inked[chosen]
        return np.array([chosen.mean(), (weights * columns).sum() / weights.sum()])

    return end(rows[:2]), end(rows[-2:])


def add_flags(images: np.ndarray, labels: np.ndarray, flags: dict[str, np.ndarray]) -> np.ndarray:
    """Write the 1s that ``flags`` picks the European way: ``(n, 28, 28)`` uint8 in and out.

    A flag is drawn from the top of the stick, turned from the stick towards
    the left by ``flag_angle``; a base is drawn across the foot, roughly level.
    Both use the digit's own pen: its ink over the stick's length gives the
    width, its brightest pixel the intensity. Other digits are returned as they are.
    """
    chosen = np.flatnonzero((labels == FLAG_LABEL) & flags["flag"])
    if not len(chosen):
        return images
    result = images.copy()
    for index in chosen:
        image = images[index]
        ends = _stick_ends(image)
        if ends is None:
            continue
        top, foot = ends
        length = float(np.hypot(*(top - foot)))
        if length < 4:
            continue
        width = float(np.clip(image.sum() / 255 / length, 1.0, 5.0))
        up = (top - foot) / length  # (row, column): towards the top of the stick
        # Turning (row, column) by +angle swings "up" towards the left on screen.
        angle = flags["flag_angle"][index]
        cos, sin = np.cos(angle), np.sin(angle)
        flag_direction = np.array([cos * up[0] - sin * up[1], sin * up[0] + cos * up[1]])
        ink = _stroke(top, top + flags["flag_length"][index] * length * flag_direction, width)
        if flags["base"][index]:
            tilt = flags["base_tilt"][index]
            level = np.array([np.sin(tilt), np.cos(tilt)])  # (row, column): to the right
            left = foot - flags["base_left"][index] * length * level
            right = foot + flags["base_right"][index] * length * level
            ink = np.maximum(ink, _stroke(left, right, width))
        result[index] = np.maximum(image, np.round(ink * image.max()).astype(np.uint8))
    return result


def identity_parameters(count: int) -> dict[str, np.ndarray]:
    """Parameters that leave ``count`` images as they are (a start for tests and measurements)."""
    zeros, ones = np.zeros(count), np.ones(count)
    return {
        "thickness": zeros, "shift_rows": zeros, "shift_columns": zeros, "scale": ones,
        "aspect": ones, "rotation": zeros, "slant": zeros,
        "elastic": np.zeros((count, 2, ELASTIC_KNOTS, ELASTIC_KNOTS)), "frame": zeros,
        "softness": zeros, "gain": ones,
    }


def _neighbourhood(pixels: np.ndarray, reduce) -> np.ndarray:
    """3×3 max (``np.maximum``) or min (``np.minimum``) filter of ``(n, 28, 28)``, zero border."""
    padded = np.pad(pixels, ((0, 0), (1, 1), (1, 1)))
    rows = reduce(reduce(padded[:, :-2], padded[:, 1:-1]), padded[:, 2:])  # (n, 28, 30)
    return reduce(reduce(rows[:, :, :-2], rows[:, :, 1:-1]), rows[:, :, 2:])  # (n, 28, 28)


def change_thickness(images: np.ndarray, thickness: np.ndarray) -> np.ndarray:
    """Blend ``(n, 28, 28)`` uint8 images towards their dilation (``thickness`` in (0, 1]),
    on towards their double dilation (in (1, 2]) or towards their erosion (< 0)
    by ``|thickness|``, per image; float32 in [0, 1]."""
    # Filter in uint8 (a quarter of float32's memory traffic), each image once.
    start = images.copy()
    thicker = thickness > 0
    target = np.empty_like(images)
    target[thicker] = _neighbourhood(images[thicker], np.maximum)
    target[~thicker] = _neighbourhood(images[~thicker], np.minimum)
    much = thickness > 1  # from one dilation on towards two
    start[much] = target[much]
    target[much] = _neighbourhood(target[much], np.maximum)
    weight = (np.where(much, thickness - 1, np.abs(thickness)) * (1 / 255)).astype(np.float32)
    return start * np.float32(1 / 255) + weight[:, None, None] * (target.astype(np.float32) - start)


def _knot_weights(knots: int, size: int = SOURCE_SIZE) -> np.ndarray:
    """``(size, knots)`` linear-interpolation weights from a coarse grid to the field's pixels."""
    positions = np.linspace(0, knots - 1, size)
    return np.maximum(0, 1 - np.abs(positions[:, None] - np.arange(knots)[None, :])).astype(np.float32)


def _sample(pixels: np.ndarray, source_rows: np.ndarray, source_columns: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``(n, 28, 28)`` ``pixels`` at ``(n, 28, 28)`` source positions;
    positions outside the field read background."""
    count = len(pixels)
    size = SOURCE_SIZE
    # The field is padded with one zero row/column before and two after, and
    # samples are clipped to the padding: whatever falls outside the field
    # reads background, and a sample's bottom-right neighbour always exists.
    limit = np.float32(size + 1)
    source_rows = np.clip(source_rows + np.float32(1), 0, limit)
    source_columns = np.clip(source_columns + np.float32(1), 0, limit)
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


def warp(pixels: np.ndarray, parameters: dict[str, np.ndarray]) -> np.ndarray:
    """Apply each image's affine map and elastic wobble to ``(n, 28, 28)`` float32 images, bilinear.

    The forward map is ``output = centre + shift + scale · R(rotation) · S(slant)
    · diag(1, aspect) · (input − centre)``; each output pixel reads the input at
    the inverse map of its own position, moved by the wobble.
    """
    size = SOURCE_SIZE
    centre = (size - 1) / 2
    cos, sin = np.cos(parameters["rotation"]), np.sin(parameters["rotation"])
    scale, slant, aspect = parameters["scale"], parameters["slant"], parameters["aspect"]
    # Forward linear part M = scale · R · S · A in (row, column) coordinates,
    # where the slant moves columns in proportion to height above the centre
    # (S = [[1, 0], [−slant, 1]]: ink higher up leans right), R turns
    # counter-clockwise on screen and A = diag(1, aspect) widens.
    m00 = scale * (cos + sin * slant)
    m01 = scale * (-sin) * aspect
    m10 = scale * (sin - cos * slant)
    m11 = scale * cos * aspect
    determinant = m00 * m11 - m01 * m10
    # Inverse map as source = A · (output − centre − shift) + centre; float32
    # throughout, it is all the arithmetic there is.
    inverse = (np.stack([m11, -m01, -m10, m00], axis=1) / determinant[:, None]).astype(np.float32)
    inverse = inverse[:, :, None, None]  # (n, 4, 1, 1)
    offsets = np.arange(size, dtype=np.float32) - np.float32(centre)
    out_rows = offsets[None, :, None] - parameters["shift_rows"].astype(np.float32)[:, None, None]
    out_columns = offsets[None, None, :] - parameters["shift_columns"].astype(np.float32)[:, None, None]
    # (n, 28, 1) and (n, 1, 28) broadcast to (n, 28, 28).
    source_rows = inverse[:, 0] * out_rows + inverse[:, 1] * out_columns + np.float32(centre)
    source_columns = inverse[:, 2] * out_rows + inverse[:, 3] * out_columns + np.float32(centre)
    elastic = np.asarray(parameters["elastic"], dtype=np.float32)
    if elastic.any():
        knots = _knot_weights(elastic.shape[-1])  # (28, K)
        wobble = knots @ elastic @ knots.T  # (28, K) @ (n, 2, K, K) @ (K, 28) → (n, 2, 28, 28)
        source_rows += wobble[:, 0]
        source_columns += wobble[:, 1]
    return _sample(pixels, source_rows, source_columns)


def reframe(pixels: np.ndarray, frame: np.ndarray, shift_rows: np.ndarray, shift_columns: np.ndarray) -> np.ndarray:
    """Frame each ``(28, 28)`` image as MNIST did, its box's longer side ``frame`` pixels.

    The ink's box (pixels above :data:`FRAME_INK_FLOOR`) is scaled about the
    centre of mass so its longer side is ``frame`` and the centre of mass put
    at :data:`FRAME_CENTRE` plus the shift (bilinear). Images whose ``frame`` is 0 are
    returned as they are.
    """
    chosen = np.flatnonzero(frame > 0)
    if not len(chosen):
        return pixels
    images = pixels[chosen]
    marked = images > FRAME_INK_FLOOR
    index = np.arange(SOURCE_SIZE, dtype=np.float32)
    rows_marked, columns_marked = marked.any(axis=2), marked.any(axis=1)  # (k, 28) each

    def extent(present: np.ndarray) -> np.ndarray:
        first = np.where(present, index, SOURCE_SIZE).min(axis=1)
        last = np.where(present, index, -1).max(axis=1)
        return np.maximum(last - first + 1, 1)

    longer = np.maximum(extent(rows_marked), extent(columns_marked))
    mass = np.maximum(images.sum(axis=(1, 2)), 1e-6)
    mass_row = (images.sum(axis=2) * index).sum(axis=1) / mass
    mass_column = (images.sum(axis=1) * index).sum(axis=1) / mass
    shrink = (longer / frame[chosen]).astype(np.float32)[:, None, None]  # source pixels per output pixel
    target_row = (FRAME_CENTRE + shift_rows[chosen]).astype(np.float32)[:, None, None]
    target_column = (FRAME_CENTRE + shift_columns[chosen]).astype(np.float32)[:, None, None]
    source_rows = mass_row[:, None, None] + shrink * (index[None, :, None] - target_row)
    source_columns = mass_column[:, None, None] + shrink * (index[None, None, :] - target_column)
    result = pixels.copy()
    result[chosen] = _sample(images, source_rows, source_columns)
    return result


def soften(pixels: np.ndarray, softness: np.ndarray) -> np.ndarray:
    """Blend ``(n, 28, 28)`` images towards their 3×3 [1, 2, 1] blur by ``softness`` each."""
    padded = np.pad(pixels, ((0, 0), (1, 1), (1, 1)))
    rows = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
    blurred = 0.25 * rows[:, :, :-2] + 0.5 * rows[:, :, 1:-1] + 0.25 * rows[:, :, 2:]
    weight = softness.astype(np.float32)[:, None, None]
    return pixels + weight * (blurred - pixels)


def augment_images(images: np.ndarray, parameters: dict[str, np.ndarray]) -> np.ndarray:
    """``(n, 28, 28)`` uint8 images → augmented ``(n, 28, 28)`` float32 in [0, 1]."""
    pixels = np.asarray(images)
    if pixels.ndim != 3 or pixels.shape[1:] != (SOURCE_SIZE, SOURCE_SIZE):
        raise ValueError(f"expected (n, 28, 28) images, got shape {pixels.shape}")
    reframed = parameters["frame"] > 0
    # A re-framed image is placed by its centre of mass: its shift applies there.
    placed = {**parameters, "shift_rows": np.where(reframed, 0.0, parameters["shift_rows"]),
              "shift_columns": np.where(reframed, 0.0, parameters["shift_columns"])}
    pixels = warp(change_thickness(pixels, parameters["thickness"]), placed)
    pixels = reframe(pixels, parameters["frame"], parameters["shift_rows"], parameters["shift_columns"])
    pixels = soften(pixels, parameters["softness"]) * parameters["gain"].astype(np.float32)[:, None, None]
    return np.clip(pixels, 0.0, 1.0)


def augmented_sequences(
    images: np.ndarray, plan: np.ndarray, seed: int, first_iteration: int,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """The model inputs for iterations ``first_iteration …`` of a batch plan, augmented.

    ``images``: ``(n_train, 28, 28)`` uint8; ``plan``: ``(k, batch)`` training
    indices, row ``j`` being iteration ``first_iteration + j`` (0-based);
    ``labels``: ``(n_train,)``, given so that some 1s are flagged (:func:`add_flags`).
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
        indices = plan[start:stop].reshape(-1)
        chosen = images[indices]
        if labels is not None:
            flags = [flag_parameters(batch_size, seed, first_iteration + row) for row in range(start, stop)]
            flags = {key: np.concatenate([part[key] for part in flags]) for key in flags[0]}
            chosen = add_flags(chosen, labels[indices], flags)
        augmented = augment_images(chosen, parameters)
        sequences[start * batch_size : stop * batch_size] = reduce_images(augmented)
    return sequences
