"""Command line: ``rnn-demo`` (or ``python -m rnn_demo``) ``train | evaluate | explain | info | runs``.

With ``--json`` the last line of stdout is one JSON object; progress goes to
stderr. Bad arguments and failures end with a one-line message and a non-zero
exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time

from rnn_demo.cli.runs import register as register_runs
from rnn_demo.cli.runs import run as run_runs
from rnn_demo.config import ARCHITECTURES, DATASETS, DEVICES, ConfigError, TrainConfig

EXIT_USAGE = 2
EXIT_FAILURE = 1


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line on stderr (no usage dump)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = _OneLineParser(prog="python -m rnn_demo", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    train = commands.add_parser("train", help="train one architecture and report its scores")
    train.add_argument("--arch", choices=list(ARCHITECTURES), default=defaults.arch)
    train.add_argument("--hidden", type=int, default=defaults.hidden_units, help="hidden units per layer (64)")
    train.add_argument("--layers", type=int, default=defaults.layers, help="stacked GRU layers for --arch deep (3)")
    train.add_argument("--lr", type=float, default=defaults.learning_rate, help="Adam learning rate (0.01)")
    train.add_argument("--batch", type=int, default=defaults.batch_size, help="images per iteration (500)")
    train.add_argument("--iterations", type=int, default=defaults.iterations, help="minibatch steps (100)")
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--device", choices=DEVICES, default=defaults.device)
    train.add_argument("--validate-every", type=int, help="score the validation set every N iterations")
    train.add_argument(
        "--augment", action="store_true",
        help="train on random variants of the digits: pen, size, frame, slant, turn, wobble, blur, contrast (off)",
    )
    train.add_argument(
        "--lr-decay", action="store_true", help="lower the learning rate along half a cosine over the run (off)"
    )
    _add_data_arguments(train)
    train.add_argument("--out", help="save the trained model to this .keras file")
    train.add_argument(
        "--save", action="store_true",
        help="keep the run in the run store (see `runs`); --json then gains run_id and link",
    )
    train.add_argument("--name", default="", help="the stored run's name (with --save)")
    train.add_argument("--json", action="store_true", help="end stdout with one JSON object")

    evaluate = commands.add_parser("evaluate", help="score a saved model on the validation/test split")
    evaluate.add_argument("--model", required=True, help="a .keras file saved by train --out")
    _add_data_arguments(evaluate, default_dataset=None)
    evaluate.add_argument("--json", action="store_true")

    explain = commands.add_parser(
        "explain", help="one digit's prediction, readout, row importance and gradients through time"
    )
    explain.add_argument("--model", required=True, help="a .keras file saved by train --out")
    explain.add_argument("--index", type=int, required=True, help="digit of the validation/test split (from 0)")
    _add_data_arguments(explain, default_dataset=None)
    explain.add_argument("--json", action="store_true")

    info = commands.add_parser("info", help="backend, devices, versions and data sources")
    info.add_argument("--data-dir")
    info.add_argument("--json", action="store_true")
    register_runs(commands)
    return parser


def _add_data_arguments(parser, default_dataset: str | None = "mnist") -> None:
    parser.add_argument(
        "--dataset", choices=list(DATASETS), default=default_dataset,
        help="mnist (default) or fashion" + ("" if default_dataset else "; default: the model's own"),
    )
    parser.add_argument("--data-dir", help="folder with the IDX files or a Keras-style .npz")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "runs":  # the run store needs no Keras
        with _quiet_stderr():
            import keras  # noqa: F401 - TensorFlow's start-up log lines are noise here
    from rnn_demo.errors import UserError

    commands = {"train": _train, "evaluate": _evaluate, "explain": _explain, "info": _info, "runs": run_runs}
    try:
        return commands[args.command](args)
    except UserError as error:  # bad config, data, device or model file; a job refused or lost on Ray
        print(f"rnn_demo {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_FAILURE


def _train(args) -> int:
    config = TrainConfig(
        arch=args.arch, hidden_units=args.hidden, layers=args.layers, learning_rate=args.lr,
        batch_size=args.batch, iterations=args.iterations, seed=args.seed,
        device=args.device, dataset=args.dataset, augment=args.augment, lr_decay=args.lr_decay,
    )
    if args.out:
        _check_out(args.out)
    from rnn_demo.compute.pool import RAY_ADDRESS_VARIABLE, ray_address

    on_ray = ray_address() is not None
    if on_ray and args.data_dir:
        raise ConfigError(
            f"--data-dir names a folder on this machine, but {RAY_ADDRESS_VARIABLE} sends the training "
            "to a Ray cluster, whose workers load the data themselves (set RNN_DEMO_DATA_DIR there)"
        )
    stop = threading.Event()
    bar = ProgressBar(config.iterations)
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        if on_ray:
            pool, result, arrays = _train_on_ray(config, args.validate_every, bar, stop)
        else:
            pool, result, arrays = None, _train_here(config, args, bar, stop), None
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    try:
        _status(
            f"{result.message}: validation accuracy {result.val_accuracy:.4f}, loss {result.val_loss:.4f}; "
            f"{result.train_seconds:.1f} s, {result.samples_per_second:,.0f} samples/s on {result.device}"
        )
        summary = result.summary()
        if args.out:
            metadata = {**summary, "history": result.history.to_dict()}
            try:
                saved = _save_from_ray(pool, config, arrays, metadata, args.out) if on_ray else _save_here(
                    result, metadata, args.out
                )
            except OSError as error:
                from rnn_demo.engine.model_file import ModelFileError

                raise ModelFileError(f"{args.out}: could not be written ({error.strerror or error})") from None
            summary["saved_to"] = str(saved)
            _status(f"saved to {args.out}")
        if args.save:
            from rnn_demo.cli.runs import save_training

            metadata = {**result.summary(), "history": result.history.to_dict()}
            model_file = pool.run("model_file", config, arrays, metadata) if on_ray else None
            summary.update(save_training(result, model_file, arrays, name=args.name))
    finally:
        if pool is not None:
            pool.close()
    summary["executor"] = "ray" if on_ray else "local"
    _report(summary, args.json, ("arch", "params", "val_accuracy", "val_loss", "train_seconds"))
    return EXIT_FAILURE if result.status == "diverged" else 0


def _check_out(out: str) -> None:
    """Refuse an ``--out`` that could not be written, before the training it would keep."""
    import tempfile
    from pathlib import Path

    if not out.endswith(".keras"):
        raise ConfigError(f"--out must name a .keras file; got {out!r}")
    path = Path(out)
    if path.is_dir():
        raise ConfigError(f"--out {out!r} is a folder; name a .keras file inside it")
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"--out {out!r}: folder {str(folder)!r} does not exist")
    try:  # the one honest test of "writable" (root passes access(); /proc still refuses)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rnn_demo_out_"):
            pass
    except OSError as error:
        raise ConfigError(f"--out {out!r}: cannot write in folder {str(folder)!r} ({error.strerror})") from None


def _train_here(config, args, bar, stop):
    """Train in this process; the engine's result (with its Keras model)."""
    from rnn_demo.data.sources import load_dataset
    from rnn_demo.engine.training import train

    dataset = load_dataset(config.dataset, args.data_dir)
    _status(f"data: {dataset.description}")
    return train(config, dataset, on_progress=bar.update, stop=stop, validate_every=args.validate_every)


