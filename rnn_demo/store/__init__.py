"""The run store: trainings, uploads and Compare sets kept in SQLite or PostgreSQL.

``open_store()`` returns a :class:`RunStore`; see :mod:`rnn_demo.store.store`
for the API, :mod:`rnn_demo.store.settings` for where it lives and its limits.
"""

from rnn_demo.store.errors import RunNotFound, StoreError, StoreFull
from rnn_demo.store.runs import NewRun, RemovedRun, Run, RunSummary, SaveResult, training_run
from rnn_demo.store.settings import RunLimits, new_key, owner_from_key
from rnn_demo.store.store import RunStore, open_store

__all__ = [
    "NewRun", "RemovedRun", "Run", "RunLimits", "RunNotFound", "RunStore", "RunSummary", "SaveResult",
    "StoreError", "StoreFull", "new_key", "open_store", "owner_from_key", "training_run",
]
