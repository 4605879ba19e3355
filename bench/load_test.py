"""Load test: N visitors press Train at the same moment on a real ``streamlit run app.py``.

What it does, all on loopback (127.0.0.1) and bounded by one global deadline:

1. starts ``streamlit run app.py`` on a free port (offline, headless, host
   limits passed through the environment) and waits for ``/_stcore/health``
   (``tests/harness.py``'s :class:`Server`, as the tests and the other benches);
2. opens one Chromium (Debian's, niced so the server keeps priority on a small
   machine, as visitors' browsers would run elsewhere: ``--browser-nice``) with one browser
   context per visitor: each visitor loads ``/``, then the teacher's link to
   the chapter's LSTM recipe (``/train?arch=lstm&hidden=64&lr=0.01&batch=500
   &iterations=…``); when every visitor is ready they all press **Train** at
   once and watch their page until it shows a result, the "busy" refusal, or
   the deadline passes;
3. while trainings run, one more browser context (the *probe*, not a visitor)
   keeps loading ``/`` and ``/train`` and times each load until the page has
   rendered and the script run has ended; a side thread times HTTP GETs of
   ``/_stcore/health`` and ``/`` and samples the server's memory
   (``/proc/PID/status`` of the server and its children);
4. stops the browser and the server (always) and prints a table, and with
   ``--json`` one JSON line at the end.

Figures: trainings finished; visitors told the server is busy, refused or
queued (a queued visitor counts when their page ever showed the app's
``train-status-queued`` marker, recorded by a MutationObserver as it appears,
with the place in the queue the marker's ``train-queue-position-<n>`` gives); page
load times before and during training (browser) and HTTP GET times (side
thread); Train click → answer and → result; the server's peak RSS; and the
cores the server, the browsers and everything else used meanwhile (the
browsers share this machine's CPUs with the server, which slows both).

Errors (must be 0; the exit status is 1 otherwise): exceptions shown on a
page (``stException``), JavaScript errors, page crashes, a visitor without an
outcome at the deadline, failed or timed-out HTTP probes, tracebacks in the
server's log, and runs that ended "stopped" or "failed unexpectedly".

    python bench/load_test.py [--visitors 8] [--iterations 100] [--max-trainings N]
        [--max-waiting N] [--timeout 600] [--browser-nice 10] [--json]

Artifacts (server log, a screenshot of each page that went wrong) go to
``artifacts/load_test/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.harness import ARTIFACTS as ARTIFACTS_ROOT  # noqa: E402
from tests.harness import (  # noqa: E402
    CHROMIUM,
    QUEUE_POSITION_JS,
    STATUS_PREFIX,
    Server,
    deprioritise_browsers,
    launch_chromium,
    page_url,
    process_tree,
    wait_until_idle,
)

ARTIFACTS = ARTIFACTS_ROOT / "load_test"
RECIPE = "arch=lstm&hidden=64&lr=0.01&batch=500"  # the chapter's LSTM recipe
POLL_SECONDS = 0.5  # as often as the app's live view redraws
HTTP_TIMEOUT_SECONDS = 10
PROBE_LOAD_LIMIT_MS = 60_000  # a page load slower than this counts as an error
ITERATION = re.compile(r"iteration (\d+) of")  # the live view's progress bar
# Every status marker the page has ever shown, recorded as it appears (a
# MutationObserver), so a queue wait shorter than one poll still counts; for
# "queued", the highest place in the queue its position marker gave.
SEEN_STATUSES_JS = f"""(() => {{
    window.__rnnSeen = {{}};
    const queuePosition = {QUEUE_POSITION_JS};
    const record = () => document.querySelectorAll("[class*='{STATUS_PREFIX}']").forEach(element => {{
        for (const name of element.classList) {{
            if (name.startsWith("{STATUS_PREFIX}")) {{
                const status = name.slice({len(STATUS_PREFIX)});
                window.__rnnSeen[status] = Math.max(window.__rnnSeen[status] || 0, queuePosition(element) || 1);
            }}
        }}
    }});
    new MutationObserver(record).observe(document, {{subtree: true, childList: true, attributes: true}});
}})()"""
# One round trip per poll: everything the visitor's outcome depends on.
PAGE_STATE_JS = """() => {
    const all = selector => Array.from(document.querySelectorAll(selector));
    const progress = document.querySelector("[data-testid='stProgress']");
    const statuses = all("[class*='PREFIX']").map(element =>
        Array.from(element.classList).find(name => name.startsWith("PREFIX")).slice(LENGTH));
    return {
        exceptions: all("[data-testid='stException']").map(e => e.innerText.slice(0, 300)),
        statuses: statuses,
        seen: window.__rnnSeen || {},
        alerts: all("[data-testid='stAlert']").map(e => e.innerText),
        progress: progress ? progress.innerText : null,
        trainSeconds: all("[data-testid='stMetric']")
            .filter(m => m.innerText.startsWith("Training time"))
            .map(m => m.querySelector("[data-testid='stMetricValue']").innerText)[0] || null,
    };
}""".replace("PREFIX", STATUS_PREFIX).replace("LENGTH", str(len(STATUS_PREFIX)))
# The page has answered the Train button: any status marker (queued, running,
# a result or a refusal) or an exception.
RESPONDED_JS = f"""() => document.querySelector(
        "[class*='{STATUS_PREFIX}'], [data-testid='stException']")"""


# ------------------------------------------------------------------ the server


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (``/proc/stat``, all cores)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    guest = sum(values[8:10])  # guest time is already counted in user time
    return (sum(values) - idle - guest) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by ``pid`` and its descendants, ended ones included."""
    ticks = 0
    for member in process_tree(pid):
        try:
            # Fields 14–17 (utime, stime, and cutime, cstime: the ended children a
            # process has waited for) follow the ")" that ends the command name.
            ticks += sum(int(value) for value in
                         Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()[11:15])
        except (OSError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


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


# ------------------------------------------------------------------ the visitors


@dataclass
class Visitor:
    """What one simulated visitor saw."""

    number: int
    outcome: str = "not started"  # finished, refused, diverged, stopped, failed, timeout, crashed
    best_position: int = 0  # highest queue position seen on the page (0: never seen queued)
    cold_loads: list[float] = field(default_factory=list)  # / and /train before anyone trains
    click_seconds: float | None = None  # Train pressed → live view, message or result drawn
    result_seconds: float | None = None  # Train pressed → result shown (queue wait included)
    train_seconds: float | None = None  # the result's own "Training time" (the engine's clock)
    longest_freeze: float = 0.0  # longest time the live iteration count stood still after iteration 1
    errors: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Shared by the coroutines: the deadline, the start signal and the measurement window."""

    base: str
    server_pid: int
    iterations: int
    visitors: int
    deadline: float
    go: asyncio.Event
    all_done: asyncio.Event
    ready: int = 0
    # When Train is pressed and when the last visitor is done: (wall clock, CPU
    # seconds used so far by the server, by this process with its browsers and
    # the server, by the whole machine)
    window: list[tuple[float, float, float, float]] = field(default_factory=list)
    probe_loads: list[tuple[str, float]] = field(default_factory=list)
    probe_errors: list[str] = field(default_factory=list)

    def left_ms(self) -> float:
        """Milliseconds to the deadline (at least 1: Playwright reads 0 as "no timeout")."""
        return max(1.0, (self.deadline - time.monotonic()) * 1000)

    def arrive(self) -> None:
        """A visitor is ready to press Train (or gave up); the last one starts everyone."""
        self.ready += 1
        if self.ready == self.visitors and not self.go.is_set():
            self.mark()
            self.go.set()

    def mark(self) -> None:
        self.window.append((time.monotonic(), tree_cpu_seconds(self.server_pid),
                            tree_cpu_seconds(os.getpid()), machine_busy_seconds()))


async def load(page, run: Run, name: str, query: str = "", limit_ms: float = math.inf) -> float:
    """Open page ``name`` and return the seconds until its ready marker shows and the run has ended.

    Waits at most ``limit_ms`` for each step, and never past the deadline.
    """
    started = time.monotonic()
    await page.goto(page_url(run.base, name, query), wait_until="commit",
                    timeout=min(limit_ms, run.left_ms()))
    await wait_until_idle(page, timeout_ms=min(limit_ms, run.left_ms()), ready=name)
    return time.monotonic() - started


def watch(page, errors: list[str], who: str) -> None:
    """Record JavaScript errors and crashes of ``page`` as ``who``'s errors."""
    page.on("pageerror", lambda error: errors.append(f"{who}: JavaScript error: {error}"[:300]))
    page.on("crash", lambda _: errors.append(f"{who}: page crashed"))


async def screenshot(page, name: str) -> None:
    """Keep a picture of a page that went wrong (best effort: it may have crashed)."""
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), timeout=10_000)
    except Exception:  # noqa: BLE001 - a missing picture must not hide the real error
        pass


