"""Latency of a full NumPy trace of one image versus one eager Keras prediction.

Per architecture, on one CPU core with untrained weights, prints the p50 and p95 ms of
``NumpyModel.trace`` (every layer, direction, gate, prefix readout and the row
importance) and of ``model(x, training=False)``, and their p50 ratio. See
docs/performance.md.

    python -m bench.bench_trace [--hidden-units 64] [--repeats 200]
"""

from __future__ import annotations

from bench import one_core  # noqa: F401 - pins to one core before NumPy starts its threads

# isort: split

import argparse
from functools import partial

import numpy as np

from bench.timing import call_durations_ms
from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.engine.models import build_model
from rnn_demo.twins.model import NumpyModel


def percentiles_ms(function, repeats: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``repeats`` calls, after 5 warm-up calls."""
    durations = call_durations_ms(function, repeats, warm_up=5)
    return float(np.percentile(durations, 50)), float(np.percentile(durations, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-units", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=200)
    arguments = parser.parse_args()

    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    image = np.random.default_rng(0).random((1, 16, 16), dtype=np.float32)
    print(
        f"one image, hidden {arguments.hidden_units}, {arguments.repeats} repeats, "
        f"one CPU core, Keras {keras.__version__} on {backend}"
    )
    print(f"{'arch':8} {'trace p50':>10} {'p95':>8} {'keras p50':>10} {'p95':>8} {'p50 ratio':>10}")
    for arch in ARCHITECTURES:
        model = build_model(TrainConfig(arch=arch, hidden_units=arguments.hidden_units))
        numpy_model = NumpyModel.from_keras(model)
        trace_p50, trace_p95 = percentiles_ms(
            partial(numpy_model.trace, image[0]), arguments.repeats
        )
        keras_p50, keras_p95 = percentiles_ms(
            partial(model, image, training=False), arguments.repeats
        )
        print(
            f"{arch:8} {trace_p50:8.2f}ms {trace_p95:6.2f}ms {keras_p50:8.2f}ms "
            f"{keras_p95:6.2f}ms {keras_p50 / trace_p50:9.1f}×"
        )


if __name__ == "__main__":
    main()
