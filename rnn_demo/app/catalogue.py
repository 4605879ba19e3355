"""The models a visitor can use, and the Compare page's view of them, without Streamlit.

* :class:`InteractiveModel`: what the interactive pages need of any model (the
  shipped ones, uploads, this session's): its NumPy twin and what to say about it;
* :class:`TrainedModel`: a finished run of this session (the engine's record and
  the twin's arrays), as :class:`~rnn_demo.app.live_training.TrainingJob` hands it over;
* :func:`comparison_rows` / :func:`comparison_curves`: the Compare page's table
  and curves of trained models.

Plain Python and NumPy (no Keras, no Streamlit), tested directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnn_demo.config import ARCHITECTURE_NAMES
from rnn_demo.engine.records import RunRecord
from rnn_demo.twins.model import NumpyModel
from rnn_demo.twins.twin_file import twin_from_arrays


@dataclass(frozen=True, eq=False)
class InteractiveModel:
    """A model the interactive pages can use: its NumPy twin and what to say about it.

    ``key`` identifies it in the model picker; ``dataset`` names the data it learned.
    """

    key: str
    label: str
    arch: str
    dataset: str
    description: str
    numpy_model: NumpyModel


def uploaded_interactive_model(arrays: dict, metadata: dict, name: str, key: str) -> InteractiveModel:
    """Wrap an upload that a worker has read and checked (``jobs.read_upload``) for the pages."""
    arch = metadata.get("arch")
    accuracy = metadata.get("val_accuracy")
    description = (
        f"Uploaded by you ({name}, kept in this session only): "
        + (f"{ARCHITECTURE_NAMES[arch]}, " if arch in ARCHITECTURE_NAMES else "")
        + (f"{metadata['iterations']} iterations, " if "iterations" in metadata else "")
        + (f"validation accuracy {accuracy:.1%} when saved." if isinstance(accuracy, float)
           else "no training record inside.")
    )
    return InteractiveModel(
        key, f"Uploaded: {name}", arch or "custom", metadata.get("dataset", "mnist"), description,
        twin_from_arrays(arrays),
    )


@dataclass(eq=False)
class TrainedModel:
    """A finished run of this session: the engine's record, the twin's arrays and the twin."""

    number: int
    result: RunRecord
    arrays: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        self.numpy_model = twin_from_arrays(self.arrays)

    @property
    def label(self) -> str:
        result = self.result
        return (
            f"#{self.number} {ARCHITECTURE_NAMES[result.config.arch]} · {result.iterations_done} it · "
            f"{result.val_accuracy:.1%}"
        )

    def as_interactive(self) -> InteractiveModel:
        result = self.result
        description = (
            f"Trained by you in this session: {ARCHITECTURE_NAMES[result.config.arch]}, "
            f"{result.iterations_done} iterations on {result.data_description}; "
            f"validation accuracy {result.val_accuracy:.1%}."
        )
        return InteractiveModel(
            f"session-{self.number}", self.label, result.config.arch, result.dataset,
            description, self.numpy_model,
        )


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
