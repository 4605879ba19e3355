"""Every data source and how each one fails, on real files on disk."""

import gzip
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnn_demo.data import sources
from rnn_demo.data.idx import DataError, read_idx, write_idx
from rnn_demo.data.sources import load_dataset, load_embedded

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def write_split_files(folder: Path, dataset, *, train=True, gz=True) -> Path:
    """Write ``dataset`` as the four standard IDX files (real MNIST format)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    parts = [("t10k", dataset.x_valid, dataset.y_valid)]
    if train:
        parts.append(("train", dataset.x_train, dataset.y_train))
    for prefix, images, labels in parts:
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


@pytest.fixture(scope="module")
def embedded():
    return load_embedded()


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the embedded sample ------------------------------------------------------


def test_embedded_split_is_stratified_disjoint_and_deterministic(embedded):
    assert (embedded.n_train, embedded.n_valid) == (4000, 1000)
    assert np.bincount(embedded.y_valid).tolist() == [100] * 10
    assert np.bincount(embedded.y_train).tolist() == [400] * 10
    assert embedded.x_train.dtype == np.uint8 and embedded.x_train.shape[1:] == (28, 28)
    train_rows = {image.tobytes() for image in embedded.x_train}
    assert not any(image.tobytes() in train_rows for image in embedded.x_valid)
    again = load_embedded()
    assert np.array_equal(again.y_train, embedded.y_train)
    assert np.array_equal(again.x_valid, embedded.x_valid)
    assert embedded.source == "embedded" and "CC BY-SA 3.0" in embedded.notes[0]


def test_sequences_are_reduced_once(embedded):
    assert embedded.valid_sequences.shape == (1000, 16, 16)
    assert embedded.valid_sequences is embedded.valid_sequences


def test_damaged_embedded_file_is_detected(tmp_path, monkeypatch):
    damaged = tmp_path / "mnist_5k.npz"
    damaged.write_bytes(sources.EMBEDDED_PATH.read_bytes()[:-10])
    monkeypatch.setattr(sources, "EMBEDDED_PATH", damaged)
    with pytest.raises(DataError, match="checksum mismatch"):
        load_embedded()


# --- Keras's downloader, offline --------------------------------------------


def test_without_network_mnist_falls_back_to_the_sample_within_seconds(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(sources, "DOWNLOAD_HOST", ("127.0.0.1", closed_port()))
    started = time.monotonic()
    dataset = load_dataset("mnist", allow_download=True)
    assert time.monotonic() - started < sources.PROBE_SECONDS + 2
    assert dataset.source == "embedded"
    assert "cannot reach 127.0.0.1" in dataset.description
    assert (dataset.n_train, dataset.n_valid) == (4000, 1000)


def test_without_network_fashion_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(sources, "DOWNLOAD_HOST", ("127.0.0.1", closed_port()))
    with pytest.raises(DataError, match="Fashion-MNIST is not available.*--data-dir"):
        load_dataset("fashion", allow_download=True)


def test_offline_switch_skips_the_downloader(monkeypatch):
    monkeypatch.setenv("RNN_DEMO_OFFLINE", "1")
    dataset = load_dataset("mnist")
    assert dataset.source == "embedded" and "downloads are switched off" in dataset.description


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="needs Debian's dataset-fashion-mnist (make test installs it)")
def test_keras_cache_is_used_without_network(tmp_path):
    """Keras reads $KERAS_HOME at import, so this runs in a fresh process (the CLI)."""
    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for file in FASHION_DIR.iterdir():
        shutil.copy(file, cache / file.name)
    environment = {**os.environ, "KERAS_HOME": str(tmp_path / "keras")}
    environment.pop("RNN_DEMO_OFFLINE", None)
    completed = subprocess.run(
        [sys.executable, "-m", "rnn_demo", "train", "--dataset", "fashion", "--arch", "rnn",
         "--iterations", "2", "--json"],
        capture_output=True, text=True, env=environment, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout.splitlines()[-1])
    assert summary["data_source"] == "keras" and "Keras's cache" in summary["data_description"]
    assert (summary["n_train"], summary["n_valid"]) == (60_000, 10_000)


# --- a directory the user names ---------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_directory_round_trip(tmp_path, embedded, gz):
    folder = write_split_files(tmp_path / "idx", embedded, gz=gz)
    dataset = load_dataset("mnist", folder)
    assert dataset.source == "data-dir" and str(folder) in dataset.description
    assert np.array_equal(dataset.x_train, embedded.x_train)
    assert np.array_equal(dataset.y_valid, embedded.y_valid)


def test_data_dir_from_environment(tmp_path, embedded, monkeypatch):
    folder = write_split_files(tmp_path / "idx", embedded)
    monkeypatch.setenv("RNN_DEMO_DATA_DIR", str(folder))
    assert load_dataset("mnist").source == "data-dir"


def test_test_files_alone_are_enough_for_evaluation(tmp_path, embedded):
    folder = write_split_files(tmp_path / "idx", embedded, train=False)
    dataset = load_dataset("mnist", folder, need_train=False)
    assert (dataset.n_train, dataset.n_valid) == (0, 1000)
    with pytest.raises(DataError, match="does not hold a complete dataset.*train-images-idx3-ubyte"):
        load_dataset("mnist", folder)


def test_keras_style_npz(tmp_path, embedded):
    np.savez(
        tmp_path / "mnist.npz",
        x_train=embedded.x_train, y_train=embedded.y_train,
        x_test=embedded.x_valid, y_test=embedded.y_valid,
    )
    dataset = load_dataset("mnist", tmp_path)
    assert (dataset.n_train, dataset.n_valid) == (4000, 1000)
    assert "mnist.npz" in dataset.description


def test_missing_directory_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist", tmp_path / "nowhere")
    with pytest.raises(DataError, match="does not hold a complete dataset"):
        load_dataset("mnist", tmp_path)


def test_truncated_idx_file_is_named(tmp_path, embedded):
    folder = write_split_files(tmp_path / "idx", embedded, gz=False)
    images = folder / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: truncated: header promises 3,136,000"):
        load_dataset("mnist", folder)


def test_corrupt_gzip_is_named(tmp_path, embedded):
    folder = write_split_files(tmp_path / "idx", embedded)
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(b"this is not gzip at all")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: cannot be read"):
        load_dataset("mnist", folder)


def test_bad_magic_number(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x08\x03" + b"\x00" * 20)
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(path)


def test_label_count_mismatch_is_named(tmp_path, embedded):
    folder = write_split_files(tmp_path / "idx", embedded, gz=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", embedded.y_valid[:999])
    with pytest.raises(DataError, match="has 999 labels but t10k-images-idx3-ubyte has 1,000 images"):
        load_dataset("mnist", folder)


def test_wrong_image_size_and_labels_out_of_range(tmp_path, embedded):
    folder = write_split_files(tmp_path / "idx", embedded, gz=False)
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((1000, 16, 16), np.uint8))
    with pytest.raises(DataError, match=r"expected uint8 images of shape \(n, 28, 28\)"):
        load_dataset("mnist", folder)
    write_idx(folder / "t10k-images-idx3-ubyte", embedded.x_valid)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.full(1000, 12, np.uint8))
    with pytest.raises(DataError, match="labels must be 0–9"):
        load_dataset("mnist", folder)


def test_npz_missing_arrays_and_garbage(tmp_path):
    np.savez(tmp_path / "data.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="missing arrays"):
        load_dataset("mnist", tmp_path)
    (tmp_path / "data.npz").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_dataset("mnist", tmp_path)


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="needs Debian's dataset-fashion-mnist (make test installs it)")
def test_full_size_fashion_from_debian_package():
    dataset = load_dataset("fashion", FASHION_DIR)
    assert (dataset.n_train, dataset.n_valid) == (60_000, 10_000)
    assert dataset.class_names[9] == "Ankle boot"
    with gzip.open(FASHION_DIR / "t10k-labels-idx1-ubyte.gz") as stream:
        first_label = stream.read()[8]
    assert dataset.y_valid[0] == first_label


def test_available_sources_reports_each_source(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "DOWNLOAD_HOST", ("127.0.0.1", closed_port()))
    report = sources.available_sources(tmp_path)
    assert report["data_dir"] == str(tmp_path)
    assert report["network"] == "unreachable"
    assert report["embedded"].startswith("mnist_5k.npz")
    assert os.fspath(tmp_path) in report.values()


@pytest.mark.parametrize("gz", [False, True])
def test_an_idx_header_promising_65536_to_the_fourth_items_is_refused_unread(tmp_path, gz):
    path = tmp_path / ("huge-idx4-ubyte" + (".gz" if gz else ""))
    header = bytes([0, 0, 0x08, 4]) + struct.pack(">4I", *[65535] * 4)
    opener = gzip.open if gz else open
    with opener(path, "wb") as stream:
        stream.write(header + b"\0" * 64)
    with pytest.raises(DataError, match=r"header promises 18,445,618,199,572,250,625 bytes .* over the 268,435,456"):
        read_idx(path)


def test_an_idx_gzip_that_inflates_past_its_header_is_not_held_in_memory(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as stream:
        stream.write(bytes([0, 0, 0x08, 1]) + struct.pack(">I", 10))
        for _ in range(300):
            stream.write(b"\0" * 2**20)  # 300 MiB of trailing zeros in about 300 KB
    assert path.stat().st_size < 2_000_000
    with pytest.raises(DataError, match="has trailing bytes: header promises 10 bytes"):
        read_idx(path)
