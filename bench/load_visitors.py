"""The load test's visitors: each in its own browser context, all pressing Train at once.

:func:`drive` runs ``visitors`` :class:`Visitor` coroutines and a page probe (one more
context that keeps loading ``/`` and ``/train`` while trainings run, timing each load)
in one Chromium against a running server. What a visitor saw is read from the app's
markers: status markers, recorded by a ``MutationObserver`` as they appear, so a queue
wait shorter than one poll still counts. ``bench/load_test.py`` reports the figures.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field

from tests.harness import ARTIFACTS as ARTIFACTS_ROOT
from tests.harness import (
    QUEUE_POSITION_JS,
    RECIPE,
    STATUS_PREFIX,
    Server,
    deprioritise_browsers,
    launch_chromium,
    machine_busy_seconds,
    page_url,
    tree_cpu_seconds,
    wait_until_idle,
)

ARTIFACTS = ARTIFACTS_ROOT / "load_test"
POLL_SECONDS = 0.5  # as often as the app's live view redraws
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


async def drive(server: Server, visitors: int, iterations: int, browser_nice: int,
                deadline: float) -> tuple[list[Visitor], Run]:
    """Run ``visitors`` visitors training ``iterations`` each, and the page probe, against ``server``;
    with ``browser_nice``, Chromium's scheduler group is niced (see ``deprioritise_browsers``)."""
    from playwright.async_api import async_playwright

    run = Run(server.base, server.pid, iterations, visitors, deadline, asyncio.Event(), asyncio.Event())
    records = [Visitor(number) for number in range(1, visitors + 1)]
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            if browser_nice and not deprioritise_browsers(server.pid, browser_nice):
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


