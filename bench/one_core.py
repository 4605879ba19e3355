"""Imported first by the latency benches: pin this process to one core and one thread.

Importing it before NumPy (and TensorFlow) start their thread pools makes every
side of a latency bench run on the same single core, so the figures compare
code, not how many cores each library happened to grab.
"""

import os

if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
