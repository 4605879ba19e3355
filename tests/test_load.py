"""The load test at a small scale: four visitors press Train at once on a real server.

Runs ``python -m bench.load_test`` as a subprocess (its own ``streamlit run app.py``
and Chromium, both stopped by it) with a queue of one place, so that at once
two visitors train, one waits in the queue and one is told the server is busy.
Which visitor gets which is a race; the assertions only need every visitor to
end one of those ways, with no error anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 170  # the load test's own deadline; it stops by itself after it


def test_four_visitors_train_or_are_told_busy_without_errors():
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is missing (make test installs it: apt-get install chromium)")
    completed = subprocess.run(
        [sys.executable, "-m", "bench.load_test", "--visitors", "4", "--iterations", "30",
         "--max-trainings", "2", "--max-waiting", "1", "--timeout", str(DEADLINE_SECONDS), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE_SECONDS + 60,
    )
    report = completed.stdout + completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert lines and lines[-1].startswith("{"), report
    figures = json.loads(lines[-1])

    assert figures["errors"] == 0, report
    assert completed.returncode == 0, report
    # Outcomes split the visitors: each one's training finished, or they were refused.
    assert figures["trainings_finished"] + figures["refused_busy"] == 4, report
    assert figures["trainings_finished"] >= 1, report
    assert figures["peak_rss_mib"] > 0 and figures["server_vmhwm_mib"] > 0, report
    assert figures["page_loads_during_training"] >= 1, report
