"""Keras work, as jobs that run in a worker process (local pool or Ray).

The web process names a job from :data:`JOBS` and passes plain values (configs,
bytes, NumPy arrays); the worker sends plain values back (a
:class:`~rnn_demo.engine.records.RunRecord`, NumPy-twin arrays, bytes). Keras is
imported inside each job, never at the top, so the web process can import this.

A job talks to its caller through a :class:`Channel`: ``report`` sends an event
(``("progress", Progress)``, ``("weights", (iteration, twin arrays))``) and
``stop_requested`` says whether the visitor pressed Stop or left. Errors meant
for people come back as :class:`JobError`, defined here so that unpickling it
imports nothing heavy.
"""

from __future__ import annotations

import gc
import math
import os
from collections.abc import Callable
from typing import Protocol

import numpy as np

from rnn_demo.config import TrainConfig
from rnn_demo.errors import UserError

# Validation passes per live run: a readable curve (a point every tenth of the run)
# at under a tenth of the time (figures in docs/performance.md).
LIVE_VALIDATION_POINTS = 10
WARM_UP_ITERATIONS = 2
# Weight snapshots per live run, for *watch it learn*: about 1 % of the recipe's
# time, and still fresher than the live view redraws (bench/bench_watch.py).
LIVE_WEIGHT_SNAPSHOTS = 25


class JobError(UserError):
    """A job refused its input; the message is meant for people."""


class Channel(Protocol):
    def report(self, event: tuple) -> None: ...

    def stop_requested(self) -> bool: ...


class _NoChannel:
    def report(self, event: tuple) -> None:
        pass

    def stop_requested(self) -> bool:
        return False


class _StopFlag:
    """The engine's stop signal, read from the job's channel."""

    def __init__(self, channel: Channel):
        self.channel = channel

    def is_set(self) -> bool:
        return self.channel.stop_requested()


_datasets: dict = {}


def cached_dataset(name: str):
    """The dataset ``name``, loaded once per worker (a worker serves many jobs)."""
    if name not in _datasets:
        from rnn_demo.data.sources import load_dataset

        dataset = load_dataset(name)
        _ = dataset.train_sequences, dataset.valid_sequences  # reduce once, here
        _datasets[name] = dataset
    return _datasets[name]


def warm_up(channel: Channel) -> dict:
    """Import Keras and the engine and load the default dataset (seconds, paid once
    per worker, before any visitor waits); say what it runs on."""
    import rnn_demo.engine.persistence  # noqa: F401
    import rnn_demo.engine.training  # noqa: F401
    from rnn_demo.engine.devices import backend_name, gpu_names
    from rnn_demo.engine.training import keep_compiled_models
    from rnn_demo.engine.training import train as run_engine

    defaults = TrainConfig()
    # A worker hands each result on as twin arrays before its next job, so it
    # may keep compiled models: a run of a shape trained before starts at once.
    keep_compiled_models()
    # Two iterations of the chapter's recipe: TensorFlow's kernels, thread pools
    # and tracing machinery are set up now, and the recipe's step is compiled and
    # kept, so a visitor's first run neither waits for them nor finds the worker
    # a hundred MiB bigger afterwards.
    run_engine(defaults.replace(iterations=WARM_UP_ITERATIONS), cached_dataset(defaults.dataset))
    # What lives now lives about as long as the worker: frozen out of the
    # collector's sight, a full collection takes ~10 ms instead of ~150 ms
    # holding the interpreter (see docs/performance.md).
    gc.collect()
    gc.freeze()
    return {"backend": backend_name(), "gpus": gpu_names(), "pid": os.getpid(),
            "threads": int(os.environ.get("TF_NUM_INTRAOP_THREADS", 0)) or None}


def dataset(channel: Channel, name: str):
    """The :class:`~rnn_demo.data.sources.Dataset` ``name`` (arrays only), for the web process's views."""
    return cached_dataset(name)


def weights_interval(iterations: int) -> int:
    """Iterations between two weight snapshots: :data:`LIVE_WEIGHT_SNAPSHOTS` per run."""
    return max(1, math.ceil(iterations / LIVE_WEIGHT_SNAPSHOTS))


