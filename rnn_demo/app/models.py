"""The models a visitor can use, wrapped for the pages, without Streamlit.

* :class:`InteractiveModel`: what the interactive pages need of any model (the
  shipped ones, uploads, this session's): its NumPy twin and what to say about it;
* :class:`TrainedModel`: a finished run of this session (the engine's record and
  the twin's arrays), as :class:`~rnn_demo.app.live_training.LiveTraining` hands it over.

Plain Python and NumPy (no Keras, no Streamlit), tested directly.
"""

from __future__ import annotations

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
