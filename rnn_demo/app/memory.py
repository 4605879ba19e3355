"""The web process's allocator: a large array goes back to the system when it is freed.

glibc serves a block above its mmap threshold (128 KiB at first) from a mapping
of its own, unmapped on free, but it raises the threshold to the size of each
such block freed, up to 32 MiB. Once the first visitor's arrays were freed, the
next visitors' arrays of a few MiB came from the malloc arenas of Streamlit's
script threads instead, and what they left there stayed: the server grew by
about 18 MiB a visitor. A fixed threshold keeps it flat (docs/hosting.md, "Memory
stays flat"). ``MALLOC_MMAP_THRESHOLD_`` in the environment, where set, wins;
with a C library other than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

MMAP_THRESHOLD_BYTES = 256 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter (malloc.h)


@functools.cache
def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix this process's mmap threshold at ``threshold`` bytes (once); True when in force."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return True
    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    return bool(mallopt and mallopt(_M_MMAP_THRESHOLD, threshold) == 1)
