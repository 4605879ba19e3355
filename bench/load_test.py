"""Load test: N visitors press Train at the same moment on a real ``streamlit run app.py``.

On loopback, under one global deadline: a server with the given host limits, one
Chromium (niced, ``--browser-nice``) with a context per visitor (``bench/load_visitors.py``),
and a side thread timing HTTP GETs and sampling the server's memory. Prints a table of
outcomes (finished, refused, queued), page-load and HTTP times before and during
training, Train click → answer and → result, peak RSS and the cores used; ``--json``
ends with one JSON line. Exit status 1 if any error was seen (an exception or a
JavaScript error on a page, a crash, no outcome by the deadline, a failed HTTP probe, a
traceback in the server log, a run that stopped or failed). Artifacts go to
``artifacts/load_test/``. See docs/performance.md.

    python -m bench.load_test [--visitors 8] [--iterations 100] [--max-trainings N]
        [--max-waiting N] [--timeout 600] [--browser-nice 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

from bench.load_visitors import ARTIFACTS, POLL_SECONDS, Run, Visitor, drive
from tests.harness import CHROMIUM, Server

HTTP_TIMEOUT_SECONDS = 10


class SideProbe(threading.Thread):
    """Times HTTP GETs of ``/_stcore/health`` and ``/`` and samples the server's memory.

    Every ``POLL_SECONDS`` until :meth:`finish`; a plain thread (not the
    browser's event loop) so that a slow browser cannot delay the probe.
    """

    def __init__(self, server: Server):
        super().__init__(name="load-test-probe", daemon=True)
        self.server = server
        self.samples: list[tuple[float, str, float, bool]] = []  # (when, path, seconds, ok)
        self.failures: list[str] = []
        self.peak_rss_kib = 0
        self.hwm_kib = 0
        self._finish = threading.Event()

    def run(self) -> None:
        while not self._finish.is_set():
            for path in ("/_stcore/health", "/"):
                started = time.monotonic()
                ok = False
                try:
                    with urllib.request.urlopen(self.server.base + path, timeout=HTTP_TIMEOUT_SECONDS) as reply:
                        reply.read()
                        ok = reply.status == 200
                        if not ok:
                            self.failures.append(f"GET {path}: HTTP {reply.status}")
                except OSError as error:
                    self.failures.append(f"GET {path}: {error}")
                self.samples.append((started, path, time.monotonic() - started, ok))
            self.sample_memory()
            self._finish.wait(POLL_SECONDS)

    def sample_memory(self) -> None:
        rss, hwm = self.server.memory_kib()
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        self.hwm_kib = max(self.hwm_kib, hwm)

    def finish(self) -> None:
        self._finish.set()
        self.join(HTTP_TIMEOUT_SECONDS * 2 + 5)
        self.sample_memory()


# ------------------------------------------------------------------ the report


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def summarise(records: list[Visitor], run: Run, probe: SideProbe, server: Server,
              args: argparse.Namespace, wall: float) -> dict:
    start, end = run.window[0][0], run.window[1][0]
    server_cpu, own_cpu, machine_cpu = (
        (later - earlier) / max(end - start, 1e-9)
        for earlier, later in list(zip(*run.window, strict=True))[1:]
    )
    during = [(path, seconds) for when, path, seconds, ok in probe.samples if start <= when <= end and ok]
    health = [seconds for path, seconds in during if path == "/_stcore/health"]
    index = [seconds for path, seconds in during if path == "/"]
    loads = [seconds for _, seconds in run.probe_loads]
    cold = [seconds for record in records for seconds in record.cold_loads]
    clicks = [record.click_seconds for record in records if record.click_seconds is not None]
    results = [record.result_seconds for record in records if record.result_seconds is not None]
    trained = [record.train_seconds for record in records if record.train_seconds is not None]
    errors = [error for record in records for error in record.errors] + run.probe_errors
    errors += [f"HTTP probe: {failure}" for failure in probe.failures]
    errors += [f"server log: {line}" for line in server.tracebacks()]
    outcomes: dict[str, int] = {}
    for record in records:
        outcomes[record.outcome] = outcomes.get(record.outcome, 0) + 1
    refused = outcomes.get("refused", 0)
    queued = sum(1 for record in records if record.best_position > 0)
    told_busy = sum(1 for record in records if record.outcome == "refused" or record.best_position > 0)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "visitors": args.visitors, "iterations": args.iterations,
        "max_trainings": args.max_trainings, "max_waiting": args.max_waiting,
        "trainings_finished": outcomes.get("finished", 0) + outcomes.get("diverged", 0),
        "diverged": outcomes.get("diverged", 0),
        "refused_busy": refused, "queued": queued, "told_busy": told_busy,
        "queued_then_refused": sum(1 for r in records if r.outcome == "refused" and r.best_position > 0),
        "longest_queue_position": max((record.best_position for record in records), default=0),
        "outcomes": outcomes,
        "errors": len(errors), "error_details": errors[:20],
        "cold_page_load_p50_s": rounded(percentile(cold, 50)),
        "cold_page_load_p95_s": rounded(percentile(cold, 95)),
        "page_load_during_training_p50_s": rounded(percentile(loads, 50)),
        "page_load_during_training_p95_s": rounded(percentile(loads, 95)),
        "page_loads_during_training": len(loads),
        "train_click_p50_s": rounded(percentile(clicks, 50)),
        "train_click_p95_s": rounded(percentile(clicks, 95)),
        "health_p50_s": rounded(percentile(health, 50)), "health_p95_s": rounded(percentile(health, 95)),
        "health_max_s": rounded(max(health, default=None)),
        "index_get_p50_s": rounded(percentile(index, 50)), "index_get_p95_s": rounded(percentile(index, 95)),
        "http_probes_during_training": len(during),
        "result_p50_s": rounded(percentile(results, 50)), "result_max_s": rounded(max(results, default=None)),
        "training_time_p50_s": rounded(percentile(trained, 50)),
        "training_time_max_s": rounded(max(trained, default=None)),
        "longest_live_freeze_s": rounded(max((record.longest_freeze for record in records), default=0.0)),
        "training_window_s": rounded(end - start),
        # Cores in use on average while trainings ran: whatever is neither the
        # server nor the load test's own browsers ran beside it on this machine.
        "server_cpu_cores": round(server_cpu, 2), "browsers_cpu_cores": round(own_cpu - server_cpu, 2),
        "other_cpu_cores": round(machine_cpu - own_cpu, 2),
        "peak_rss_mib": round(probe.peak_rss_kib / 1024, 1),
        "server_vmhwm_mib": round(probe.hwm_kib / 1024, 1),
        "wall_s": round(wall, 1), "browser_nice": args.browser_nice, "cpus": os.cpu_count(),
    }


def print_table(summary: dict) -> None:
    def seconds(key: str) -> str:
        value = summary[key]
        return "—" if value is None else f"{value:.2f} s"

    rows = [
        ("visitors (all pressed Train at once)", summary["visitors"]),
        ("iterations per training", summary["iterations"]),
        ("host limits: trainings / waiting",
         f"{summary['max_trainings'] or 'default'} / {summary['max_waiting'] or 'default'}"),
        ("trainings finished", f"{summary['trainings_finished']} (diverged: {summary['diverged']})"),
        ("told busy: refused", summary["refused_busy"]),
        ("told busy: queued at some point",
         f"{summary['queued']} (longest position {summary['longest_queue_position']})"),
        ("told busy: either", summary["told_busy"]),
        ("queued, then refused", summary["queued_then_refused"]),
        ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(summary["outcomes"].items()))),
        ("page load before training p50 / p95", f"{seconds('cold_page_load_p50_s')} / {seconds('cold_page_load_p95_s')}"),
        (f"page load during training p50 / p95 (n={summary['page_loads_during_training']})",
         f"{seconds('page_load_during_training_p50_s')} / {seconds('page_load_during_training_p95_s')}"),
        ("Train click → page answers p50 / p95", f"{seconds('train_click_p50_s')} / {seconds('train_click_p95_s')}"),
        (f"GET /_stcore/health p50 / p95 / max (n={summary['http_probes_during_training'] // 2})",
         f"{seconds('health_p50_s')} / {seconds('health_p95_s')} / {seconds('health_max_s')}"),
        ("GET / p50 / p95", f"{seconds('index_get_p50_s')} / {seconds('index_get_p95_s')}"),
        ("Train click → result p50 / max", f"{seconds('result_p50_s')} / {seconds('result_max_s')}"),
        ("result's own training time p50 / max",
         f"{seconds('training_time_p50_s')} / {seconds('training_time_max_s')}"),
        ("longest frozen live view (after iteration 1)", seconds("longest_live_freeze_s")),
        ("training window", seconds("training_window_s")),
        ("cores used meanwhile: server / browsers / other",
         f"{summary['server_cpu_cores']:.2f} / {summary['browsers_cpu_cores']:.2f} / "
         f"{summary['other_cpu_cores']:.2f}"),
        ("peak server RSS (sampled, with children)", f"{summary['peak_rss_mib']:.0f} MiB"),
        ("server VmHWM", f"{summary['server_vmhwm_mib']:.0f} MiB"),
        ("errors", summary["errors"]),
        ("wall time", f"{summary['wall_s']:.0f} s on {summary['cpus']} CPUs, browser nice {summary['browser_nice']}"),

    ]
    width = max(len(label) for label, _ in rows)
    print("Load test: the chapter's LSTM recipe, pressed at once")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    for error in summary["error_details"]:
        print(f"  ! {error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=8, help="simulated visitors (default 8)")
    parser.add_argument("--iterations", type=int, default=100, help="iterations per training (default 100)")
    parser.add_argument("--max-trainings", type=int, help="RNN_DEMO_MAX_TRAININGS for the server")
    parser.add_argument("--max-waiting", type=int, help="RNN_DEMO_MAX_WAITING for the server")
    parser.add_argument("--timeout", type=float, default=600, help="global deadline in seconds (default 600)")
    parser.add_argument("--browser-nice", type=int, default=10,
                        help="nice of the browsers' scheduler group (default 10; 0: same as the server)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args(argv)
    if args.visitors < 1 or args.iterations < 1 or args.timeout <= 0:
        parser.error("--visitors, --iterations and --timeout must be positive")
    if not Path(CHROMIUM).exists():
        parser.error(f"{CHROMIUM} is missing (apt-get install chromium)")

    started = time.monotonic()
    deadline = started + args.timeout
    limits_env = {variable: str(value) for variable, value in (
        ("RNN_DEMO_MAX_TRAININGS", args.max_trainings), ("RNN_DEMO_MAX_WAITING", args.max_waiting),
    ) if value is not None}
    with Server(env=limits_env, log_path=ARTIFACTS / "server.log") as server:
        probe = SideProbe(server)
        probe.start()
        try:
            records, run = asyncio.run(drive(server, args.visitors, args.iterations, args.browser_nice, deadline))
        finally:
            probe.finish()
    summary = summarise(records, run, probe, server, args, time.monotonic() - started)
    print_table(summary)
    if args.json:
        print(json.dumps(summary), flush=True)
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