def _train_on_ray(config, validate_every, bar, stop):
    """Train on the Ray cluster; ``(pool, RunRecord, twin arrays)``, the pool still open."""
    from rnn_demo.compute.pool import make_pool

    pool = make_pool(1)
    _status(f"training on the Ray cluster at {pool.address}")

    def on_event(event: tuple) -> None:
        kind, payload = event
        if kind == "progress":
            bar.update(payload)

    try:
        record, arrays = pool.run("train", config, validate_every, on_event=on_event, stop=stop.is_set)
    except BaseException:
        pool.close()
        raise
    _status(f"data: {record.data_description}")
    return pool, record, arrays


def _save_here(result, metadata: dict, out: str):
    from rnn_demo.engine.persistence import save_model

    return save_model(result.model, out, metadata)


def _save_from_ray(pool, config, arrays: dict, metadata: dict, out: str):
    """Write the ``.keras`` file a cluster worker builds from ``arrays``, and its twin beside it."""
    from pathlib import Path

    from rnn_demo.twins.twin_file import save_twin, twin_from_arrays, twin_path

    path = Path(out)
    path.write_bytes(pool.run("model_file", config, arrays, metadata))
    save_twin(twin_path(path), twin_from_arrays(arrays), metadata)
    return path


def _evaluate(args) -> int:
    from rnn_demo.data.sources import load_dataset
    from rnn_demo.engine.persistence import load_model
    from rnn_demo.engine.scoring import score

    loaded = load_model(args.model)
    dataset_name = args.dataset or loaded.metadata.get("dataset", "mnist")
    dataset = load_dataset(dataset_name, args.data_dir, need_train=False)
    _status(f"data: {dataset.description}")
    scores = score(loaded.model, dataset.valid_sequences, dataset.y_valid)
    summary = {
        "model": str(loaded.path),
        "arch": loaded.metadata.get("arch"),
        "dataset": dataset.name,
        "data_source": dataset.source,
        "data_description": dataset.description,
        "accuracy": round(scores.accuracy, 6),
        "loss": round(scores.loss, 6),
        "n": dataset.n_valid,
    }
    _report(summary, args.json, ("accuracy", "loss", "n"))
    return 0