def train(channel: Channel, config: TrainConfig, validate_every: int | None = None,
          weights_every: int | None = None):
    """Train ``config`` on its dataset; ``(RunRecord, twin arrays)``.

    Progress goes to ``channel`` after every iteration; a stop request ends
    training after the current one (the record says ``"stopped"``). Every
    ``weights_every`` iterations (default :func:`weights_interval`; 0: never)
    the model's twin arrays go too, as ``("weights", (iteration, arrays))``.
    """
    from rnn_demo.engine.devices import resolve_device
    from rnn_demo.engine.training import train as run_engine
    from rnn_demo.twins.model import NumpyModel
    from rnn_demo.twins.twin_file import twin_arrays

    resolve_device(config.device)  # a GPU asked for on a CPU worker is refused here
    every = validate_every or max(1, math.ceil(config.iterations / LIVE_VALIDATION_POINTS))
    if weights_every is None:
        weights_every = weights_interval(config.iterations)
    iteration = [0]

    def progress(progress) -> None:
        iteration[0] = progress.iteration
        channel.report(("progress", progress))

    def weights(model) -> None:
        channel.report(("weights", (iteration[0], twin_arrays(NumpyModel.from_keras(model)))))

    result = run_engine(
        config, cached_dataset(config.dataset), on_progress=progress,
        stop=_StopFlag(channel), validate_every=every,
        on_weights=weights if weights_every else None, weights_every=weights_every or 1,
    )
    return result.record(), twin_arrays(NumpyModel.from_keras(result.model))


# How far the NumPy twin of an uploaded model may stray from Keras's own logits.
UPLOAD_PARITY = 1e-4


def read_upload(channel: Channel, data: bytes, name: str, max_bytes: int, check_images: np.ndarray,
                caps=None):
    """Load an uploaded ``.keras`` file in safe mode; ``(twin arrays, metadata)``.

    ``caps`` (:class:`~rnn_demo.engine.model_file.ModelCaps`, the host's limits) bound the model's
    size, checked from its config before any weight is built.

    The model must be built like this app's (``recurrent_1`` … SimpleRNN, GRU
    or LSTM layers, a Dense head ``logits``) and its NumPy twin must compute
    Keras's own logits on ``check_images`` ``(n, 16, 16)``; anything else is a
    :class:`~rnn_demo.engine.persistence.ModelFileError` with a message for the visitor.
    """
    from rnn_demo.engine.persistence import ModelFileError, load_model_bytes
    from rnn_demo.twins.model import NumpyModel
    from rnn_demo.twins.twin_file import twin_arrays

    loaded = load_model_bytes(data, name, max_bytes=max_bytes, caps=caps)
    try:
        numpy_model = NumpyModel.from_keras(loaded.model)
        ours = numpy_model.predict_logits(check_images)
    except ValueError as error:
        raise ModelFileError(
            f"{name}: the app can only read models built like its own (SimpleRNN, GRU or LSTM "
            f"layers named recurrent_1, recurrent_2, … and a Dense head named logits): {error}"
        ) from error
    theirs = np.asarray(loaded.model.predict_on_batch(check_images))
    if not np.allclose(ours, theirs, atol=UPLOAD_PARITY):
        raise ModelFileError(
            f"{name}: its layers are named like this app's, but it computes something else "
            "(extra layers or settings the app cannot look inside)"
        )
    return twin_arrays(numpy_model), loaded.metadata


def model_file(channel: Channel, config: TrainConfig, arrays: dict, metadata: dict) -> bytes:
    """The ``.keras`` file of a model of ``config`` with the twin ``arrays``' weights."""
    from rnn_demo.engine.models import build_model
    from rnn_demo.engine.persistence import model_bytes

    model = build_model(config)
    for layer in model.layers:
        if layer.name.startswith("recurrent_"):
            directions = (
                [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
                if hasattr(layer, "forward_layer") else [("forward", layer)]
            )
            for direction, part in directions:
                part.set_weights([arrays[f"{layer.name}/{direction}/{weight}"]
                                  for weight in ("kernel", "recurrent_kernel", "bias")])
        elif layer.name == "logits":
            layer.set_weights([arrays["logits/kernel"], arrays["logits/bias"]])
    return model_bytes(model, metadata)


def crash(channel: Channel, how: str) -> None:
    """Die the way a broken native library would (fault tests only)."""
    if how == "abort":
        os.abort()
    if how == "hang":
        import time

        while True:
            time.sleep(1)
    raise ValueError(f"unknown crash {how!r}")


JOBS: dict[str, Callable] = {
    "warm_up": warm_up,
    "dataset": dataset,
    "train": train,
    "read_upload": read_upload,
    "model_file": model_file,
    "crash": crash,
}


def release_memory() -> None:
    """Give back what a finished job left: Keras's global graph state, Python's
    garbage, and the C heap's free pages, so a worker's memory stays level from
    job to job. Keras's session is kept where the engine keeps compiled models
    (clearing it would empty TensorFlow's kernel cache under them). See docs/hosting.md.
    """
    import ctypes
    import sys

    engine = sys.modules.get("rnn_demo.engine.training")
    keeps_models = engine is not None and engine.keeps_compiled_models()
    if "keras" in sys.modules and not keeps_models:
        sys.modules["keras"].backend.clear_session(free_memory=True)
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the allocator keeps its pages, recycling still bounds them


def run_job(name: str, args: tuple, channel: Channel | None = None):
    """Run job ``name`` with ``args``; people's errors become :class:`JobError`."""
    try:
        return JOBS[name](channel or _NoChannel(), *args)
    except UserError as error:
        raise JobError(str(error)) from None
