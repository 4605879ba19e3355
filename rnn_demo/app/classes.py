"""What the class board says about its posted runs: recipes, a summary per recipe, the CSV export, the link.

Plain values over :class:`~rnn_demo.store.classes.BoardRow` (no Streamlit), so
every number the board shows is checked in a plain test. A run's *recipe* is
its architecture; its hyperparameters are the rest of its training settings.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rnn_demo.app.links import public_link
from rnn_demo.config import ARCHITECTURE_NAMES
from rnn_demo.store.classes import BoardRow

CLASS_PAGE = "class"
CSV_COLUMNS = ("nickname", "run_id", "recipe", "hidden_units", "learning_rate", "batch_size", "iterations",
               "val_accuracy", "status", "finished_utc")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


@dataclass(frozen=True)
class RecipeSummary:
    """How many runs of one recipe the board holds, and their median and best accuracy (``None``: none scored)."""

    arch: str
    recipe: str
    count: int
    median: float | None
    best: float | None


def recipe(arch: str) -> str:
    return ARCHITECTURE_NAMES.get(arch, arch)


def recipe_summaries(rows: Sequence[BoardRow]) -> list[RecipeSummary]:
    """One summary per recipe on the board, the best median first (unscored recipes last)."""
    groups: dict[str, list[BoardRow]] = {}
    for row in rows:
        groups.setdefault(row.arch, []).append(row)
    summaries = []
    for arch, group in groups.items():
        scores = [row.val_accuracy for row in group if row.val_accuracy is not None]
        summaries.append(RecipeSummary(arch, recipe(arch), len(group), statistics.median(scores) if scores else None,
                                       max(scores) if scores else None))
    return sorted(summaries, key=lambda item: (item.median is None, -(item.median or 0.0), item.recipe))


def board_csv(rows: Sequence[BoardRow]) -> bytes:
    """The board as CSV (UTF-8), one line per posted run; no cell can run as a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        config = row.config
        writer.writerow([_cell(row.nickname), row.run_id, recipe(row.arch), config.get("hidden_units", ""),
                         config.get("learning_rate", ""), config.get("batch_size", ""), row.iterations,
                         "" if row.val_accuracy is None else f"{row.val_accuracy:.4f}", row.status,
                         row.finished.strftime("%Y-%m-%d %H:%M:%S")])
    return buffer.getvalue().encode("utf-8")


def join_link(code: str, browser_url: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The address students open (:func:`~rnn_demo.app.links.public_link`), from the class page at ``browser_url``."""
    return public_link(CLASS_PAGE, {"code": code}, browser_url=browser_url, on_page=CLASS_PAGE, environ=environ)


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


# What an assignment may pin: Train's link parameters (rnn_demo.app.links.QUERY_FIELDS), in this order.
ASSIGNABLE = ("arch", "hidden", "lr", "batch", "iterations", "augment")


def describe_assignment(pinned: dict[str, str]) -> str:
    """The pinned settings (link names → link text) in words: "LSTM, 64 units, learning rate 0.01"."""
    words = {"arch": lambda value: recipe(value), "hidden": lambda value: f"{value} units",
             "lr": lambda value: f"learning rate {value}", "batch": lambda value: f"batch {value}",
             "iterations": lambda value: f"{value} iterations",
             "augment": lambda value: "augmented digits" if value == "1" else "no augmentation"}
    return ", ".join(words[key](pinned[key]) for key in ASSIGNABLE if key in pinned)
