"""One harness for a real server and a real browser: the tests and the benches use it.

* :class:`Server`: ``streamlit run app.py`` on a free loopback port (offline,
  headless, no usage statistics, no file watcher), healthy before it is
  returned, always stopped; the memory and CPU time of the server and of its
  worker processes, and which heavy native libraries a process has mapped.
* Chromium: Debian's ``/usr/bin/chromium`` with the arguments that work here
  (:data:`CHROMIUM_ARGS`; every host name but loopback fails to resolve).
* The app's pages and markers, read from the app itself
  (:data:`rnn_demo.ui.navigation.PAGES`, :mod:`rnn_demo.ui.markers`):
  :func:`page_url`, :func:`ready_selector`, :func:`status_selector`, the
  JavaScript that reads the queue position, and the waits built on them (sync
  and async Playwright alike), so nothing waits on a fixed sleep or on English text.
* :func:`wait_for`: the one poll loop, for conditions no page marker shows.
* What each page's heading says (:data:`HEADINGS`), the tests' expectation.

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Container, Iterator
from pathlib import Path

from rnn_demo.ui.inside import SECTION_PARAMETER, SECTIONS
from rnn_demo.ui.markers import (
    CSS_KEY_PREFIX,
    QUEUE_POSITION_KEY_PREFIX,
    READY_CLASS,
    READY_KEY_PREFIX,
    STATUS_KEY_PREFIX,
)
from rnn_demo.ui.navigation import PAGE, PAGES

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
SERVER_START_SECONDS = 90
RECIPE = "arch=lstm&hidden=64&lr=0.01&batch=500"  # the chapter's LSTM recipe, as a /train query
# The Streamlit status widget shows while a script run is going on.
IDLE_JS = "!document.querySelector(\"[data-testid='stStatusWidget']\")"
# Each chart's element: the app's (rnn_demo.ui.charts), or st.plotly_chart's in a tree from
# before it, which the benchmarks time as their baseline to the same moment.
CHARTS = ".rnn-chart, [data-testid='stPlotlyChart']"
# Every element is loaded (Streamlit shows a skeleton while an element's code is still on
# its way, even after the ready marker) and every visible chart has drawn its SVG (a chart
# in a closed tab is not drawn).
CHARTS_DRAWN_JS = f"""() => !document.querySelector("[data-testid='stSkeleton']")
    && Array.from(document.querySelectorAll("{CHARTS}"))
        .filter(chart => chart.offsetParent !== null)
        .every(chart => chart.querySelector(".js-plotly-plot .main-svg"))"""
# The script run is over, nothing on the page is left from the run before (Streamlit marks
# such elements stale until the new run replaces them), no element's code is still loading,
# and every chart, shown or in a closed tab, has drawn.
SETTLED_JS = """() => !document.querySelector(
        "[data-testid='stStatusWidget'], [data-stale='true'], [data-testid='stSkeleton']")
    && Array.from(document.querySelectorAll(".rnn-chart"))
        .every(chart => chart.querySelector(".js-plotly-plot .main-svg"))"""
STATUS_PREFIX = CSS_KEY_PREFIX + STATUS_KEY_PREFIX  # the class of every training status marker
QUEUE_PREFIX = CSS_KEY_PREFIX + QUEUE_POSITION_KEY_PREFIX
# ``(element) => n``: the queue position marked inside ``element`` (0 when none).
QUEUE_POSITION_JS = f"""element => {{
    const marker = element.querySelector("[class*='{QUEUE_PREFIX}']");
    const name = marker && Array.from(marker.classList).find(c => c.startsWith("{QUEUE_PREFIX}"));
    return name ? +name.slice({len(QUEUE_PREFIX)}) : 0;
}}"""
# Points in the live training curve's loss trace (-1 before it is drawn). Plotly keeps
# the trace on its div as sent: a plain array, or a typed array {dtype, bdata}
# (base64) as plotly.py encodes NumPy data.
CURVE_POINTS_JS = """() => {
    const plot = document.querySelector(".rnn-chart .js-plotly-plot, [data-testid='stPlotlyChart'] .js-plotly-plot");
    if (!plot || !plot.data || !plot.data.length) return -1;
    const x = plot.data[0].x;
    if (Array.isArray(x) || ArrayBuffer.isView(x)) return x.length;
    const size = {i1: 1, u1: 1, i2: 2, u2: 2, i4: 4, u4: 4, f4: 4, f8: 8}[x.dtype];
    return atob(x.bdata).length / size;
}"""
# What each page's title (h1) says: what a visitor must see.
HEADINGS = {
    "home": "RNN Lab: reading digits one row at a time",
    "train": "Train a recurrent network",
    "draw": "Draw a digit",
    "inside": "Look inside the network",
    "compare": "Compare architectures",
    "learn": "Learn: four ways to read a digit row by row",
    "runs": "Runs",
    "class": "Class",
}


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.05, *,
             message: str | Callable[[], str] | None):
    """Call ``predicate`` every ``interval`` seconds until it returns a true value, and return that.

    After ``timeout`` seconds raise ``AssertionError(message)`` (``message`` may be a
    function, called then, to report what was seen), or with ``message=None`` return
    the last false value: a best-effort wait.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if value or message is None:
        return value
    raise AssertionError(message() if callable(message) else message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# (page name, query): every page, then /inside's other views (a tab each, opened by the link).
PAGE_VISITS = [(page.name, "") for page in PAGES] + [
    ("inside", urllib.parse.urlencode({SECTION_PARAMETER: section})) for section in SECTIONS[1:]]


def page_url(base: str, name: str, query: str = "") -> str:
    """The address of page ``name`` on the server at ``base``, with ``query`` (``"a=1&b=2"``)."""
    return f"{base}/{PAGE[name].url_path}" + (f"?{query}" if query else "")


def ready_selector(page: str) -> str:
    """The CSS selector of page ``page``'s ready marker (``rnn_demo.ui.markers.page_ready``)."""
    return f".{CSS_KEY_PREFIX}{READY_KEY_PREFIX}{page} .{READY_CLASS}"


def status_selector(status: str) -> str:
    """The selector of a training status marker (``rnn_demo.ui.markers.status_block``)."""
    return f".{STATUS_PREFIX}{status}"


# ----------------------------------------------------------------- processes


def status_kib(pid: int, key: str) -> int:
    """``key`` (e.g. ``VmRSS``) from ``/proc/PID/status`` in KiB; 0 if the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from ``/proc/PID/task/*/children``)."""
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue
    return tree


def cpu_seconds(pid: int, waited_children: bool = False) -> float:
    """User + system CPU seconds of process ``pid`` (and, with ``waited_children``, of
    its ended children it has waited for); 0 if it is gone."""
    try:
        # utime, stime, cutime, cstime: fields 14 to 17, after the ")" that ends the command name.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15 if waited_children else 13]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants, ended ones included."""
    return sum(cpu_seconds(member, waited_children=True) for member in process_tree(pid))


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent not idle (``/proc/stat``, all cores)."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    guest = sum(values[8:10])  # guest time is already counted in user time
    return (sum(values) - idle - guest) / os.sysconf("SC_CLK_TCK")


def browser_pids(server_pid: int | None = None) -> list[int]:
    """This process's Chromium processes (the tree of ``server_pid``, if given, left out)."""
    server_tree = set(process_tree(server_pid)) if server_pid else set()
    pids = []
    for pid in process_tree(os.getpid()):
        try:
            if pid not in server_tree and Path(f"/proc/{pid}/comm").read_text().strip() == "chromium":
                pids.append(pid)
        except OSError:
            continue
    return pids


def browser_cpu_seconds(server_pid: int | None = None, *, ended_included: bool = False) -> float:
    """CPU seconds used so far by this process's Chromium processes that still run (and, with
    ``ended_included``, by the ended ones they have waited for: a closed page's renderer)."""
    return sum(cpu_seconds(pid, waited_children=ended_included) for pid in browser_pids(server_pid))


def deprioritise_browsers(server_pid: int | None, niceness: int, *, leave_out_sessions: Container[int] = ()) -> bool:
    """Give this process's Chromium ``niceness`` (its scheduler autogroup's nice), but for the
    browsers whose session is in ``leave_out_sessions``; True if done.

    On a 2-core machine the visitors' browsers would otherwise take the CPU
    the server needs; in a classroom they run on the visitors' own machines.
    A plain ``nice`` does not hold: Chromium (run as root) resets its own
    processes' priorities, and it starts its own session, hence its own
    autogroup, which competes with the server's as a whole. So the nice is set
    on that autogroup, which every later renderer of the browser joins.
    """
    done = False
    for pid in browser_pids(server_pid):
        try:
            if os.getsid(pid) in leave_out_sessions:
                continue
            Path(f"/proc/{pid}/autogroup").write_text(str(niceness))
            done = True
        except OSError:
            continue
    return done


def maps_library(pid: int, fragment: str) -> bool:
    """Whether process ``pid`` has a file whose path contains ``fragment`` mapped in memory."""
    try:
        return fragment in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


class Server:
    """``streamlit run app.py`` on a free loopback port, stopped on exit whatever happens.

    ``env`` adds environment variables (host limits, worker settings). ``root``
    is the checkout to serve (its ``app.py`` and its ``rnn_demo``; this one by
    default), so a bench can run an older revision's worktree side by side.
    """

    def __init__(
        self, env: dict[str, str] | None = None, log_path: Path | None = None, root: Path | None = None,
    ):
        self.root = Path(root) if root is not None else ROOT
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or ARTIFACTS / f"streamlit-{self.port}.log"
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    def __enter__(self) -> Server:
        self.start()
        return self

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.started_at = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py",
                 "--server.headless", "true", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1",
                 # No usage statistics (they would leave loopback) and no file
                 # watcher (other people's edits must not disturb a measurement).
                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                # PYTHONPATH: the served checkout's package, whatever this process imports.
                env={**os.environ, "RNN_DEMO_OFFLINE": "1", "PYTHONPATH": str(self.root), **self.env},
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        def healthy() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited at start; see {self.log_path}")
            return self.answers("/_stcore/health")

        wait_for(healthy, SERVER_START_SECONDS, 0.02,
                 message=f"streamlit not healthy after {SERVER_START_SECONDS} s; see {self.log_path}")

    def answers(self, path: str, timeout: float = 2) -> bool:
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as reply:
                return reply.status == 200
        except OSError:
            return False

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The server's descendants: multiprocessing's resource tracker and fork server, and the workers forked from it."""
        return process_tree(self.pid)[1:]

    def memory_mib(self) -> tuple[float, float]:
        """(resident MiB of the server alone, of the server and all its descendants)."""
        own = status_kib(self.pid, "VmRSS") / 1024
        total = sum(status_kib(pid, "VmRSS") for pid in process_tree(self.pid)) / 1024
        return own, total

    def memory_kib(self) -> tuple[int, int]:
        """(RSS of the server and its children now, the server's own peak RSS ``VmHWM``)."""
        rss = sum(status_kib(pid, "VmRSS") for pid in process_tree(self.pid))
        return rss, status_kib(self.pid, "VmHWM")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def tracebacks(self) -> list[str]:
        """The last line of each Python traceback in the server's log (exception type and message)."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        found = []
        for number, line in enumerate(lines):
            if line.startswith("Traceback"):
                tail = next((later for later in lines[number + 1:] if later and not later.startswith(" ")), line)
                found.append(tail.strip()[:300])
        return found


# ------------------------------------------------------------------- browser


def launch_chromium(playwright):
    """Debian's Chromium through a (sync or async) Playwright instance."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextlib.contextmanager
def visitor_page(browser, viewport: dict, *, touch: bool = False) -> Iterator:
    """A new visitor's tab at ``viewport`` (with ``touch``: a phone's, touch events and all),
    its browser context closed on exit whatever happens."""
    context = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)
    try:
        yield context.new_page()
    finally:
        context.close()


def wait_until_idle(page, timeout_ms: float = 60_000, ready: str | None = None):
    """Wait for the page's ``ready`` marker if named, and the end of the script run.

    Works with sync and async Playwright alike: with an async ``page`` it
    returns the coroutine to await.
    """
    if inspect.iscoroutinefunction(page.wait_for_function):
        return _wait_until_idle_async(page, timeout_ms, ready)
    page.locator(ready_selector(ready) if ready else "h1").first.wait_for(state="attached", timeout=timeout_ms)
    page.wait_for_function(IDLE_JS, polling=100, timeout=timeout_ms)
    return None


async def _wait_until_idle_async(page, timeout_ms: float, ready: str | None) -> None:
    await page.locator(ready_selector(ready) if ready else "h1").first.wait_for(
        state="attached", timeout=timeout_ms)
    await page.wait_for_function(IDLE_JS, polling=100, timeout=timeout_ms)


def no_exceptions(page) -> None:
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()


def draw_stroke(page, box, points, steps: int = 12) -> None:
    """One pen stroke on the canvas at ``box`` through ``points`` (fractions of its
    width and height), moving in ``steps`` small moves between points as a hand does."""
    where = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*where[0])
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(where, where[1:], strict=False):
        for step in range(1, steps + 1):
            page.mouse.move(ax + (bx - ax) * step / steps, ay + (by - ay) * step / steps)
    page.mouse.up()
