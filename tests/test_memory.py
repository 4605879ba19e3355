"""rnn_demo.app.memory: with the threshold fixed, arrays a visitor frees leave the process.

Each case runs in a fresh interpreter (the allocator's state is per process):
one 16 MiB array freed raises glibc's threshold, then sixteen 2 MiB arrays are
made between small objects that stay, and freed. Without the fix their memory
stays resident; with it, it is gone.
"""

from __future__ import annotations

import ctypes.util
import os
import platform
import subprocess
import sys

import pytest

RETAINED = """
import numpy as np
from rnn_demo.app.memory import fix_mmap_threshold
def resident_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
if {fixed}:
    assert fix_mmap_threshold()
big = np.ones(2 * 2**20)  # 16 MiB, mapped and unmapped: glibc raises its threshold to it
del big
before = resident_mib()
arrays, kept = [], []
for _ in range(16):
    arrays.append(np.ones(2**18))  # 2 MiB
    kept.append(bytearray(4096))  # what a page keeps meanwhile (from malloc, not pymalloc)
del arrays
print(resident_mib() - before)
"""

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or ctypes.util.find_library("c") is None or "glibc" not in platform.libc_ver()[0],
    reason="the fix is for glibc's allocator",
)


def retained_mib(fixed: bool) -> float:
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_MMAP_THRESHOLD_"}
    result = subprocess.run([sys.executable, "-c", RETAINED.format(fixed=fixed)], env=env,
                            capture_output=True, text=True, check=True)
    return float(result.stdout)


def test_freed_arrays_stay_resident_without_the_fix_and_leave_with_it():
    assert retained_mib(fixed=False) > 24  # of the 32 MiB freed (sixteen of 2 MiB)
    assert retained_mib(fixed=True) < 4
