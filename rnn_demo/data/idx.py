"""The files a dataset is read from: IDX (optionally gzipped) and Keras-style ``.npz``.

Every reader checks what it read, so that a model only ever trains on labelled
28×28 uint8 images, and every problem is a :class:`DataError` naming the file
and what is wrong. :mod:`rnn_demo.data.sources` decides which files to read.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from rnn_demo.errors import UserError

IMAGE_SIZE = 28
CLASSES = 10
# The most one IDX file may hold: 5× full MNIST's training images (47 MB).
MAX_IDX_BYTES = 2**28


class DataError(UserError, RuntimeError):
    """A dataset could not be loaded; the message says which file and why."""


def empty_split() -> tuple[np.ndarray, np.ndarray]:
    """No images ``(0, 28, 28)`` and no labels ``(0,)``, both uint8."""
    return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8), np.zeros((0,), np.uint8)


def find_idx(directory: Path, stem: str) -> Path | None:
    """The file for ``stem``, plain or gzipped, in the standard or dotted spelling."""
    dotted = stem.replace("-idx", ".idx")
    for candidate in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / candidate).is_file():
            return directory / candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file of unsigned bytes (gzipped if it ends in ``.gz``).

    The header's sizes are multiplied as Python integers and checked against
    :data:`MAX_IDX_BYTES` before the data is read, so a header that promises
    65536⁴ items (or a gzip that inflates without end) is refused, not read.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            magic = stream.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
                raise DataError(f"{path}: not an IDX file (bad magic number)")
            if magic[2] != 0x08:
                raise DataError(f"{path}: IDX data type 0x{magic[2]:02x} is not unsigned bytes (0x08)")
            dimensions = magic[3]
            sizes = stream.read(4 * dimensions)
            if dimensions == 0 or len(sizes) < 4 * dimensions:
                raise DataError(f"{path}: truncated IDX header")
            shape = struct.unpack(f">{dimensions}I", sizes)
            expected = math.prod(shape)
            if expected > MAX_IDX_BYTES:
                raise DataError(
                    f"{path}: header promises {expected:,} bytes of shape {shape}, over the "
                    f"{MAX_IDX_BYTES:,} this reader accepts"
                )
            body = stream.read(expected)
            found = len(body) + _count_rest(stream, MAX_IDX_BYTES - len(body))
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot be read ({error})") from error
    if found != expected:
        problem = "truncated" if found < expected else "has trailing bytes"
        raise DataError(
            f"{path}: {problem}: header promises {expected:,} bytes of shape {shape}, "
            f"file holds {found:,}"
        )
    return np.frombuffer(body, np.uint8).reshape(shape)


def _count_rest(stream, most: int) -> int:
    """Bytes left in ``stream`` (read and dropped a MiB at a time), stopping past ``most``."""
    count = 0
    while count <= most and (chunk := stream.read(2**20)):
        count += len(chunk)
    return count


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzipped if ``path`` ends in ``.gz``).

    The inverse of :func:`read_idx`; used to export splits for ``evaluate``.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as stream:
        stream.write(header + array.tobytes())
    return path


def read_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels from a pair of IDX files, checked against each other."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    check_arrays(images, labels, images_path.name, labels_path.name)
    return images, labels


def read_npz(path: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Read a Keras-style archive with ``x_train, y_train, x_test, y_test``."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(archive.files)
            if missing:
                raise DataError(f"{path}: missing arrays {', '.join(sorted(missing))}")
            arrays = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from error
    for images_key, labels_key, images, labels in (
        ("x_train", "y_train", arrays[0], arrays[1]),
        ("x_test", "y_test", arrays[2], arrays[3]),
    ):
        check_arrays(images, labels, f"{path.name}[{images_key}]", f"{path.name}[{labels_key}]")
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def check_arrays(images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str) -> None:
    """Reject arrays that would train on something other than labelled 28×28 images."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(
            f"{images_name}: expected uint8 images of shape (n, 28, 28), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{labels_name}: expected one integer label per image, got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise DataError(
            f"{labels_name} has {len(labels):,} labels but {images_name} has {len(images):,} images"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= CLASSES):
        raise DataError(f"{labels_name}: labels must be 0–9, found {labels.min()}–{labels.max()}")
