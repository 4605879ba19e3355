"""The training engine against a plain ``model.fit`` on the same model, data and minibatches.

Per architecture, each in a fresh process, alternating pairs of ``train`` (the app's
engine) and build + ``fit`` + ``evaluate``, model building included on both sides.
Prints the median wall seconds of each side and the median over pairs of plain ÷ engine
wall and CPU time (≥ 1: the engine is no slower). See docs/performance.md.

    python -m bench.bench_engine [--repeats 6] [--iterations 100] [--dataset mnist]
        [--data-dir DIR] [--arch lstm ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import keras
import numpy as np

from rnn_demo.config import ARCHITECTURES, TrainConfig
from rnn_demo.data.sources import load_dataset
from rnn_demo.engine.batches import batch_plan
from rnn_demo.engine.models import build_model, compile_model
from rnn_demo.engine.training import train


def plain_fit(config: TrainConfig, dataset) -> float:
    """What a plain Keras script does; returns its validation accuracy."""
    keras.utils.set_random_seed(config.seed)
    plan = batch_plan(dataset.n_train, config.batch_size, config.iterations, config.seed).reshape(-1)
    model = build_model(config)
    compile_model(model, config.learning_rate, metrics=["accuracy"])
    model.fit(
        dataset.train_sequences[plan], dataset.y_train[plan].astype(np.int32),
        batch_size=config.batch_size, epochs=1, shuffle=False, verbose=0,
    )
    _, accuracy = model.evaluate(dataset.valid_sequences, dataset.y_valid, batch_size=2000, verbose=0)
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir")
    parser.add_argument("--arch", nargs="*", default=list(ARCHITECTURES))
    args = parser.parse_args()
    if len(args.arch) > 1:
        # One fresh process per architecture: in one long-lived process the later
        # architectures' timings pick up what the earlier ones left behind.
        for index, arch in enumerate(args.arch):
            command = [sys.executable, "-m", "bench.bench_engine", "--arch", arch, "--repeats", str(args.repeats),
                       "--iterations", str(args.iterations), "--dataset", args.dataset]
            if args.data_dir:
                command += ["--data-dir", args.data_dir]
            lines = subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()
            print("\n".join(lines if index == 0 else lines[-1:]), flush=True)
        return

    dataset = load_dataset(args.dataset, args.data_dir)
    # Reduce once, outside the timings: both sides read the same cached arrays.
    print(f"reduced: {dataset.train_sequences.shape} train, {dataset.valid_sequences.shape} valid")
    print(f"data: {dataset.description}")
    print(f"backend: {keras.backend.backend()}, iterations: {args.iterations}, repeats: {args.repeats}")
    print(
        f"{'arch':8} {'engine s':>9} {'plain s':>9} {'ratio':>6} {'cpu ratio':>9} "
        f"{'engine acc':>10} {'plain acc':>9}"
    )
    for arch in args.arch:
        config = TrainConfig(arch=arch, iterations=args.iterations, dataset=args.dataset)
        times = {"engine": [], "plain": []}
        cpu_times = {"engine": [], "plain": []}
        accuracy = {}
        for repeat in range(args.repeats):
            for side in ("engine", "plain") if repeat % 2 == 0 else ("plain", "engine"):
                started, cpu_started = time.perf_counter(), time.process_time()
                if side == "engine":
                    accuracy[side] = train(config, dataset).val_accuracy
                else:
                    accuracy[side] = plain_fit(config, dataset)
                times[side].append(time.perf_counter() - started)
                cpu_times[side].append(time.process_time() - cpu_started)
        engine, plain = statistics.median(times["engine"]), statistics.median(times["plain"])
        ratio, cpu_ratio = (
            statistics.median(p / e for p, e in zip(table["plain"], table["engine"], strict=True))
            for table in (times, cpu_times)
        )
        engine_accuracy, plain_accuracy = accuracy["engine"], accuracy["plain"]
        print(
            f"{arch:8} {engine:9.2f} {plain:9.2f} {ratio:6.2f} {cpu_ratio:9.2f} "
            f"{engine_accuracy:10.3f} {plain_accuracy:9.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
