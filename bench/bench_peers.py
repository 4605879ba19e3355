"""The training engine against every framework a reader might use instead.

Per architecture, the chapter's model (hidden 64, batch 500, Adam 0.01, the same
minibatches) trained by each side in a fresh process, the order rotating between
repeats: ``engine`` (the app's ``train``), ``keras-tf`` (plain ``fit``), ``keras-xla``
(``jit_compile=True``), ``keras-jax`` and ``torch`` (native ``nn.RNN``/``GRU``/``LSTM``,
two threads). Prints Markdown tables of training samples/s, *steady* (after the first
fifth) and *end to end* (model building to a scored result), beside the *matmul limit*:
one step's matrix products in NumPy's BLAS. Contenders run in their own interpreters
(``--jax-python``, ``--torch-python`` or ``$RNN_DEMO_JAX_PYTHON``, ``$RNN_DEMO_TORCH_PYTHON``);
one that cannot import its framework is reported missing. See docs/performance.md.

    python -m bench.bench_peers [--arch rnn lstm] [--repeats 3] [--iterations 200]
        [--sides engine torch ...] [--jax-python PYTHON] [--torch-python PYTHON]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rnn_demo.config import ARCHITECTURES, TrainConfig

# Put on the contenders' PYTHONPATH: their interpreters have not installed this project.
ROOT = Path(__file__).resolve().parents[1]

SIDES = ("engine", "keras-tf", "keras-xla", "keras-jax", "torch")
CONTENDERS = SIDES[1:]
# What each side's interpreter must import, and the backend it runs Keras on.
NEEDS = {
    "engine": ("keras", "tensorflow"),
    "keras-tf": ("keras", "tensorflow"),
    "keras-xla": ("keras", "tensorflow"),
    "keras-jax": ("keras", "jax"),
    "torch": ("torch",),
}
BACKENDS = {"engine": "tensorflow", "keras-tf": "tensorflow", "keras-xla": "tensorflow", "keras-jax": "jax"}
STEADY_FROM = 0.2  # the steady window starts after this fraction of the iterations
CORES = 2  # the matmul limit is one core's BLAS speed times this


# ------------------------------------------------------------ one run (child process)


def _data(config: TrainConfig):
    """The embedded digits and the run's ``(iterations × batch)`` training indices."""
    os.environ["RNN_DEMO_OFFLINE"] = "1"
    import numpy as np

    from rnn_demo.data.sources import load_embedded

    dataset = load_embedded()
    _ = dataset.train_sequences, dataset.valid_sequences
    # rnn_demo.engine.training.batch_plan's batches, without importing Keras (the torch side has none).
    rng = np.random.default_rng(config.seed)
    per_pass = dataset.n_train // config.batch_size
    passes = -(-config.iterations // per_pass)
    order = np.concatenate([rng.permutation(dataset.n_train)[: per_pass * config.batch_size]
                            for _ in range(passes)])
    return dataset, order[: config.iterations * config.batch_size].reshape(config.iterations, -1)


def _steady(stamps: dict[int, float], config: TrainConfig) -> float:
    first, last = min(stamps), max(stamps)
    return (last - first) * config.batch_size / (stamps[last] - stamps[first])


def run_engine(config: TrainConfig) -> dict:
    from rnn_demo.engine.training import train

    dataset, _ = _data(config)
    stamps: dict[int, float] = {}
    window = int(STEADY_FROM * config.iterations)

    def on_progress(progress):
        if progress.iteration >= window:
            stamps[progress.iteration] = time.perf_counter()

    started = time.perf_counter()
    result = train(config, dataset, on_progress=on_progress)
    wall = time.perf_counter() - started
    return {"steady": _steady(stamps, config), "wall": wall, "accuracy": result.val_accuracy}


def run_keras(config: TrainConfig, xla: bool) -> dict:
    import keras
    import numpy as np

    from rnn_demo.engine.models import build_model, compile_model

    dataset, plan = _data(config)
    window = int(STEADY_FROM * config.iterations)
    stamps: dict[int, float] = {}

    class Stamps(keras.callbacks.Callback):
        # Waits for the step only at the window's two ends, so that a backend
        # that dispatches ahead (JAX) keeps that advantage in between.
        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 in (window, config.iterations):
                float(logs["loss"])
                stamps[batch + 1] = time.perf_counter()

    indices = plan.reshape(-1)
    inputs, labels = dataset.train_sequences[indices], dataset.y_train[indices].astype(np.int32)
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    compile_model(model, config.learning_rate, metrics=["accuracy"], jit_compile=True if xla else "auto")
    model.fit(inputs, labels, batch_size=config.batch_size, epochs=1, shuffle=False, verbose=0,
              callbacks=[Stamps()])
    _, accuracy = model.evaluate(dataset.valid_sequences, dataset.y_valid, batch_size=2000, verbose=0)
    wall = time.perf_counter() - started
    return {"steady": _steady(stamps, config), "wall": wall, "accuracy": float(accuracy)}


def run_torch(config: TrainConfig) -> dict:
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(2)
    dataset, plan = _data(config)
    window = int(STEADY_FROM * config.iterations)
    kind = {"rnn": nn.RNN, "birnn": nn.RNN, "deep": nn.GRU, "gru": nn.GRU}.get(config.arch, nn.LSTM)
    directions = 2 if config.arch in ("birnn", "bilstm") else 1

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.recurrent = kind(16, config.hidden_units, num_layers=config.recurrent_layers,
                                  batch_first=True, bidirectional=directions == 2)
            self.logits = nn.Linear(directions * config.hidden_units, 10)

        def forward(self, rows):  # (batch, 16, 16)
            outputs, _ = self.recurrent(rows)  # (batch, 16, directions × units)
            if directions == 2:
                # The forward direction's last step and the backward one's first (its last read).
                units = config.hidden_units
                last = torch.cat([outputs[:, -1, :units], outputs[:, 0, units:]], dim=1)
            else:
                last = outputs[:, -1]
            return self.logits(last)

    sequences = torch.from_numpy(dataset.train_sequences)
    labels = torch.from_numpy(dataset.y_train.astype(np.int64))
    stamps: dict[int, float] = {}
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    loss_function = nn.CrossEntropyLoss()
    for iteration, indices in enumerate(torch.from_numpy(plan), start=1):
        optimizer.zero_grad()
        loss = loss_function(model(sequences[indices]), labels[indices])
        loss.backward()
        optimizer.step()
        if iteration in (window, config.iterations):
            loss.item()
            stamps[iteration] = time.perf_counter()
    with torch.no_grad():
        predictions = model(torch.from_numpy(dataset.valid_sequences)).argmax(dim=1).numpy()
    accuracy = float((predictions == dataset.y_valid).mean())
    wall = time.perf_counter() - started
    return {"steady": _steady(stamps, config), "wall": wall, "accuracy": accuracy}


def run_side(side: str, config: TrainConfig) -> dict:
    if side == "engine":
        return run_engine(config)
    if side == "torch":
        return run_torch(config)
    return run_keras(config, xla=side == "keras-xla")


# --------------------------------------------------------------- the table (parent)


def matmul_limit(config: TrainConfig, repeats: int = 20) -> float:
    """Samples/s at which NumPy does one training step's matrix products.

    Per timestep, layer and direction: ``(batch, in + units) @ (in + units,
    gates × units)`` forward, its input gradient and its weight gradient; the
    head's three products once. Each distinct product is timed (best of
    ``repeats``) at the shapes the step uses.
    """
    import numpy as np

    gates = {"rnn": 1, "birnn": 1, "deep": 3, "gru": 3, "lstm": 4, "bilstm": 4}[config.arch]
    directions = 2 if config.arch in ("birnn", "bilstm") else 1
    batch, units = config.batch_size, config.hidden_units
    products: list[tuple[tuple[int, int, int], int]] = []  # ((m, k, n), count per step)
    for layer in range(config.recurrent_layers):
        width = (16 if layer == 0 else units * directions) + units
        count = 16 * directions
        products += [((batch, width, gates * units), count), ((batch, gates * units, width), count),
                     ((width, batch, gates * units), count)]
    head = directions * units
    products += [((batch, head, 10), 1), ((batch, 10, head), 1), ((head, batch, 10), 1)]
    rng = np.random.default_rng(0)
    seconds = 0.0
    for (m, k, n), count in products:
        left = rng.standard_normal((m, k), dtype=np.float32)
        right = rng.standard_normal((k, n), dtype=np.float32)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(10):
                left @ right
            times.append((time.perf_counter() - started) / 10)
        seconds += min(times) * count  # the best time: a limit, not a typical speed
    return batch / seconds


def _interpreters(args) -> dict[str, str]:
    jax = args.jax_python or os.environ.get("RNN_DEMO_JAX_PYTHON") or sys.executable
    torch = args.torch_python or os.environ.get("RNN_DEMO_TORCH_PYTHON") or sys.executable
    return {"engine": sys.executable, "keras-tf": sys.executable, "keras-xla": sys.executable,
            "keras-jax": jax, "torch": torch}


def _missing(side: str, python: str) -> str | None:
    """Why ``python`` cannot run ``side`` (None when it can)."""
    code = "; ".join(f"import {module}" for module in NEEDS[side])
    try:
        check = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120,
                               env={**os.environ, **_backend_env(side)})
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{python}: {error}"
    if check.returncode != 0:
        lines = check.stderr.strip().splitlines() or [f"exit status {check.returncode}"]
        return f"{python}: {lines[-1]}"
    return None


