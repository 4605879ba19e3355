"""The baseline a reader would write by hand: load, reduce, fit, evaluate.

Reads the four IDX files with NumPy, reduces to 16×16, builds the same model, runs
``model.fit`` for the same number of minibatch steps and ``model.evaluate`` on the
test split; no engine, no callbacks. Prints one JSON line ``{"val_accuracy", "seconds"}``.

    python -m bench.plain_keras_script DATA_DIR [--arch lstm] [--iterations 300]
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

started = time.perf_counter()  # imports included, as in the command it is compared with

import keras  # noqa: E402
import numpy as np  # noqa: E402

from rnn_demo.config import TrainConfig  # noqa: E402
from rnn_demo.data.reduction import reduce_images  # noqa: E402
from rnn_demo.engine.models import build_model, compile_model  # noqa: E402


def read(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path) as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--arch", default="lstm")
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    config = TrainConfig(arch=args.arch, iterations=args.iterations)

    x_train = read(args.data_dir / "train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    y_train = read(args.data_dir / "train-labels-idx1-ubyte.gz", 8)
    x_test = read(args.data_dir / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    y_test = read(args.data_dir / "t10k-labels-idx1-ubyte.gz", 8)
    x_train, x_test = reduce_images(x_train), reduce_images(x_test)

    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    compile_model(model, config.learning_rate, metrics=["accuracy"])
    # Exactly `iterations` minibatch steps: shuffled passes over the training
    # set, concatenated and cut, then one plain fit over them.
    rng = np.random.default_rng(config.seed)
    passes = -(-config.iterations * config.batch_size // len(x_train))
    order = np.concatenate([rng.permutation(len(x_train)) for _ in range(passes)])
    order = order[: config.iterations * config.batch_size]
    model.fit(x_train[order], y_train[order], batch_size=config.batch_size, epochs=1, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=2000, verbose=0)
    print(json.dumps({"val_accuracy": accuracy, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
