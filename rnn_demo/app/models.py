"""The models a visitor can use, wrapped for the pages, without Streamlit.

* :class:`InteractiveModel`: what the interactive pages need of any model (the
  shipped ones, uploads, this session's): its NumPy twin and what to say about it;
* :class:`TrainedModel`: a finished run of this session (the engine's record and
  the twin's arrays), as :class:`~rnn_demo.app.live_training.LiveTraining` hands it over;
* :func:`stored_interactive_model`, :func:`run_label`, :func:`run_recipe`: a run
  from the run store, as the pickers and the Runs page name it.

Plain Python and NumPy (no Keras, no Streamlit), tested directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_demo.config import ARCHITECTURE_NAMES
from rnn_demo.data.sources import data_phrase
from rnn_demo.engine.records import RunRecord
from rnn_demo.store import RunSummary
from rnn_demo.twins.model import NumpyModel
from rnn_demo.twins.twin_file import twin_from_arrays


@dataclass(frozen=True, eq=False)
class InteractiveModel:
    """A model the interactive pages can use: its NumPy twin and what to say about it.

    ``key`` identifies it in the model picker; ``dataset`` names the data it learned;
    ``temperature`` divides its logits before the softmax where its file stores one
    (a shipped model's calibration, docs/models.md), so that its 90 % is right 9 times in 10.
    """

    key: str
    label: str
    arch: str
    dataset: str
    description: str
    numpy_model: NumpyModel
    temperature: float = 1.0


def stored_temperature(metadata: dict) -> float:
    """The calibration ``temperature`` a model file's metadata stores, or 1 when none is
    (or when it is not a number within the range ``fit_temperature`` searches, 0.25–8)."""
    value = metadata.get("temperature")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0.25 <= value <= 8:
        return float(value)
    return 1.0


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
        twin_from_arrays(arrays), stored_temperature(metadata),
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
            f"{result.iterations_done} iterations on {data_phrase(result.dataset, result.data_source, result.n_train)}; "
            f"validation accuracy {result.val_accuracy:.1%}."
        )
        return InteractiveModel(
            f"session-{self.number}", self.label, result.config.arch, result.dataset,
            description, self.numpy_model,
        )


def run_label(run: RunSummary) -> str:
    """How a stored run is named in a model switch: its name, and its accuracy when it has one."""
    prefix = "Uploaded: " if run.kind == "upload" and not run.name.startswith("Uploaded") else ""
    accuracy = f" · {run.val_accuracy:.1%}" if run.val_accuracy is not None else ""
    return f"{prefix}{run.name}{accuracy}"


def run_recipe(run: RunSummary) -> str:
    """The run's architecture and training settings in one line (what the Runs page lists)."""
    return ", ".join(part for part in (ARCHITECTURE_NAMES.get(run.arch, run.arch),
                                       hyperparameters(run.config or {})) if part)


def hyperparameters(config: dict) -> str:
    """A run's settings besides its recipe, in one short line (the Runs page, the class board)."""
    parts = []
    if "hidden_units" in config:
        parts.append(f"{config['hidden_units']} units")
    if "learning_rate" in config:
        parts.append(f"lr {config['learning_rate']:g}")
    if "batch_size" in config:
        parts.append(f"batch {config['batch_size']}")
    if config.get("augment"):
        parts.append(f"augment {config['augment']}" if isinstance(config["augment"], str) else "augmented")
    return ", ".join(parts)


def stored_interactive_model(run: RunSummary, numpy_model: NumpyModel, temperature: float = 1.0) -> InteractiveModel:
    """A run from the store (``numpy_model``: its twin; ``temperature``: its calibration) for the pages."""
    whose = "Yours" if run.mine else "Shared with you by its link"
    accuracy = f"validation accuracy {run.val_accuracy:.1%}" if run.val_accuracy is not None \
        else "no validation accuracy recorded"
    description = (f"{whose}, kept in the run store ({run.kind}, {run.status}): {run_recipe(run)}, "
                   f"{run.iterations} iterations; {accuracy}.")
    return InteractiveModel(f"run-{run.id}", run_label(run), run.arch, run.dataset, description, numpy_model,
                            temperature)