async def visitor(browser, run: Run, record: Visitor) -> None:
    """Open the pages, press Train with everyone else, and wait for this visitor's outcome."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    who = f"visitor {record.number}"
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(SEEN_STATUSES_JS)
    page = await context.new_page()
    watch(page, record.errors, who)
    arrived = False
    try:
        record.outcome = "loading"
        record.cold_loads.append(await load(page, run, "home"))
        record.cold_loads.append(await load(page, run, "train", f"{RECIPE}&iterations={run.iterations}"))
        record.outcome = "ready"
        run.arrive()
        arrived = True
        await asyncio.wait_for(run.go.wait(), timeout=run.left_ms() / 1000)
        clicked = time.monotonic()
        await page.get_by_role("button", name="Train", exact=True).click(timeout=run.left_ms())
        record.outcome = "pressed Train"
        await page.wait_for_function(RESPONDED_JS, polling=100, timeout=run.left_ms())
        record.click_seconds = time.monotonic() - clicked
        record.outcome = await follow_training(page, run, record, clicked)
    except (PlaywrightTimeout, TimeoutError):
        record.errors.append(f"{who}: no outcome before the deadline (last state: {record.outcome})")
        record.outcome = "timeout"
    except PlaywrightError as error:
        record.outcome = "crashed"
        record.errors.append(f"{who}: {str(error).splitlines()[0][:300]}")
    finally:
        if not arrived:
            run.arrive()
        if record.errors:
            await screenshot(page, f"visitor-{record.number}")
        await context.close()


async def follow_training(page, run: Run, record: Visitor, clicked: float) -> str:
    """Poll the page until it shows a result or the refusal; return the outcome."""
    outcomes = {"completed": "finished", "diverged": "diverged", "stopped": "stopped",
                "failed": "failed", "refused": "refused"}
    last_progress, changed = None, time.monotonic()
    while time.monotonic() < run.deadline:
        state = await page.evaluate(PAGE_STATE_JS)
        now = time.monotonic()
        for text in state["exceptions"]:
            record.errors.append(f"visitor {record.number}: exception on the page: {text}")
        if state["exceptions"]:
            return "failed"
        record.best_position = max(record.best_position, int(state["seen"].get("queued", 0)))
        statuses = set(state["statuses"])
        record.outcome = "queued" if "queued" in statuses else "training"  # the last state, should time run out
        for status, outcome in outcomes.items():
            if status in statuses:
                if outcome != "refused" and record.result_seconds is None:
                    record.result_seconds = now - clicked
                if outcome == "finished" and not state["trainSeconds"] and now - clicked < record.result_seconds + 30:
                    break  # the marker comes first; the scores below it are a moment behind
                if state["trainSeconds"]:
                    record.train_seconds = float(state["trainSeconds"].split()[0])
                if outcome in ("stopped", "failed"):
                    record.errors.append(f"visitor {record.number}: {' '.join(state['alerts'])[:300]}")
                return outcome
        # A frozen live view: the iteration count stands still mid-training. Before
        # iteration 1 it stands still anyway (queue, model build, first trace).
        iteration = ITERATION.search(state["progress"] or "")
        if not iteration or int(iteration.group(1)) == 0 or state["progress"] != last_progress:
            last_progress, changed = state["progress"], now
        else:
            record.longest_freeze = max(record.longest_freeze, now - changed)
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError


async def page_probe(browser, run: Run) -> None:
    """While trainings run, keep loading ``/`` and ``/train`` like a newcomer would, timing each."""
    from playwright.async_api import Error as PlaywrightError

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    watch(page, run.probe_errors, "probe")
    await run.go.wait()
    try:
        while not run.all_done.is_set() and time.monotonic() < run.deadline:
            for name in ("home", "train"):
                try:
                    seconds = await load(page, run, name, limit_ms=PROBE_LOAD_LIMIT_MS)
                except PlaywrightError as error:  # its TimeoutError included
                    if time.monotonic() > run.deadline - 1:
                        break  # cut short by the deadline: the visitors report that
                    run.probe_errors.append(f"probe: loading {name}: {str(error).splitlines()[0][:300]}")
                    await screenshot(page, f"probe-{len(run.probe_errors)}")
                    continue
                if await page.locator("[data-testid='stException']").count():
                    run.probe_errors.append(f"probe: exception on {name}")
                    await screenshot(page, f"probe-{len(run.probe_errors)}")
                run.probe_loads.append((name, seconds))
    finally:
        await context.close()


async def drive(server: Server, args: argparse.Namespace, deadline: float) -> tuple[list[Visitor], Run]:
    """Run every visitor and the page probe against ``server``."""
    from playwright.async_api import async_playwright

    run = Run(server.base, server.pid, args.iterations, args.visitors, deadline, asyncio.Event(), asyncio.Event())
    records = [Visitor(number) for number in range(1, args.visitors + 1)]
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            if args.browser_nice and not deprioritise_browsers(server.pid, args.browser_nice):
                print("note: could not lower the browsers' priority (no autogroup here)", file=sys.stderr)
            probe = asyncio.create_task(page_probe(browser, run))
            await asyncio.gather(*(visitor(browser, run, record) for record in records))
            run.mark()
            run.all_done.set()
            run.go.set()  # lets the probe end if no visitor ever got ready
            await probe
        finally:
            await browser.close()
    return records, run


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
            records, run = asyncio.run(drive(server, args, deadline))
        finally:
            probe.finish()
    summary = summarise(records, run, probe, server, args, time.monotonic() - started)
    print_table(summary)
    if args.json:
        print(json.dumps(summary), flush=True)
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
