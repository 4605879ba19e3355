"""Digits from handwriting fonts: a test set that is not MNIST's writers.

The embedded MNIST sample's held-out digits share their writers' habits with
the training digits. This set does not: each digit 0–9 is rendered from
:data:`FONTS`, handwriting-like fonts from Debian's font packages (people's
own hands digitised as fonts, and a few informal "comic" faces), and each
rendering is distorted the way handwriting varies: pen thickness, a turn, a
slant, a wider or narrower hand, a smooth elastic wobble, soft edges and
fainter ink. The result goes through the app's own canvas pipeline
(:func:`rnn_demo.data.canvas.preprocess_canvas`): the digit's box scaled into
20×20, centred by its centre of mass in 28×28 (as MNIST was framed), then the
project's 28 → 16 reduction.

It is a test set only: nothing trains on it. It is deterministic (seeded),
and needs the Debian packages in :data:`PACKAGES` installed (``make test``
installs them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from rnn_demo.data.canvas import CanvasInput, preprocess_canvas

FONT_ROOT = Path("/usr/share/fonts")
# (Debian package, font file under /usr/share/fonts). Chosen from the
# packages' sheets of digits: faces whose digits read as handwriting; outline
# and lined fonts, and one whose 4 is drawn like a 9, were left out.
FONTS: tuple[tuple[str, str], ...] = (
    ("fonts-bwht", "opentype/bwht/BecauseWeBuild-Regular.otf"),
    ("fonts-bwht", "opentype/bwht/BecauseWeConnect-Regular.otf"),
    ("fonts-bwht", "opentype/bwht/BecauseWeCreate-Regular.otf"),
    ("fonts-bwht", "opentype/bwht/BecauseWeLearn-Regular.otf"),
    ("fonts-bwht", "opentype/bwht/BecauseWeMentor-Regular.otf"),
    ("fonts-bwht", "opentype/bwht/BecauseWeOrganize-Regular.otf"),
    ("fonts-dkg-handwriting", "truetype/fifthhorseman/dkg.ttf"),
    ("fonts-dkg-handwriting", "truetype/fifthhorseman/dkgBd.ttf"),
    ("fonts-dkg-handwriting", "truetype/fifthhorseman/dkgIt.ttf"),
    ("fonts-dkg-handwriting", "truetype/fifthhorseman/dkgBI.ttf"),
    ("fonts-sjfonts", "truetype/sjfonts/Delphine.ttf"),
    ("fonts-sjfonts", "truetype/sjfonts/SteveHand.ttf"),
    ("fonts-breip", "truetype/breip/Breip.ttf"),
    ("fonts-humor-sans", "truetype/humor-sans/Humor-Sans.ttf"),
    ("fonts-rufscript", "truetype/rufscript/Rufscript010.ttf"),
    ("fonts-tomsontalks", "truetype/tomsontalks/TomsonTalks.ttf"),
    ("fonts-tlwg-purisa-otf", "opentype/tlwg/Purisa.otf"),
    ("fonts-tlwg-purisa-otf", "opentype/tlwg/Purisa-Oblique.otf"),
    ("fonts-comic-neue", "opentype/comic-neue/ComicNeue-Regular.otf"),
    ("fonts-comic-neue", "opentype/comic-neue/ComicNeue-Italic.otf"),
)
PACKAGES = tuple(sorted({package for package, _ in FONTS}))
VARIATIONS = 10  # distorted renderings per font and digit: 20 × 10 × 10 = 2,000 digits
SEED = 1989
FIELD = 128  # pixels of the square each digit is rendered and distorted in
GLYPH_SIZE = 72  # font size in pixels: digits about 50 pixels tall, room to turn and wobble
# Distortions, uniform in these ranges (angles in degrees, lengths in FIELD pixels).
ROTATION_RANGE = (-10.0, 10.0)
SLANT_RANGE = (-0.25, 0.25)  # horizontal shear per pixel of height
ASPECT_RANGE = (0.8, 1.2)  # width relative to the font's
STROKE_WIDTHS = (0, 0, 1, 2, 3)  # Pillow's text outline: 0 is the font's own pen
THINNING = 0.25  # chance of a thinner pen (a 3×3 minimum filter) when no outline is added
ELASTIC_PIXELS = 3.0  # largest displacement of the elastic wobble
ELASTIC_KNOTS = 4  # the wobble is a smooth field through a 4×4 grid of random offsets
BLUR_RANGE = (0.0, 2.0)  # Gaussian blur radius: soft edges
INK_RANGE = (0.7, 1.0)  # the strongest ink's intensity: fainter pens and scans


@dataclass(frozen=True, eq=False)
class FontDigits:
    """The font set: ``sequences`` ``(n, 16, 16)`` float32 (the model's input),
    ``images28`` ``(n, 28, 28)`` float32, ``labels`` ``(n,)`` int64, ``fonts``
    (the font file's name per digit)."""

    sequences: np.ndarray
    images28: np.ndarray
    labels: np.ndarray
    fonts: tuple[str, ...]


def font_paths() -> list[Path]:
    """The fonts' files, or ``FileNotFoundError`` naming the Debian packages to install."""
    paths = [FONT_ROOT / relative for _, relative in FONTS]
    missing = sorted({package for (package, _), path in zip(FONTS, paths, strict=True) if not path.is_file()})
    if missing:
        raise FileNotFoundError(
            f"the font digit set needs Debian's {', '.join(missing)}: apt-get install {' '.join(PACKAGES)}"
        )
    return paths


def render_glyph(font: ImageFont.FreeTypeFont, digit: int, stroke: int) -> np.ndarray:
    """``(FIELD, FIELD)`` float64 ink in [0, 1]: ``digit`` in ``font``, centred, outlined ``stroke`` pixels."""
    image = Image.new("L", (FIELD, FIELD), 0)
    ImageDraw.Draw(image).text(
        (FIELD / 2, FIELD / 2), str(digit), font=font, fill=255, anchor="mm",
        stroke_width=stroke, stroke_fill=255,
    )
    return np.asarray(image, dtype=np.float64) / 255


def _affine(ink: np.ndarray, rotation: float, slant: float, aspect: float) -> np.ndarray:
    """Turn, slant and widen ``ink`` about the field's centre (bicubic, Pillow's inverse map)."""
    angle = np.deg2rad(rotation)
    cos, sin = np.cos(angle), np.sin(angle)
    # Forward map on (x, y) offsets from the centre, y down: widen, then slant
    # (ink higher up moves right), then turn; Pillow wants the inverse.
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, -slant], [0.0, 1.0]]) @ np.diag([aspect, 1.0])
    inverse = np.linalg.inv(forward)
    centre = FIELD / 2
    offset = np.array([centre, centre]) - inverse @ np.array([centre, centre])
    coefficients = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    image = Image.fromarray(ink.astype(np.float32), mode="F")
    turned = image.transform((FIELD, FIELD), Image.Transform.AFFINE, coefficients, Image.Resampling.BICUBIC)
    return np.clip(np.asarray(turned, dtype=np.float64), 0.0, 1.0)


