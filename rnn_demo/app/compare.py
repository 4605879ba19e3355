"""The Compare page's table and curves of this session's trained models, without Streamlit."""

from __future__ import annotations

from collections.abc import Sequence

from rnn_demo.app.models import TrainedModel
from rnn_demo.config import ARCHITECTURE_NAMES


def comparison_rows(models: Sequence[TrainedModel]) -> list[dict]:
    """One table row per trained model: cost and final scores."""
    rows = []
    for trained in models:
        result = trained.result
        rows.append({
            "model": trained.label,
            "architecture": ARCHITECTURE_NAMES[result.config.arch],
            "data": f"{result.dataset} ({result.data_source}, {result.n_train:,} train)",
            "seed": result.config.seed,
            "iterations": result.iterations_done,
            "parameters": result.params,
            "ms / iteration": 1000 * result.train_seconds / max(result.iterations_done, 1),
            "samples/s": round(result.samples_per_second),
            "validation accuracy": result.val_accuracy,
            "validation loss": result.val_loss,
            "status": result.status,
        })
    return rows


def comparison_curves(models: Sequence[TrainedModel]) -> list[dict]:
    """The curves of ``models`` in the shape :func:`rnn_demo.views.figures.compare_figure` takes."""
    return [
        {
            "label": trained.label, "arch": trained.result.config.arch,
            **trained.result.history.to_dict(),
        }
        for trained in models
    ]
