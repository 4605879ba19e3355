"""What a run is, going into the store (:class:`NewRun`) and coming out (:class:`RunSummary`, :class:`Run`).

Plain values and NumPy, no database: :func:`training_run` turns what a
training hands back (a :class:`~rnn_demo.engine.records.RunRecord`, the
``.keras`` bytes, the twin's arrays) into a :class:`NewRun`. Non-finite
numbers (a diverged run's losses) are stored as ``None``: JSON has no NaN.
"""

from __future__ import annotations

import io
import json
import math
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from rnn_demo.config import ARCHITECTURE_NAMES
from rnn_demo.engine.records import RunRecord
from rnn_demo.store.errors import RunNotFound
from rnn_demo.store.schema import (
    DATA_SOURCE_MAX,
    KINDS,
    NAME_MAX,
    RUN_ID_PATTERN,
    SHORT_TEXT,
    STATUSES,
)
from rnn_demo.twins.twin_file import METADATA_KEY

# The engine says "completed" where the store (and the Runs page) says "finished".
RECORD_STATUSES = {"completed": "finished", "stopped": "stopped", "diverged": "diverged", "failed": "failed"}


@dataclass(frozen=True, eq=False)
class NewRun:
    """A run to save. ``model`` is the ``.keras`` file, ``twin`` the NumPy twin's ``.npz``; both optional."""

    kind: str
    status: str
    arch: str
    name: str = ""
    dataset: str = "mnist"
    iterations: int = 0
    val_accuracy: float | None = None
    val_loss: float | None = None
    config: Mapping = field(default_factory=dict)
    data_source: str = ""
    curves: Mapping = field(default_factory=dict)
    metrics: Mapping = field(default_factory=dict)
    confusion: np.ndarray | None = None
    model: bytes | None = None
    twin: bytes | None = None

    def __post_init__(self) -> None:
        _check_choice("kind", self.kind, KINDS)
        _check_choice("status", self.status, STATUSES)
        for name, limit in (("arch", SHORT_TEXT), ("dataset", SHORT_TEXT), ("data_source", DATA_SOURCE_MAX)):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > limit:
                raise ValueError(f"{name} must be text of at most {limit} characters; got {value!r:.60}")
        if isinstance(self.iterations, bool) or not isinstance(self.iterations, int) or self.iterations < 0:
            raise ValueError(f"iterations must be a whole number from 0; got {self.iterations!r}")
        for name in ("model", "twin"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bytes):
                raise ValueError(f"{name} must be bytes or None; got {type(value).__name__}")
        if self.confusion is not None and np.asarray(self.confusion).ndim != 2:
            raise ValueError(f"confusion must be a square matrix; got shape {np.shape(self.confusion)}")

    def row(self) -> dict:
        """The ``runs`` columns this run fills (JSON made safe), without id, owner or times."""
        values = {
            "name": clean_name(self.name) or self.default_name(),
            "kind": self.kind, "status": self.status, "arch": self.arch, "dataset": self.dataset,
            "iterations": self.iterations,
            "val_accuracy": _finite(self.val_accuracy), "val_loss": _finite(self.val_loss),
            "config": json_ready(self.config), "data_source": self.data_source,
            "curves": json_ready(self.curves), "metrics": json_ready(self.metrics),
            "confusion": None if self.confusion is None else np.asarray(self.confusion).astype(int).tolist(),
        }
        text_bytes = sum(len(json.dumps(values[key])) for key in ("config", "curves", "metrics", "confusion"))
        values["size_bytes"] = text_bytes + len(self.model or b"") + len(self.twin or b"")
        return values

    def default_name(self) -> str:
        arch = ARCHITECTURE_NAMES.get(self.arch, self.arch)
        return f"{arch} · {self.iterations} it" if self.kind == "training" else f"{self.kind.title()}: {arch}"


@dataclass(frozen=True)
class RunSummary:
    """A run as listed: no curves, no files. ``mine``: the viewer who asked owns it."""

    id: str
    name: str
    kind: str
    status: str
    arch: str
    dataset: str
    iterations: int
    val_accuracy: float | None
    val_loss: float | None
    config: dict
    data_source: str
    size_bytes: int
    created: datetime
    updated: datetime
    mine: bool

    @property
    def link(self) -> str:
        """The read-only view of this run, relative to the app's address."""
        return f"/runs?id={self.id}"

    def to_dict(self) -> dict:
        """JSON-ready (what ``runs list --json`` prints for each run)."""
        values = {name: getattr(self, name) for name in RunSummary.__dataclass_fields__}
        values["created"], values["updated"] = self.created.isoformat(), self.updated.isoformat()
        values["link"] = self.link
        return values


