"""What augmentation costs: images per second, and training time with it on and off.

Prints the images/s of the augmentation (thickness, affine warp, 28→16 reduction)
against the reduction alone; then per architecture, each in a fresh process, the
median wall seconds with ``augment`` off and on and the median over alternating
pairs of on/off wall and CPU time (1.0 = free). See docs/performance.md.

    python -m bench.bench_augment [--repeats 3] [--iterations 200] [--arch lstm ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RNN_DEMO_OFFLINE", "1")

import numpy as np  # noqa: E402

from rnn_demo.data.augment import augmented_sequences  # noqa: E402
from rnn_demo.data.reduction import reduce_images  # noqa: E402
from rnn_demo.data.sources import load_embedded  # noqa: E402

DEFAULT_ARCHS = ("rnn", "lstm", "deep")


def augmentation_speed(repeats: int) -> None:
    digits = load_embedded()
    plan = np.arange(digits.n_train).reshape(-1, 500)
    timings: dict[str, list[float]] = {"reduction alone": [], "augmented + reduction": []}
    for repeat in range(repeats):
        started = time.perf_counter()
        reduce_images(digits.x_train[plan.reshape(-1)])
        timings["reduction alone"].append(time.perf_counter() - started)
        started = time.perf_counter()
        augmented_sequences(digits.x_train, plan, seed=0, first_iteration=repeat * len(plan))
        timings["augmented + reduction"].append(time.perf_counter() - started)
    for name, seconds in timings.items():
        print(f"{name:>22}: {digits.n_train / statistics.median(seconds):>10,.0f} images/s", flush=True)


def one_arch(arch: str, repeats: int, iterations: int) -> None:
    from rnn_demo.config import TrainConfig
    from rnn_demo.engine.training import train

    digits = load_embedded()
    config = TrainConfig(arch=arch, iterations=iterations)
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    accuracy: dict[bool, list[float]] = {False: [], True: []}
    train(config.replace(iterations=2), digits)  # warm-up: imports, first tracing
    for repeat in range(repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        for augment in order:
            started, cpu_started = time.perf_counter(), time.process_time()
            result = train(config.replace(augment=augment), digits)
            wall[augment].append(time.perf_counter() - started)
            cpu[augment].append(time.process_time() - cpu_started)
            accuracy[augment].append(result.val_accuracy)
    wall_ratio = statistics.median(on / off for on, off in zip(wall[True], wall[False], strict=True))
    cpu_ratio = statistics.median(on / off for on, off in zip(cpu[True], cpu[False], strict=True))
    print(
        f"{arch:>7}: off {statistics.median(wall[False]):6.1f} s, on {statistics.median(wall[True]):6.1f} s "
        f"(median wall); on/off wall {wall_ratio:.2f}, CPU {cpu_ratio:.2f}; "
        f"val_accuracy off {statistics.median(accuracy[False]):.3f}, on {statistics.median(accuracy[True]):.3f} "
        f"({iterations} iterations)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--arch", nargs="*", default=list(DEFAULT_ARCHS))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one arch in this process
    args = parser.parse_args()
    if args.one:
        one_arch(args.one, args.repeats, args.iterations)
        return
    augmentation_speed(max(5, args.repeats))
    for arch in args.arch:
        subprocess.run(
            [sys.executable, "-m", "bench.bench_augment", "--one", arch, "--repeats", str(args.repeats),
             "--iterations", str(args.iterations)],
            check=True,
        )


if __name__ == "__main__":
    main()
