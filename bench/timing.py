"""Timing one call many times: the loop the single-process benches share."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def call_durations_ms(function: Callable[[], object], repeats: int, *, warm_up: int = 3) -> np.ndarray:
    """``(repeats,)`` durations in milliseconds of ``function()``, after ``warm_up`` untimed calls
    (first calls fill caches and allocate buffers that later ones reuse)."""
    for _ in range(warm_up):
        function()
    durations = np.empty(repeats)
    for index in range(repeats):
        start = time.perf_counter()
        function()
        durations[index] = time.perf_counter() - start
    return durations * 1e3