def _explain(args) -> int:
    from rnn_demo.cli.explain import explain_model_file, human_lines

    explained = explain_model_file(args.model, args.index, dataset=args.dataset, data_dir=args.data_dir)
    _status(f"data: {explained['data_description']}")
    if args.json:
        print(json.dumps(explained))
    else:
        print("\n".join(human_lines(explained)))
    return 0


def _info(args) -> int:
    import keras
    import numpy

    from rnn_demo.data.sources import available_sources
    from rnn_demo.engine.devices import backend_name, gpu_names

    versions = {"python": sys.version.split()[0], "keras": keras.__version__, "numpy": numpy.__version__}
    backend = backend_name()
    if backend in ("tensorflow", "jax", "torch"):
        module = __import__(backend)
        versions[backend] = module.__version__
    summary = {
        "backend": backend,
        "devices": ["cpu", *gpu_names()],
        "gpu_available": bool(gpu_names()),
        "versions": versions,
        "data_sources": available_sources(args.data_dir),
    }
    _report(summary, args.json, tuple(summary))
    return 0


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (native libraries write there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _report(summary: dict, as_json: bool, human_keys: tuple[str, ...]) -> None:
    if as_json:
        print(json.dumps(summary))
        return
    for key in human_keys:
        print(f"{key}: {summary[key]}")


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most ten times a second.

    On a terminal it redraws in place; elsewhere (logs, CI) it prints a line
    every tenth of the run so the log stays short.
    """

    WIDTH = 30

    def __init__(self, total: int, stream=sys.stderr):
        self.total = total
        self.stream = stream
        self.interactive = stream.isatty()
        self.last_draw = 0.0
        self.last_decile = -1

    def update(self, progress) -> None:
        now = time.monotonic()
        decile = progress.iteration * 10 // self.total
        if self.interactive and now - self.last_draw < 0.1 and progress.iteration < self.total:
            return
        if not self.interactive and decile == self.last_decile:
            return
        self.last_draw, self.last_decile = now, decile
        filled = self.WIDTH * progress.iteration // self.total
        validation = (
            f" val_acc {progress.val_accuracy:.3f}" if progress.val_accuracy is not None else ""
        )
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {progress.iteration}/{self.total} "
            f"loss {progress.train_loss:.4f}{validation} {progress.samples_per_second:,.0f} samples/s "
            f"{_seconds(progress.seconds_left)} left"
        )
        self.stream.write(("\r" + line + "\x1b[K") if self.interactive else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def _seconds(seconds: float) -> str:
    if seconds != seconds:  # NaN before the first iteration
        return "?"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


if __name__ == "__main__":
    sys.exit(main())
