"""Latency of the gradient view for one digit, beside the forward trace it accompanies.

Run: ``.venv/bin/python bench/bench_gradients.py [--hidden-units 64] [--repeats 100] [--rounds 5]``.

For each architecture it times, on one CPU core with untrained weights
(latency does not depend on them): (a) ``gradient_trace``, the forward pass
with every record kept plus backpropagation through time to ‖∂L/∂x_t‖ and
‖∂L/∂h_t‖ of every layer and direction; (b) ``NumpyModel.trace``, the forward
view the page already draws (every gate, the prefix readouts and the 16-row
importance). Each round measures both in turn; the table gives the p50 and p95
over all calls and the median over rounds of the per-round p50 ratio.
"""

from __future__ import annotations

import one_core  # noqa: F401 - pins to one core before NumPy starts its threads

# isort: split

import argparse  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import call_durations_ms  # noqa: E402
from rnn_demo.config import ARCHITECTURES, TrainConfig  # noqa: E402
from rnn_demo.engine.models import build_model  # noqa: E402
from rnn_demo.twins.gradients import gradient_trace  # noqa: E402
from rnn_demo.twins.model import NumpyModel  # noqa: E402


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