def _smooth_field(rng: np.random.Generator) -> np.ndarray:
    """``(FIELD, FIELD)`` displacement: random offsets at a knot grid, bilinearly interpolated."""
    knots = rng.uniform(-ELASTIC_PIXELS, ELASTIC_PIXELS, (ELASTIC_KNOTS, ELASTIC_KNOTS))
    positions = np.linspace(0, ELASTIC_KNOTS - 1, FIELD)
    rows = np.stack([np.interp(positions, np.arange(ELASTIC_KNOTS), column) for column in knots.T], axis=1)
    return np.stack([np.interp(positions, np.arange(ELASTIC_KNOTS), row) for row in rows])


def _elastic(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``ink`` read through a smooth random displacement (bilinear)."""
    rows, columns = np.indices(ink.shape, dtype=np.float64)
    source_rows = np.clip(rows + _smooth_field(rng), 0, FIELD - 1.001)
    source_columns = np.clip(columns + _smooth_field(rng), 0, FIELD - 1.001)
    top, left = np.floor(source_rows).astype(int), np.floor(source_columns).astype(int)
    down, right = source_rows - top, source_columns - left
    upper = ink[top, left] * (1 - right) + ink[top, left + 1] * right
    lower = ink[top + 1, left] * (1 - right) + ink[top + 1, left + 1] * right
    return upper * (1 - down) + lower * down


def distorted_digit(font: ImageFont.FreeTypeFont, digit: int, rng: np.random.Generator) -> np.ndarray:
    """One distorted rendering of ``digit`` as a canvas image, ``(FIELD, FIELD, 4)`` uint8, white on black."""
    stroke = int(rng.choice(STROKE_WIDTHS))
    ink = render_glyph(font, digit, stroke)
    if stroke == 0 and rng.random() < THINNING:
        thinner = Image.fromarray(np.uint8(np.rint(255 * ink))).filter(ImageFilter.MinFilter(3))
        ink = np.asarray(thinner, dtype=np.float64) / 255
    ink = _affine(ink, rng.uniform(*ROTATION_RANGE), rng.uniform(*SLANT_RANGE), rng.uniform(*ASPECT_RANGE))
    ink = _elastic(ink, rng)
    blurred = Image.fromarray(np.uint8(np.rint(255 * ink))).filter(ImageFilter.GaussianBlur(rng.uniform(*BLUR_RANGE)))
    grey = np.asarray(blurred, dtype=np.float64) / 255
    grey = grey / max(grey.max(), 1e-9) * rng.uniform(*INK_RANGE)
    rgba = np.empty((FIELD, FIELD, 4), dtype=np.uint8)
    rgba[..., :3] = np.uint8(np.rint(255 * grey))[..., None]
    rgba[..., 3] = 255
    return rgba


@lru_cache(maxsize=1)
def font_digit_set(variations: int = VARIATIONS, seed: int = SEED) -> FontDigits:
    """Every digit of every font, ``variations`` distorted renderings each, through the canvas pipeline."""
    rng = np.random.default_rng(seed)
    sequences, images, labels, names = [], [], [], []
    for path in font_paths():
        font = ImageFont.truetype(str(path), GLYPH_SIZE)
        for digit in range(10):
            for _ in range(variations):
                prepared = preprocess_canvas(distorted_digit(font, digit, rng))
                if not isinstance(prepared, CanvasInput):
                    raise RuntimeError(f"{path.name}'s {digit} read as nothing drawn")
                sequences.append(prepared.image16)
                images.append(prepared.image28)
                labels.append(digit)
                names.append(path.name)
    return FontDigits(np.stack(sequences), np.stack(images), np.asarray(labels, dtype=np.int64), tuple(names))
