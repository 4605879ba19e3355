"""The server's start: what the first visit of each page would otherwise do, done before any visit.

``streamlit run app.py`` finds app.py's :class:`streamlit.App` and starts it;
its lifespan (:func:`lifespan`) runs :func:`warm_up` before the server answers
anything, even its health check. So no visitor pays for the imports and reads
that every first visit after a start would: pandas and pyarrow (Streamlit's
components check each value they are given for a dataframe, 0.8 s on a 2-core
machine), this package's page modules and Plotly's figure code, the dataset,
the shipped models and the store, and the worker pool, whose fork server then
imports Keras at its own low priority. See docs/performance.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pkgutil
import time

from streamlit.logger import get_logger

import rnn_demo.ui
import rnn_demo.views
from rnn_demo.config import ARCHITECTURES

_LOG = get_logger(__name__)


@contextlib.asynccontextmanager
async def lifespan(app):
    """:class:`streamlit.App`'s lifespan: :func:`warm_up` before serving; at the end, the workers closed."""
    try:
        await asyncio.to_thread(warm_up)
    except Exception:  # noqa: BLE001 - the server still starts: each page says what it cannot do
        _LOG.exception("The warm-up failed")
    yield
    from rnn_demo.ui import resources

    await asyncio.to_thread(resources.worker_pool().close)


def warm_up() -> None:
    """Import, read and start what the pages' first views need (the caches every session shares)."""
    started = time.perf_counter()
    from rnn_demo.ui import resources

    pool = resources.worker_pool()  # first: its fork server imports Keras beside what follows
    import pandas  # noqa: F401  (what Streamlit's components import on their first call)
    import pyarrow  # noqa: F401

    for package in (rnn_demo.ui, rnn_demo.views):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    from rnn_demo.views import figures, inside_figures

    resources.run_store()
    dataset = resources.get_dataset("mnist")
    for arch in ARCHITECTURES:
        resources.shipped_model(arch)
    trace = resources.shipped_model("lstm").numpy_model.trace(resources.example_digit())
    # The first figure of each kind loads Plotly's validators for its traces.
    figures.sequence_figure(trace.image).to_json()
    inside_figures.readout_figure(trace.image, trace.readout_probabilities, trace.row_importance,
                                  dataset.class_names).to_json()
    try:  # a warm worker: the first Train is not kept waiting, nor the first visits slowed
        pool.backend_info(wait=True)
    except Exception as error:  # noqa: BLE001 - the pages still serve the shipped models
        _LOG.warning("The workers did not start: %s", error)
    _LOG.info("Warmed up in %.1f s", time.perf_counter() - started)
