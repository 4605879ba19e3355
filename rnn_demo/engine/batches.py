"""What a training run trains on: the seeded batch plan and the minibatches it feeds.

Batches are drawn up front from a seeded NumPy generator, epoch by epoch
(every training image once per pass, in a fresh random order), so the same
seed gives the same batches on every backend. With ``config.augment`` each
chunk's batches are made from the 28×28 images by
:func:`rnn_demo.data.augment.augmented_sequences` (seeded by the seed and the
iteration), the next chunk prepared in a background thread while the current
one trains; without it the reduced images are fed as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rnn_demo.config import ConfigError, TrainConfig
from rnn_demo.data.augment import augmented_sequences
from rnn_demo.data.sources import Dataset

# With augmentation, chunks are this many iterations: short enough that the
# first is ready at once and the next is prepared in a thread while this one
# trains, long enough that the hand-off between them is rare.
AUGMENT_CHUNK_ITERATIONS = 50


def batch_plan(n_train: int, batch_size: int, iterations: int, seed: int) -> np.ndarray:
    """``(iterations, batch_size)`` training indices: shuffled passes, cut into batches."""
    if batch_size > n_train:
        raise ConfigError(
            f"batch_size {batch_size} is larger than the training set ({n_train} images)"
        )
    rng = np.random.default_rng(seed)
    per_pass = n_train // batch_size
    passes = math.ceil(iterations / per_pass)
    order = np.concatenate([rng.permutation(n_train)[: per_pass * batch_size] for _ in range(passes)])
    return order[: iterations * batch_size].reshape(iterations, batch_size)


def minibatches(config: TrainConfig, dataset: Dataset, plan: np.ndarray) -> Iterator[tuple]:
    """The run's minibatches in order: ``(batch, 16, 16)`` float32 inputs, ``(batch,)`` int32 labels."""
    labels = dataset.y_train.astype(np.int32)
    if not config.augment:
        sequences = dataset.train_sequences
        for indices in plan:
            yield sequences[indices], labels[indices]
        return

    def prepare(start: int) -> np.ndarray:
        chunk = plan[start : start + AUGMENT_CHUNK_ITERATIONS]
        return augmented_sequences(dataset.x_train, chunk, config.seed, start, labels=dataset.y_train)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="augment") as worker:
        upcoming = worker.submit(prepare, 0)
        for start in range(0, config.iterations, AUGMENT_CHUNK_ITERATIONS):
            inputs = upcoming.result()  # (chunk × batch, 16, 16)
            if start + AUGMENT_CHUNK_ITERATIONS < config.iterations:
                upcoming = worker.submit(prepare, start + AUGMENT_CHUNK_ITERATIONS)
            for offset, batch in enumerate(inputs.reshape(-1, config.batch_size, *inputs.shape[1:])):
                yield batch, labels[plan[start + offset]]