def _backend_env(side: str) -> dict[str, str]:
    env = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "RNN_DEMO_OFFLINE": "1"}
    if side in BACKENDS:
        env["KERAS_BACKEND"] = BACKENDS[side]
    return env


def _run_child(python: str, side: str, arch: str, iterations: int) -> dict:
    command = [python, "-m", "bench.bench_peers", "--child", side, "--arch", arch, "--iterations", str(iterations)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **_backend_env(side)})
    if done.returncode != 0:
        raise RuntimeError(f"{side} {arch} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _format(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.1f}k" if value < 10_000 else f"{value / 1000:.0f}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="*", default=list(ARCHITECTURES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--sides", nargs="*", default=list(SIDES), choices=SIDES)
    parser.add_argument("--jax-python")
    parser.add_argument("--torch-python")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--limit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.limit:
        config = TrainConfig(arch=args.arch[0])
        print(json.dumps({"limit": CORES * matmul_limit(config)}))
        return
    if args.child:
        config = TrainConfig(arch=args.arch[0], iterations=args.iterations)
        print(json.dumps(run_side(args.child, config)))
        return

    interpreters = _interpreters(args)
    missing = {side: _missing(side, interpreters[side]) for side in args.sides}
    sides = [side for side in args.sides if missing[side] is None]
    print(f"load before: {Path('/proc/loadavg').read_text().split()[:3]}", flush=True)
    for side in args.sides:
        state = f"missing ({missing[side]})" if missing[side] else interpreters[side]
        print(f"  {side:10} {state}", flush=True)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for arch in args.arch:
        runs: dict[str, list[dict]] = {side: [] for side in sides}
        for repeat in range(args.repeats):
            order = sides[repeat % len(sides):] + sides[: repeat % len(sides)]
            for side in order if repeat % 2 == 0 else order[::-1]:
                runs[side].append(_run_child(interpreters[side], side, arch, args.iterations))
        config = TrainConfig(arch=arch, iterations=args.iterations)
        results[arch] = {
            side: {
                "steady": statistics.median(run["steady"] for run in side_runs),
                "end_to_end": statistics.median(args.iterations * config.batch_size / run["wall"]
                                                for run in side_runs),
                "accuracy": statistics.median(run["accuracy"] for run in side_runs),
            }
            for side, side_runs in runs.items()
        }
        limit = subprocess.run([sys.executable, "-m", "bench.bench_peers", "--limit", "--arch", arch], capture_output=True,
                               text=True, check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        results[arch]["limit"] = {"steady": json.loads(limit.stdout)["limit"]}
        print(f"{arch}: " + json.dumps({side: {k: round(v, 3) for k, v in values.items()}
                                         for side, values in results[arch].items()}), flush=True)
    print(f"load after: {Path('/proc/loadavg').read_text().split()[:3]}")
    for measure in ("steady", "end_to_end"):
        contenders = [side for side in CONTENDERS if side in sides]
        print(f"\n{measure.replace('_', ' ')} (training samples/s, median of {args.repeats}, "
              f"{args.iterations} iterations, batch 500, hidden 64)\n")
        print("| arch | " + " | ".join(SIDES) + " | engine ÷ best | matmul limit | engine ÷ limit |")
        print("|---" * (len(SIDES) + 4) + "|")
        for arch, table in results.items():
            cells = [_format(table[side][measure]) if side in table else "missing" for side in SIDES]
            engine = table.get("engine", {}).get(measure)
            best = max((table[side][measure] for side in contenders), default=None)
            ratio = f"{engine / best:.2f}" if engine and best else "—"
            limit = table["limit"]["steady"]
            print(f"| {arch} | " + " | ".join(cells) + f" | {ratio} | {_format(limit)} | "
                  + (f"{engine / limit:.0%}" if engine else "—") + " |")


if __name__ == "__main__":
    main()
