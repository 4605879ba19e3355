"""Soak: visitors one after another train, look inside and leave; does memory stay flat?

On a real ``streamlit run app.py`` (loopback only), each of N visitors opens
``/train`` with the chapter's LSTM recipe, presses **Train**, waits for the
result, visits ``/inside``, and closes their tab. After each visitor the
resident memory of the server alone and of the server with all its worker
processes is printed; after the last one the server is left idle for
``--idle`` seconds (Streamlit keeps a closed tab's session for two minutes)
and measured once more.

The figure that matters: total after the last visitor and the idle wait,
minus total after the 5th visitor (``--reference``).

    python bench/soak.py [--visitors 30] [--iterations 60] [--idle 120] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import (  # noqa: E402
    ARTIFACTS,
    Server,
    launch_chromium,
    maps_library,
    no_exceptions,
    status_kib,
    status_selector,
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


def visit(browser, base: str, iterations: int) -> None:
    """One visitor: train the recipe, look inside, close the tab."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{base}/train?arch=lstm&hidden=64&lr=0.01&batch=500&iterations={iterations}")
        wait_until_idle(page, ready="train", timeout_ms=VISIT_TIMEOUT_MS)
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_selector(status_selector("completed"), timeout=VISIT_TIMEOUT_MS)
        wait_until_idle(page, ready="train", timeout_ms=VISIT_TIMEOUT_MS)
        page.goto(f"{base}/inside")
        wait_until_idle(page, ready="inside", timeout_ms=VISIT_TIMEOUT_MS)
        no_exceptions(page)
    finally:
        context.close()


def settled_memory(server: Server) -> tuple[float, float]:
    """(server MiB, total MiB) once no worker is starting or warming up (see SETTLED_*)."""
    deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
    previous = None
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        pids = tuple(sorted(server.worker_pids()))
        sizes = {pid: status_kib(pid, "VmRSS") / 1024 for pid in pids}
        if previous is None or previous[0] != pids or any(
            abs(sizes[pid] - previous[1][pid]) > SETTLED_MIB for pid in pids
        ):
            previous, stable_since = (pids, sizes), time.monotonic()
        elif time.monotonic() - stable_since >= SETTLED_SECONDS:
            break
        time.sleep(0.5)
    return server.memory_mib()


def soak(visitors: int, iterations: int, idle: float, env: dict[str, str] | None = None,
         report=print) -> list[Sample]:
    """Run the soak; ``report`` receives each :class:`Sample` as it is taken."""
    from playwright.sync_api import sync_playwright

    samples: list[Sample] = []
    with Server(env=env, log_path=ARTIFACTS / "soak" / "streamlit.log") as server, \
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
            time.sleep(idle)  # the bench's whole point is the idle wait; no marker to wait on
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=30)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--idle", type=float, default=120.0, help="seconds idle after the last visitor")
    parser.add_argument("--reference", type=int, default=5, help="compare with memory after this visitor")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    print(f"{'after':>12}  {'server MiB':>10}  {'+ workers MiB':>13}  {'processes':>9}  {'elapsed s':>9}")

    def show(sample: Sample) -> None:
        print(f"{sample.after:>12}  {sample.server_mib:10.0f}  {sample.total_mib:13.0f}  "
              f"{sample.workers:9d}  {sample.seconds:9.0f}", flush=True)

    samples = soak(args.visitors, args.iterations, args.idle, report=show)
    reference = samples[min(args.reference, len(samples)) - 1]
    growth = samples[-1].total_mib - reference.total_mib
    print(f"total after '{samples[-1].after}' minus after '{reference.after}': {growth:+.0f} MiB")
    if args.json:
        print(json.dumps({"samples": [asdict(s) for s in samples], "growth_mib": round(growth, 1)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
