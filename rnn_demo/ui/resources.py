"""What every session of this server shares, read-only and cached (``st.cache_resource``).

The worker pool, datasets, the host's limits and training queue, the backend's
GPU status, the shipped model of each architecture (its NumPy twin, read
from ``rnn_demo/assets/models/<arch>.npz``) and the run store. A visitor's
runs live in the store; this process keeps only a few of their twins, in a
bounded cache (:mod:`rnn_demo.ui.runs`).
"""

from __future__ import annotations

import os
import time

import numpy as np
import streamlit as st
from streamlit.logger import get_logger

from rnn_demo.app.limits import HostLimits, TrainingQueue
from rnn_demo.app.models import InteractiveModel, stored_temperature
from rnn_demo.app.shipped import shipped_model_path
from rnn_demo.compute.pool import make_pool
from rnn_demo.config import ARCHITECTURE_NAMES, ConfigError
from rnn_demo.data.sources import DataError, Dataset, data_phrase, downloads_allowed, load_dataset
from rnn_demo.store import RunStore, StoreError, open_store
from rnn_demo.store.settings import HOME_VARIABLE, URL_VARIABLE
from rnn_demo.twins.twin_file import load_twin, twin_path

_LOG = get_logger(__name__)  # Streamlit's: printed at the server's log level (info by default)
# A short job (dataset, upload, download) waits this long for a worker busy training.
SHORT_JOB_WAIT_SECONDS = 60.0
STORE_RETRY_SECONDS = 30.0  # a store that failed to open is tried again after this long
# What names the store (and its limits): the cached store follows these variables.
STORE_VARIABLES = (URL_VARIABLE, HOME_VARIABLE, "RNN_DEMO_MAX_RUNS_PER_VISITOR", "RNN_DEMO_MAX_STORE_MB",
                   "RNN_DEMO_RUN_DAYS")


@st.cache_resource(show_spinner=False)
def worker_pool():
    """The server's worker processes (or its Ray cluster), one per training slot.

    Started by the first visit and kept warm; every Keras job of every
    session runs there (:mod:`rnn_demo.compute.local_pool`).
    """
    return make_pool(host_limits().max_concurrent_trainings)


@st.cache_resource(show_spinner="Loading the digits…")
def get_dataset(name: str = "mnist") -> Dataset:
    """The dataset ``name`` as the workers see it (shared by all sessions, never modified).

    Read here with NumPy from the same sources a worker uses (a data folder,
    Keras's cache, the embedded sample), so a page never waits for a worker.
    Only when a download could still bring the full data does a worker fetch
    it (Keras's downloader stays out of this process).
    """
    try:
        dataset = load_dataset(name, fetch=False)
        if dataset.source == "embedded" and downloads_allowed():
            dataset = worker_pool().run("dataset", name, wait_for_worker=SHORT_JOB_WAIT_SECONDS)
    except DataError:
        if not downloads_allowed():
            raise
        dataset = worker_pool().run("dataset", name, wait_for_worker=SHORT_JOB_WAIT_SECONDS)
    # The server's log keeps the exact source (and why a fallback); the pages say Dataset.summary.
    _LOG.info("data for %s: %s", name, dataset.description)
    return dataset


@st.cache_resource(show_spinner=False)
def host_limits() -> HostLimits:
    """The host's caps (``RNN_DEMO_MAX_*`` environment variables), read once."""
    return HostLimits.from_environment()


@st.cache_resource(show_spinner=False)
def training_queue() -> TrainingQueue:
    """The one queue of training slots every session of this server shares."""
    limits = host_limits()
    return TrainingQueue(limits.max_concurrent_trainings, limits.max_waiting)


def gpu_status() -> tuple[list[str], str] | None:
    """(GPU names the workers' Keras backend sees, backend name), or None while the
    workers are still starting (the page asks again on its next run)."""
    info = worker_pool().backend_info(wait=False)
    return None if info is None else (info["gpus"], info["backend"])


def shipped_label(arch: str) -> str:
    """How the shipped model of ``arch`` is named in a model switch (known before it is read)."""
    return f"Shipped {ARCHITECTURE_NAMES[arch]}"


@st.cache_resource(show_spinner=False)
def shipped_model(arch: str = "lstm") -> InteractiveModel:
    """The shipped model of ``arch`` (its NumPy twin), read once for everyone."""
    twin = load_twin(twin_path(shipped_model_path(arch)))
    meta = twin.metadata
    config = meta.get("config", {})
    accuracy = meta.get("val_accuracy")
    description = (
        f"Shipped with the app: {ARCHITECTURE_NAMES[arch]}, {config.get('hidden_units', 64)} units, "
        f"trained for {meta.get('iterations', '?')} iterations"
        + (" with augmented digits" if config.get("augment") else "")
        + f" on {data_phrase(meta.get('dataset', 'mnist'), meta.get('data_source', ''), meta.get('n_train', 0))}"
        f"; accuracy on the {meta.get('n_valid', 1000):,} validation digits it never saw: "
        + (f"{accuracy:.1%}." if isinstance(accuracy, float) else "unknown.")
    )
    return InteractiveModel(
        f"shipped-{arch}", shipped_label(arch), arch, meta.get("dataset", "mnist"),
        description, twin.numpy_model, stored_temperature(meta),
    )


@st.cache_resource(show_spinner=False)
def example_digit(index: int = 7) -> np.ndarray:
    """``(16, 16)`` one validation digit of the embedded sample (no download, no Keras)."""
    from rnn_demo.data.sources import load_embedded

    return load_embedded().valid_sequences[index]


@st.cache_resource(show_spinner=False, max_entries=4)
def _opened_store(variables: tuple) -> RunStore | StoreError:
    """The store these variables name, opened once, or why it could not be (with when, for a retry)."""
    try:
        return open_store()
    except (StoreError, ConfigError) as error:
        failure = StoreError(str(error)[:1].upper() + str(error)[1:])
        failure.failed_at = time.monotonic()
        return failure


def _store_outcome() -> RunStore | StoreError:
    variables = tuple(os.environ.get(name) for name in STORE_VARIABLES)
    outcome = _opened_store(variables)
    if isinstance(outcome, StoreError) and time.monotonic() - outcome.failed_at > STORE_RETRY_SECONDS:
        _opened_store.clear()
        outcome = _opened_store(variables)
    return outcome


def run_store() -> RunStore | None:
    """The process's run store, or ``None`` when it cannot be opened (see :func:`store_problem`)."""
    outcome = _store_outcome()
    return None if isinstance(outcome, StoreError) else outcome


def store_problem() -> str | None:
    """One sentence (which store, what failed) when the store cannot be opened, else ``None``.

    The frame shows it once at the top of every page; the pages go on with the shipped models.
    """
    outcome = _store_outcome()
    return str(outcome) if isinstance(outcome, StoreError) else None
