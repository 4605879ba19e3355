"""Imported once, by multiprocessing's fork server: the process every local worker is forked from.

:class:`rnn_demo.compute.local_pool.WorkerPool` names this module as the fork server's
preload. Importing it puts the fork server below the web process (its own session and
scheduler group, niced like a warming worker), then imports Keras and the engine. A worker
forked from it starts with them in memory, so a new or replacement worker pays for its
warm-up only, not for an interpreter and TensorFlow's import as well, which would take
the CPU from the trainings beside it (figures: docs/hosting.md, ``bench/bench_workers.py``).

Only imports happen here. TensorFlow's runtime and its thread pools start in each worker
at its first operation, after the fork and after :func:`~rnn_demo.compute.worker_process.initialise`
has set their sizes. With another backend (``KERAS_BACKEND=jax``) each worker imports for
itself, as a spawned process would: whether JAX's import alone leaves a process safe to fork
is not something we have verified. The web process never imports this module.
"""

import os

from rnn_demo.compute.worker_process import WORKER_NICENESS, below_everything_else

below_everything_else()
os.nice(WORKER_NICENESS)  # where there are no autogroups, the process's own niceness holds
if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
    import rnn_demo.engine.persistence  # noqa: F401
    import rnn_demo.engine.training  # noqa: F401
