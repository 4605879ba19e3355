"""Load test of a class: 30 students post runs into one class while the teacher's board is open.

A real server (its own SQLite store in a temporary ``RNN_DEMO_HOME``, or
``--database-url``) and the teacher's Chromium at projector size: the teacher
creates the class on /class and never reloads. Students join and post through
the app's own store code (``Classroom.join``, ``RunStore.save_run``: what the
/class page and the run keeper call), one every ``--interval`` seconds from a
thread, each a shipped model's files as a finished training. The board is read
every 50 ms for rows showing their accuracy; a run's lag is from its post to
its row. A side probe times ``/_stcore/health`` meanwhile. Targets (issue 23):
lag within 2 s, health p95 under 0.1 s.

    python -m bench.load_class [--students 30] [--interval 0.5] [--database-url URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import threading
import time
from pathlib import Path

from bench.load_test import SideProbe, percentile
from rnn_demo.config import ARCHITECTURES
from rnn_demo.store import open_store, owner_from_key
from rnn_demo.store.classes import Classroom
from rnn_demo.ui.markers import (
    BOARD_COUNT_KEY_PREFIX,
    BOARD_RUN_KEY_PREFIX,
    CLASS_CODE_KEY,
    CSS_KEY_PREFIX,
)
from tests.harness import ARTIFACTS, Server, launch_chromium, page_url, wait_until_idle
from tests.test_store import shipped_run

PROJECTOR = {"width": 1280, "height": 720}
TIMEOUT_MS = 120_000
BOARD_POLL_SECONDS = 0.05
ROWS_JS = f"""() => Array.from(document.querySelectorAll("[class*='{CSS_KEY_PREFIX}{BOARD_RUN_KEY_PREFIX}']"))
    .map(row => [row.className, row.innerText])"""


def post_runs(where: str, code: str, students: int, interval: float, posted: dict[str, tuple[float, str]]) -> None:
    """Each student joins class ``code`` and posts one run; ``posted``: run id -> (when, accuracy text)."""
    archs = list(ARCHITECTURES)
    runs = {arch: shipped_run(arch, kind="training") for arch in archs}
    with open_store(where) as store:
        classroom = Classroom(store)
        for number in range(students):
            owner = owner_from_key(secrets.token_urlsafe(24))
            classroom.join(code, f"student {number + 1}", owner)
            run = runs[archs[number % len(archs)]]
            run_id = store.save_run(owner, run).id
            posted[run_id] = (time.monotonic(), f"{run.val_accuracy:.1%}")
            time.sleep(interval)  # the pace of a class finishing, not a wait for anything


def watch_board(page, posted: dict[str, tuple[float, str]], students: int, seen: dict[str, float]) -> None:
    """Read the board until every posted run's row shows its accuracy (or a row is 60 s late)."""
    deadline = None
    while len(seen) < students:
        now = time.monotonic()
        for class_name, text in page.evaluate(ROWS_JS):
            key = next(part for part in class_name.split() if part.startswith(CSS_KEY_PREFIX + BOARD_RUN_KEY_PREFIX))
            run_id = key.removeprefix(CSS_KEY_PREFIX + BOARD_RUN_KEY_PREFIX)
            if run_id in posted and run_id not in seen and posted[run_id][1] in text:
                seen[run_id] = now
        if len(posted) == students and deadline is None:
            deadline = now + 60
        if deadline is not None and now > deadline:
            return
        time.sleep(BOARD_POLL_SECONDS)


def run_load(students: int, interval: float, where: str, env: dict[str, str]) -> dict:
    from playwright.sync_api import sync_playwright

    with Server(env=env, log_path=ARTIFACTS / "load-class" / "streamlit.log") as server, \
            sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(viewport=PROJECTOR).new_page()
            page.goto(page_url(server.base, "class"))
            wait_until_idle(page, ready="class", timeout_ms=TIMEOUT_MS)
            page.get_by_role("button", name="Create a class").click()
            code_marker = page.locator(f".{CSS_KEY_PREFIX}{CLASS_CODE_KEY}")
            code_marker.wait_for(timeout=TIMEOUT_MS)
            code = code_marker.inner_text().strip()
            page.locator(f".{CSS_KEY_PREFIX}{BOARD_COUNT_KEY_PREFIX}0").wait_for(timeout=TIMEOUT_MS)

            probe = SideProbe(server)
            posted: dict[str, tuple[float, str]] = {}
            seen: dict[str, float] = {}
            poster = threading.Thread(target=post_runs, args=(where, code, students, interval, posted), daemon=True)
            probe.start()
            poster.start()
            watch_board(page, posted, students, seen)
            poster.join()
            probe.finish()
            page.screenshot(path=str(ARTIFACTS / "load-class" / "board-1280x720.png"))
        finally:
            browser.close()
    lags = [seen[run_id] - when for run_id, (when, _accuracy) in posted.items() if run_id in seen]
    health = [seconds for _when, path, seconds, ok in probe.samples if path == "/_stcore/health" and ok]
    return {
        "students": students, "interval_s": interval, "posted": len(posted), "on_board": len(lags),
        "lag_s": {"p50": percentile(lags, 50), "p95": percentile(lags, 95), "max": max(lags, default=None)},
        "health_s": {"p50": percentile(health, 50), "p95": percentile(health, 95), "max": max(health, default=None)},
        "probe_failures": probe.failures[:5], "server_hwm_mib": probe.hwm_kib / 1024,
        "with_workers_peak_mib": probe.peak_rss_kib / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between two students' posts")
    parser.add_argument("--database-url", help="a PostgreSQL store to share (default: a new SQLite file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rnn-demo-class-") as home:
        where = args.database_url or str(Path(home) / "runs.sqlite")
        env = {"RNN_DEMO_HOME": home, **({"RNN_DEMO_DATABASE_URL": args.database_url} if args.database_url else {})}
        result = run_load(args.students, args.interval, where, env)
    lag, health = result["lag_s"], result["health_s"]

    def shown(value: float | None, scale: float = 1, unit: str = "s") -> str:
        return "–" if value is None else f"{value * scale:.2f} {unit}"

    print(f"{result['posted']} runs posted, one every {args.interval:g} s; {result['on_board']} shown on the board")
    print(f"post → row on the board: p50 {shown(lag['p50'])}, p95 {shown(lag['p95'])}, max {shown(lag['max'])} "
          f"(target: within 2 s)")
    print(f"/_stcore/health: p50 {shown(health['p50'], 1000, 'ms')}, p95 {shown(health['p95'], 1000, 'ms')}, "
          f"max {shown(health['max'], 1000, 'ms')} (target: p95 under 100 ms)")
    print(f"server peak {result['server_hwm_mib']:.0f} MiB (with its workers {result['with_workers_peak_mib']:.0f} MiB); "
          f"probe failures: {result['probe_failures'] or 'none'}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
