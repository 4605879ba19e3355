"""Latency of the gradient view for one digit, beside the forward trace it accompanies.

Per architecture, on one CPU core with untrained weights (latency does not depend on
them), rounds that time ``gradient_trace`` (the forward pass with every record kept, and
backpropagation through time) and ``NumpyModel.trace`` in turn; prints the p50/p95 of
each over all calls and the median over rounds of the p50 ratio. See docs/performance.md.

    python -m bench.bench_gradients [--hidden-units 64] [--repeats 100] [--rounds 5]
"""

from __future__ import annotations

from bench import one_core  # noqa: F401 - pins to one core before NumPy starts its threads

# isort: split

import argparse
import os
import platform
from functools import partial

import numpy as np

from bench.timing import call_durations_ms
from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.engine.models import build_model
from rnn_demo.twins.gradients import gradient_trace
from rnn_demo.twins.model import NumpyModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden-units", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=100, help="calls per round and view")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()

    image = np.random.default_rng(0).random((16, 16), dtype=np.float32)
    print(
        f"one image, hidden {arguments.hidden_units}, {arguments.rounds} rounds × {arguments.repeats} "
        f"calls, one CPU core ({platform.machine()}, {os.cpu_count()} cores), NumPy {np.__version__}"
    )
    print(
        f"{'arch':8} {'gradient p50':>12} {'p95':>8} {'trace p50':>10} {'p95':>8} "
        f"{'gradient/trace (median of rounds)':>34}"
    )
    for arch in ARCHITECTURES:
        model = build_model(TrainConfig(arch=arch, hidden_units=arguments.hidden_units))
        numpy_model = NumpyModel.from_keras(model)
        gradient_view = partial(gradient_trace, numpy_model, image, 3)
        trace_view = partial(numpy_model.trace, image)
        gradients, traces, ratios = [], [], []
        for _ in range(arguments.rounds):
            gradient_times = call_durations_ms(gradient_view, arguments.repeats)
            trace_times = call_durations_ms(trace_view, arguments.repeats)
            gradients.append(gradient_times)
            traces.append(trace_times)
            ratios.append(np.median(gradient_times) / np.median(trace_times))
        gradient_all, trace_all = np.concatenate(gradients), np.concatenate(traces)
        print(
            f"{arch:8} {np.percentile(gradient_all, 50):10.2f}ms {np.percentile(gradient_all, 95):6.2f}ms "
            f"{np.percentile(trace_all, 50):8.2f}ms {np.percentile(trace_all, 95):6.2f}ms "
            f"{np.median(ratios):33.2f}×"
        )


if __name__ == "__main__":
    main()
