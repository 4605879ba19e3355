"""Every training the app runs, stored as one of its owner's runs when it ends.

:class:`StoreKeeper` is the ``keep`` hook of a
:class:`~rnn_demo.app.live_training.LiveTraining`: a run that finished, was
stopped or diverged is stored with its twin and its ``.keras`` file (built by a
worker, ``jobs.model_file``); a run whose worker died is stored as ``"failed"``
with the iteration it reached and the last weights snapshot the job had sent,
scored here by its NumPy twin, so it is still a model that predicts. Nothing a
keeper meets is raised: the visitor is told in a :class:`KeptRun`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnn_demo.engine.records import History, RunRecord
from rnn_demo.store import NewRun, RunStore, training_run
from rnn_demo.twins.twin_file import twin_from_arrays

MODEL_FILE_WAIT_SECONDS = 60.0  # how long a run's .keras file waits for a free worker


@dataclass(frozen=True)
class KeptRun:
    """Where a run went: its id in the store (``None`` if it could not be stored), and what to say."""

    run_id: str | None
    notice: str | None = None  # the store's limits message, or why the run was not stored

    @property
    def link(self) -> str | None:
        return None if self.run_id is None else f"/runs?id={self.run_id}"


def file_metadata(record: RunRecord) -> dict:
    """What goes inside a run's ``.keras`` and twin files (as ``train --out`` writes it)."""
    return {**record.summary(), "history": record.history.to_dict()}


class StoreKeeper:
    """Store each run of one owner's training in ``store``; ``dataset(name)`` gives the data it learned."""

    def __init__(self, store: RunStore, owner: str, pool, dataset: Callable,
                 model_file_wait: float = MODEL_FILE_WAIT_SECONDS):
        self.store = store
        self.owner = owner
        self.pool = pool
        self.dataset = dataset
        self.model_file_wait = model_file_wait

    def finished(self, record: RunRecord, arrays: dict) -> KeptRun:
        """Store a run the worker handed back (finished, stopped or diverged)."""
        return self._save(record, arrays)

    def failed(self, snapshot, message: str) -> KeptRun:
        """Store a run that ended in an error, from the live ``snapshot`` of what it reached."""
        try:
            if snapshot.weights is None:  # it failed before its first weights snapshot: the curve only
                return self._store(_curve_only(snapshot, message))
            return self._save(failed_record(snapshot, message, self.dataset(snapshot.config.dataset)),
                              snapshot.weights[1])
        except Exception as error:  # noqa: BLE001 - the visitor is told instead
            return KeptRun(None, f"This run could not be kept: {error}")

    def _save(self, record: RunRecord, arrays: dict) -> KeptRun:
        metadata = file_metadata(record)
        try:
            model = self.pool.run("model_file", record.config, arrays, metadata, wait_for_worker=self.model_file_wait)
        except Exception:  # noqa: BLE001 - the run is kept without its .keras file
            model = None
        try:
            kept = self._store(training_run(record, model, arrays, metadata))
        except Exception as error:  # noqa: BLE001 - the visitor is told instead
            return KeptRun(None, f"This run could not be kept: {error}")
        if model is None:
            note = "Its .keras file could not be made; the run is kept without it."
            kept = KeptRun(kept.run_id, f"{kept.notice} {note}" if kept.notice else note)
        return kept

    def _store(self, run: NewRun) -> KeptRun:
        try:
            saved = self.store.save_run(self.owner, run)
        except Exception as error:  # noqa: BLE001 - StoreError, StoreFull: said, not raised
            return KeptRun(None, f"This run could not be kept: {error}")
        return KeptRun(saved.id, saved.notice)


def failed_record(snapshot, message: str, dataset) -> RunRecord:
    """The record of a run whose worker died: its curves so far, scored with its last weights.

    ``snapshot`` is the :class:`~rnn_demo.app.live_training.LiveSnapshot` at the
    failure; the scores are the twin's of ``snapshot.weights`` on the validation split.
    """
    config, last = snapshot.config, snapshot.last
    weights_iteration, arrays = snapshot.weights
    probabilities = twin_from_arrays(arrays).predict_probabilities(dataset.valid_sequences)  # (n_valid, classes)
    predictions = probabilities.argmax(axis=1)
    labels = np.asarray(dataset.y_valid)
    confusion = np.zeros((probabilities.shape[1],) * 2, dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    reached = len(snapshot.train_loss)
    return RunRecord(
        config=config, dataset=dataset.name, data_source=dataset.source,
        data_description=dataset.description, n_train=dataset.n_train, n_valid=dataset.n_valid,
        status="failed",
        message=f"{message.rstrip('.')}; kept after {reached} iterations with the weights of iteration "
                f"{weights_iteration}",
        iterations_done=reached,
        history=History(list(snapshot.train_loss), list(snapshot.val_iterations), list(snapshot.val_loss),
                        list(snapshot.val_accuracy)),
        val_loss=float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0)))),
        val_accuracy=float(np.mean(predictions == labels)), confusion=confusion, val_predictions=predictions,
        train_seconds=last.elapsed_seconds if last else 0.0,
        samples_per_second=last.samples_per_second if last else 0.0,
        device=config.device, backend="", params=int(sum(np.size(array) for array in arrays.values())),
    )


def _curve_only(snapshot, message: str) -> NewRun:
    config = snapshot.config
    return NewRun(
        kind="training", status="failed", arch=config.arch, dataset=config.dataset,
        iterations=len(snapshot.train_loss), config=config.to_dict(), metrics={"message": message},
        curves=History(list(snapshot.train_loss), list(snapshot.val_iterations), list(snapshot.val_loss),
                       list(snapshot.val_accuracy)).to_dict(),
    )
