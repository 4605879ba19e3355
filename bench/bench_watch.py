"""What "watch it learn" costs training: wall time with the weight snapshots on and off.

The train job (:func:`rnn_demo.compute.jobs.train`) runs in this process with a channel
that pickles every event as a worker's queue does, in alternating pairs with snapshots
off (``weights_every=0``) and on. Prints per architecture the median wall seconds of
each side, the median on/off ratio (1.00 = free), the snapshots sent and the share of
the "on" run spent making and pickling them (timed directly). See docs/performance.md.

    python -m bench.bench_watch [--repeats 3] [--iterations 100] [--arch lstm ...]
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RNN_DEMO_OFFLINE", "1")

from rnn_demo.compute.jobs import run_job, weights_interval  # noqa: E402
from rnn_demo.config import TrainConfig  # noqa: E402
from rnn_demo.twins import model, twin_file  # noqa: E402


class PicklingChannel:
    """Pickles each event as a worker's queue would; counts the weight snapshots."""

    def __init__(self):
        self.snapshots = 0
        self.pickle_seconds = 0.0

    def report(self, event: tuple) -> None:
        started = time.perf_counter()
        pickle.dumps(event, protocol=pickle.HIGHEST_PROTOCOL)
        self.pickle_seconds += time.perf_counter() - started
        self.snapshots += event[0] == "weights"

    def stop_requested(self) -> bool:
        return False


class SnapshotClock:
    """Times every weight copy (``NumpyModel.from_keras``) and twin (``twin_arrays``) made."""

    def __init__(self):
        self.seconds = 0.0
        self.calls = 0
        original_copy, original_arrays = model.NumpyModel.from_keras.__func__, twin_file.twin_arrays

        def copy(cls, model):
            started = time.perf_counter()
            try:
                return original_copy(cls, model)
            finally:
                self.seconds += time.perf_counter() - started

        def arrays(numpy_model):
            started = time.perf_counter()
            try:
                return original_arrays(numpy_model)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        model.NumpyModel.from_keras = classmethod(copy)
        twin_file.twin_arrays = arrays


CLOCK = SnapshotClock()


def timed(config: TrainConfig, weights_every: int | None) -> tuple[float, PicklingChannel, float]:
    """(wall seconds, the channel, seconds spent on weight snapshots) of one train job."""
    channel = PicklingChannel()
    CLOCK.seconds, CLOCK.calls = 0.0, 0
    started = time.perf_counter()
    run_job("train", (config, None, weights_every), channel)
    wall = time.perf_counter() - started
    # The job also copies the final model once for its result: not a snapshot.
    per_copy = CLOCK.seconds / max(CLOCK.calls, 1)
    return wall, channel, per_copy * channel.snapshots + channel.pickle_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--arch", nargs="+", default=["lstm", "rnn", "deep"])
    args = parser.parse_args()
    print(f"{'arch':6} {'off s':>7} {'on s':>7} {'on/off':>7} {'snapshots':>9} {'in snapshots':>11}  (every {weights_interval(args.iterations)} "
          f"of {args.iterations} iterations, batch 500, medians of {args.repeats} alternating pairs)")
    for arch in args.arch:
        config = TrainConfig(arch=arch, iterations=args.iterations)
        timed(config.replace(iterations=5), 0)  # warm: Keras set-up and the dataset, not measured
        off, on, ratios, shares, sent = [], [], [], [], 0
        for repeat in range(args.repeats):
            if repeat % 2 == 0:
                off_seconds, _, _ = timed(config, 0)
                on_seconds, channel, spent = timed(config, None)
            else:
                on_seconds, channel, spent = timed(config, None)
                off_seconds, _, _ = timed(config, 0)
            off.append(off_seconds)
            on.append(on_seconds)
            ratios.append(on_seconds / off_seconds)
            shares.append(spent / on_seconds)
            sent = channel.snapshots
        print(f"{arch:6} {statistics.median(off):7.2f} {statistics.median(on):7.2f} "
              f"{statistics.median(ratios):7.3f} {sent:9d} {statistics.median(shares):11.2%}")


if __name__ == "__main__":
    main()