@dataclass(frozen=True)
class Run(RunSummary):
    """A run's read-only view: the summary plus curves, metrics and confusion matrix (still no files)."""

    curves: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    confusion: np.ndarray | None = None

    def to_dict(self) -> dict:
        values = super().to_dict()
        values.update(curves=self.curves, metrics=self.metrics,
                      confusion=None if self.confusion is None else self.confusion.tolist())
        return values


@dataclass(frozen=True)
class RemovedRun:
    """A run a save removed to stay within a limit, and which limit."""

    id: str
    name: str
    reason: str


@dataclass(frozen=True)
class SaveResult:
    """The new run's id, and the visitor's older runs the save removed (oldest first)."""

    id: str
    removed: tuple[RemovedRun, ...] = ()

    @property
    def notice(self) -> str | None:
        """One sentence for the visitor about what went, or ``None`` when nothing did."""
        if not self.removed:
            return None
        named = "; ".join(f"“{run.name}” ({run.reason})" for run in self.removed)
        runs = "run" if len(self.removed) == 1 else f"{len(self.removed)} runs"
        return f"To keep this run, the store removed your older {runs}: {named}."


def training_run(record: RunRecord, model_file: bytes | None, arrays: Mapping[str, np.ndarray],
                 metadata: Mapping, name: str = "") -> NewRun:
    """A training's :class:`NewRun`: its scores, curves and matrix, the ``.keras`` bytes and the twin.

    ``metadata`` goes inside the twin file (as ``train --out`` writes it).
    """
    metrics = {
        key: value for key, value in record.summary().items()
        if key in ("params", "n_train", "n_valid", "message", "train_seconds", "samples_per_second",
                   "device", "backend", "data_description")
    }
    return NewRun(
        kind="training", status=RECORD_STATUSES[record.status], arch=record.config.arch, name=name,
        dataset=record.dataset, iterations=record.iterations_done,
        val_accuracy=record.val_accuracy, val_loss=record.val_loss, config=record.config.to_dict(),
        data_source=record.data_source[:DATA_SOURCE_MAX], curves=record.history.to_dict(), metrics=metrics,
        confusion=record.confusion, model=model_file, twin=twin_file_bytes(arrays, metadata),
    )


def twin_file_bytes(arrays: Mapping[str, np.ndarray], metadata: Mapping) -> bytes:
    """The ``.npz`` bytes that :func:`rnn_demo.twins.twin_file.save_twin` would write for these arrays."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays, **{METADATA_KEY: np.array(json.dumps(json_ready(metadata)))})
    return buffer.getvalue()


def twin_file_arrays(data: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and metadata of a twin's ``.npz`` bytes (read with ``allow_pickle=False``)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    metadata = json.loads(str(arrays.pop(METADATA_KEY))) if METADATA_KEY in arrays else {}
    return arrays, metadata if isinstance(metadata, dict) else {}


def new_run_id() -> str:
    """A fresh run id: 22 URL-safe characters (128 random bits) that never start with ``-``.

    An id starting with ``-`` would read as an option to ``rnn-demo runs show``.
    """
    while (run_id := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return run_id


def check_run_id(run_id: object) -> str:
    """``run_id`` if it has a run id's shape, else :class:`RunNotFound` (checked before any query)."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        shown = repr(run_id)[:40]
        raise RunNotFound(f"{shown} is not a run id: a run link ends in ?id= and 22 letters, digits, - or _")
    return run_id


def clean_name(name: object) -> str:
    """``name`` as one line of printable text, at most ``NAME_MAX`` characters ("" if nothing is left)."""
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in str(name or ""))
    return re.sub(r"\s+", " ", text).strip()[:NAME_MAX].strip()


def json_ready(value):
    """``value`` with NumPy scalars and arrays as plain Python, tuples as lists, and NaN/inf as ``None``."""
    if isinstance(value, Mapping):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item) for item in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return _finite(value)
    return value


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
