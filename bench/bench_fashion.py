"""The whole ``train`` command against a plain Keras script, on full Fashion-MNIST.

Runs, alternately and as separate processes (imports, loading and reduction included),
``python -m rnn_demo train --dataset fashion ... --json`` and ``python -m
bench.plain_keras_script DIR``; prints each run, then the median wall time of each,
the ratio plain ÷ engine (≥ 1: the command is no slower) and both validation
accuracies. See docs/performance.md.

    python -m bench.bench_fashion [--data-dir /usr/share/datasets/fashion-mnist] [--arch lstm]
        [--iterations 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str]) -> tuple[float, dict]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--arch", default="lstm")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    engine_command = [
        sys.executable, "-m", "rnn_demo", "train", "--dataset", "fashion", "--data-dir", args.data_dir,
        "--arch", args.arch, "--iterations", str(args.iterations), "--json",
    ]
    plain_command = [
        sys.executable, "-m", "bench.plain_keras_script", args.data_dir,
        "--arch", args.arch, "--iterations", str(args.iterations),
    ]
    engine_times, plain_times = [], []
    for repeat in range(args.repeats):
        engine_seconds, engine = timed(engine_command)
        plain_seconds, plain = timed(plain_command)
        engine_times.append(engine_seconds)
        plain_times.append(plain_seconds)
        print(
            f"run {repeat + 1}: engine {engine_seconds:.1f} s (val_acc {engine['val_accuracy']:.4f}, "
            f"n_train {engine['n_train']}, n_valid {engine['n_valid']}), "
            f"plain {plain_seconds:.1f} s (val_acc {plain['val_accuracy']:.4f})",
            flush=True,
        )
    engine_median, plain_median = statistics.median(engine_times), statistics.median(plain_times)
    print(
        f"median: engine {engine_median:.1f} s, plain {plain_median:.1f} s, "
        f"ratio plain/engine {plain_median / engine_median:.2f}"
    )


if __name__ == "__main__":
    main()
