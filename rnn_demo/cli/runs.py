"""``python -m rnn_demo runs list | show | export | delete``, and ``train --save``'s helper.

The commands work on the same run store as the app (``RNN_DEMO_DATABASE_URL``,
else ``$RNN_DEMO_HOME/runs.sqlite``). This machine's CLI is one anonymous
visitor: its key lives in ``$RNN_DEMO_HOME/cli-key``, created on first use, so
``runs list`` shows the runs ``train --save`` stored here. ``show`` and
``export`` open any run by id, as its link does; ``delete`` only the CLI's own.
With ``--json`` the last line of stdout is one JSON value.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnn_demo.config import ConfigError
from rnn_demo.engine.records import RunRecord
from rnn_demo.errors import UserError
from rnn_demo.store.runs import training_run
from rnn_demo.store.settings import home, new_key, owner_from_key
from rnn_demo.store.store import RunStore, open_store
from rnn_demo.twins.twin_file import twin_path

KEY_FILE = "cli-key"
ID_HELP = "the run's id, the end of its link (an older id that starts with - goes after --)"
LIST_COLUMNS = ("id", "name", "arch", "iterations", "val_accuracy", "status", "created")
SHOW_FIELDS = ("id", "name", "kind", "status", "arch", "dataset", "iterations", "val_accuracy", "val_loss",
               "data_source", "created", "updated", "link")


def register(commands) -> None:
    """Add ``runs`` and its four subcommands to the CLI's ``add_subparsers()`` object."""
    runs = commands.add_parser("runs", help="list, show, export or delete runs in the run store")
    actions = runs.add_subparsers(dest="runs_command", required=True, parser_class=type(runs))
    listing = actions.add_parser("list", help="this machine's runs, newest first")
    listing.add_argument("--json", action="store_true", help="print one JSON list")
    show = actions.add_parser("show", help="one run's record (any run, by its id)")
    show.add_argument("id", help=ID_HELP)
    show.add_argument("--json", action="store_true")
    export = actions.add_parser("export", help="write a run's .keras file and its .npz twin beside it")
    export.add_argument("id", help=ID_HELP)
    export.add_argument("--out", required=True, help="the .keras file to write")
    export.add_argument("--json", action="store_true")
    remove = actions.add_parser("delete", help="delete one of this machine's runs")
    remove.add_argument("id", help=ID_HELP)
    remove.add_argument("--json", action="store_true")


def run(args) -> int:
    """Run the ``runs`` subcommand ``args`` names; raises :class:`UserError` on failure."""
    with open_store() as store:
        return {"list": _list, "show": _show, "export": _export, "delete": _delete}[args.runs_command](
            store, args)


def cli_owner() -> str:
    """The run-store owner of this machine's CLI, from ``$RNN_DEMO_HOME/cli-key`` (made on first use)."""
    path = home() / KEY_FILE
    if not path.exists():
        draft = path.with_name(f".{KEY_FILE}.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(new_key() + "\n")
        try:
            os.link(draft, path)  # atomic: a CLI started at the same moment keeps the key that won
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    try:
        return owner_from_key(path.read_text().strip())
    except ValueError:
        raise UserError(f"{path} does not hold a CLI key; delete it to start afresh "
                        "(the runs saved under the old key stay in the store, unlisted)") from None


def save_training(result: RunRecord, model_file: bytes | None = None,
                  arrays: Mapping[str, np.ndarray] | None = None, *, name: str = "") -> dict:
    """Store a CLI training as one of this machine's runs; ``{"run_id", "link", "removed"}`` for ``--json``.

    An in-process result (with its Keras ``model``) has its files built here;
    a Ray training passes the ``.keras`` bytes and the twin's arrays it got back.
    """
    metadata = {**result.summary(), "history": result.history.to_dict()}
    if model_file is None or arrays is None:
        from rnn_demo.engine.persistence import model_bytes
        from rnn_demo.twins.model import NumpyModel
        from rnn_demo.twins.twin_file import twin_arrays

        model_file = model_bytes(result.model, metadata)
        arrays = twin_arrays(NumpyModel.from_keras(result.model))
    with open_store() as store:
        saved = store.save_run(cli_owner(), training_run(result, model_file, arrays, metadata, name))
        where = store.where
    _status(f"stored as run {saved.id} in {where}")
    if saved.notice:
        _status(saved.notice)
    return {"run_id": saved.id, "link": f"/runs?id={saved.id}",
            "removed": [{"id": run.id, "name": run.name, "reason": run.reason} for run in saved.removed]}


def _list(store: RunStore, args) -> int:
    found = [run.to_dict() for run in store.list_runs(cli_owner())]
    if args.json:
        print(json.dumps(found))
    elif not found:
        print(f"no runs of this machine's CLI in {store.where}")
    else:
        print("\t".join(LIST_COLUMNS))
        for run in found:
            print("\t".join(_shown(run[column]) for column in LIST_COLUMNS))
    return 0


def _show(store: RunStore, args) -> int:
    details = store.get_run(args.id, cli_owner()).to_dict()
    if args.json:
        print(json.dumps(details))
    else:
        for key in SHOW_FIELDS:
            print(f"{key}: {_shown(details[key])}")
    return 0


def _export(store: RunStore, args) -> int:
    out = Path(args.out)
    if out.suffix != ".keras":
        raise ConfigError(f"--out must name a .keras file; got {args.out!r}")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {args.out}: folder {out.parent} does not exist")
    model, twin = store.model_bytes(args.id), store.twin_bytes(args.id)
    if model is None or twin is None:
        raise UserError(f"run {args.id} has no model file to export (a Compare set holds only its runs' ids)")
    out.write_bytes(model)
    twin_path(out).write_bytes(twin)
    _status(f"saved to {out} and {twin_path(out)}")
    written = {"id": args.id, "model": str(out), "twin": str(twin_path(out))}
    print(json.dumps(written) if args.json else f"model: {out}\ntwin: {twin_path(out)}")
    return 0


def _delete(store: RunStore, args) -> int:
    store.delete(cli_owner(), args.id)
    print(json.dumps({"deleted": args.id}) if args.json else f"deleted run {args.id}")
    return 0


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def _status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
