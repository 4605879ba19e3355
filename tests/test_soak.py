"""The soak at a small scale: three visitors one after another train, look inside and leave.

Runs :func:`tests.soak_support.soak` (its own ``streamlit run app.py`` and Chromium)
without the idle wait. The full soak (30 visitors and two idle minutes) is
``python -m bench.soak``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak_support import soak, store_use

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_visitors_come_and_go_and_the_server_stays_small(tmp_path):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is missing (make test installs it: apt-get install chromium)")
    samples = soak(visitors=3, iterations=30, idle=0, home=tmp_path, report=lambda sample: None)
    assert [sample.after for sample in samples] == ["visitor 1", "visitor 2", "visitor 3"]
    # Workers and the multiprocessing resource tracker: at least the default two workers.
    assert all(sample.workers >= 3 for sample in samples)
    # The web process holds no models, and what a visitor's arrays took goes back
    # (rnn_demo.app.memory): a few visitors add next to nothing to it.
    assert samples[-1].server_mib - samples[0].server_mib < 15
    # And the server never loaded TensorFlow (soak() raises if it did).
    # Each visitor's training is one run, and the store's files hold little beyond what the runs hold.
    store = store_use(tmp_path)
    assert store.runs == 3
    assert store.held_bytes < store.file_bytes < 1.5 * store.held_bytes + 2**20
