"""The soak: visitors one after another train, look inside and leave, and memory is read after each.

:func:`soak` runs it on its own ``streamlit run app.py`` and Chromium; ``tests/test_soak.py``
runs three visitors, ``python -m bench.soak`` thirty and an idle wait (see docs/performance.md).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness import (
    ARTIFACTS,
    RECIPE,
    Server,
    launch_chromium,
    maps_library,
    no_exceptions,
    page_url,
    status_kib,
    status_selector,
    wait_for,
    wait_until_idle,
)

VISIT_TIMEOUT_MS = 180_000
# A worker replaced after its job warms up for seconds; memory is read once the
# processes are settled: the same processes, each within SETTLED_MIB, for SETTLED_SECONDS.
SETTLED_MIB = 2.0
SETTLED_SECONDS = 3.0
SETTLE_LIMIT_SECONDS = 120.0


@dataclass
class Sample:
    after: str  # "visitor 3", "idle 120 s"
    server_mib: float
    total_mib: float
    workers: int
    seconds: float


@dataclass
class StoreUse:
    """What the soak's SQLite store holds: its runs, the bytes they hold, and its files' bytes."""

    runs: int
    held_bytes: int  # the runs' own size_bytes (config, curves, metrics, model files)
    file_bytes: int  # runs.sqlite and its write-ahead log on disk


def store_use(home: Path) -> StoreUse:
    """Read ``home``'s run store (``runs.sqlite``) as it is on disk."""
    files = [home / "runs.sqlite", home / "runs.sqlite-wal"]
    with sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True) as connection:
        runs, held = connection.execute("SELECT count(*), coalesce(sum(size_bytes), 0) FROM runs").fetchone()
    return StoreUse(runs, held, sum(path.stat().st_size for path in files if path.exists()))


def visit(browser, base: str, iterations: int) -> None:
    """One visitor: train the recipe, look inside, close the tab."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(page_url(base, "train", f"{RECIPE}&iterations={iterations}"))
        wait_until_idle(page, ready="train", timeout_ms=VISIT_TIMEOUT_MS)
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_selector(status_selector("completed"), timeout=VISIT_TIMEOUT_MS)
        wait_until_idle(page, ready="train", timeout_ms=VISIT_TIMEOUT_MS)
        page.goto(page_url(base, "inside"))
        wait_until_idle(page, ready="inside", timeout_ms=VISIT_TIMEOUT_MS)
        no_exceptions(page)
    finally:
        context.close()


def settled_memory(server: Server) -> tuple[float, float]:
    """(server MiB, total MiB) once no worker is starting or warming up (see SETTLED_*);
    read anyway after SETTLE_LIMIT_SECONDS."""
    seen = {"pids": None, "sizes": {}, "since": time.monotonic()}

    def settled() -> bool:
        pids = tuple(sorted(server.worker_pids()))
        sizes = {pid: status_kib(pid, "VmRSS") / 1024 for pid in pids}
        if seen["pids"] != pids or any(abs(sizes[pid] - seen["sizes"][pid]) > SETTLED_MIB for pid in pids):
            seen.update(pids=pids, sizes=sizes, since=time.monotonic())
            return False
        return time.monotonic() - seen["since"] >= SETTLED_SECONDS

    wait_for(settled, SETTLE_LIMIT_SECONDS, 0.5, message=None)
    return server.memory_mib()


def soak(visitors: int, iterations: int, idle: float, home: Path, env: dict[str, str] | None = None,
         report=print) -> list[Sample]:
    """Run the soak, its run store in ``home``; ``report`` receives each :class:`Sample` as it is taken.

    Raises ``AssertionError`` if the web process mapped TensorFlow or its log has tracebacks.
    """
    from playwright.sync_api import sync_playwright

    samples: list[Sample] = []
    with Server(env={"RNN_DEMO_HOME": str(home), **(env or {})}, log_path=ARTIFACTS / "soak" / "streamlit.log") as server, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        started = time.perf_counter()
        try:
            for number in range(1, visitors + 1):
                visit(browser, server.base, iterations)
                own, total = settled_memory(server)
                samples.append(Sample(f"visitor {number}", own, total, len(server.worker_pids()),
                                      time.perf_counter() - started))
                report(samples[-1])
        finally:
            browser.close()
        if idle:
            time.sleep(idle)  # the idle wait is what is measured; no marker to wait on
            server.answers("/")  # a request, so Streamlit's session store is touched
            own, total = settled_memory(server)
            samples.append(Sample(f"idle {idle:g} s", own, total, len(server.worker_pids()),
                                  time.perf_counter() - started))
            report(samples[-1])
        if maps_library(server.pid, "tensorflow"):
            raise AssertionError("the web process has TensorFlow mapped")
        tracebacks = server.tracebacks()
        if tracebacks:
            raise AssertionError(f"tracebacks in the server log: {tracebacks}")
    return samples
