"""Issue 21's hostile visitors, as one attacker's tab does them: the tests and ``bench/hostile.py`` share them.

Each attack is a function ``attack(page, server, begin) -> str``: it opens its page as any
visitor would (the page's first-visit cost is not the attack's), calls ``begin()`` just
before the hostile act, and returns the sentence the attacker is shown. :class:`Health`
asks ``/_stcore/health`` every half second and samples the web process's memory while an
attack runs. The hostile files are built from a shipped model (zip and JSON only, no Keras).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import re
import signal
import struct
import threading
import time
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from rnn_demo.data.canvas import MAX_DATA_URL_CHARS, PNG_PREFIX, PNG_SIGNATURE
from rnn_demo.engine.model_file import METADATA_ENTRY
from rnn_demo.ui.markers import CSS_KEY_PREFIX, DRAWN_STROKES_KEY_PREFIX
from tests.harness import (
    Server,
    draw_stroke,
    no_exceptions,
    page_url,
    process_tree,
    status_kib,
    status_selector,
    wait_for,
    wait_until_idle,
)

SHIPPED_RNN = Path(__file__).resolve().parent.parent / "rnn_demo" / "assets" / "models" / "rnn.keras"
INJECTION = ("x` **Session expired** [Log in again](https://evil.example/login) "
             "![](https://evil.example/px.gif) `")
HOG = "arch=bilstm&hidden=256&batch=2000&iterations=2000"  # about 53 min on the 2-core server
LONG = "arch=lstm&iterations=2000&batch=100"  # long enough to be killed mid-way
ANSWER_TIMEOUT_MS = 240_000
HUGE_SIDE = 9000  # the reported picture: 9000×9000 pixels
WIDE_UNITS = 8000  # the reported 252 KB upload: an 8,000-unit SimpleRNN with zero weights
BOMB_BYTES = 2**30  # the reported metadata bomb: rnn_demo.json inflating to 1 GiB
SLOW_UNITS = 12000  # the reported upload that held a worker for 60 s
Begin = Callable[[], None]


def nothing() -> None:
    """A ``begin`` for an attack nobody measures."""


class Health:
    """While running (:meth:`start` … :meth:`stop`): asks the server's health endpoint every half
    second, timing each answer, and samples the web process's resident memory."""

    def __init__(self, server: Server):
        self.server, self.missed, self.seconds = server, 0, []
        self.start_mib = self.peak_mib = 0.0
        self._start_hwm_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, daemon=True)

    def _ask(self) -> None:
        while True:
            self._sample_memory()
            started = time.monotonic()
            self.missed += not self.server.answers("/_stcore/health", timeout=5)
            self.seconds.append(time.monotonic() - started)
            if self._stop.wait(0.5):
                return

    def _sample_memory(self) -> None:
        self.peak_mib = max(self.peak_mib, status_kib(self.server.pid, "VmRSS") / 1024)

    def start(self) -> None:
        self.start_mib = self.peak_mib = status_kib(self.server.pid, "VmRSS") / 1024
        self._start_hwm_kib = status_kib(self.server.pid, "VmHWM")
        self._thread.start()

    def stop(self) -> None:
        if self._thread.ident is None:  # never started: the attack failed before its hostile act
            return
        self._stop.set()
        self._thread.join()
        self._sample_memory()
        hwm_kib = status_kib(self.server.pid, "VmHWM")
        if hwm_kib > self._start_hwm_kib:  # a new lifetime peak: a spike between two samples counts
            self.peak_mib = max(self.peak_mib, hwm_kib / 1024)

    @property
    def asked(self) -> int:
        return len(self.seconds)

    @property
    def growth_mib(self) -> float:
        """The web process's peak resident memory while running, over what it was at :meth:`start`."""
        return self.peak_mib - self.start_mib

    def p95_seconds(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


# --------------------------------------------------------------- hostile files


def huge_png(side: int = HUGE_SIDE) -> bytes:
    """A ``side``×``side`` fully transparent RGBA PNG, written row by row (9000²: 314,565 bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor, row = zlib.compressobj(9), b"\0" * (1 + 4 * side)  # filter byte + RGBA
    rows = [compressor.compress(row) for _ in range(side)]
    pixels = b"".join(rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@functools.cache
def huge_picture_url() -> str:
    return PNG_PREFIX + base64.b64encode(huge_png()).decode()


def overlong_picture_url() -> str:
    """A data URL past the text cap (its PNG is never decoded)."""
    padding = MAX_DATA_URL_CHARS - len(PNG_PREFIX) + 1000
    return PNG_PREFIX + base64.b64encode(PNG_SIGNATURE).decode() + "A" * padding


def _rewritten(*, layer: Callable[[dict], None] | None = None, entries: dict[str, bytes] | None = None,
               streamed: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    """The shipped RNN's ``.keras`` (deflated) with its recurrent layer changed by ``layer``, members
    replaced by ``entries``, and members written as ``streamed[name] = (block, count)`` (the block
    repeated, without holding the whole in memory)."""
    entries, streamed = entries or {}, streamed or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(SHIPPED_RNN) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename in entries or item.filename in streamed:
                continue
            content = source.read(item)
            if item.filename == "config.json" and layer is not None:
                config = json.loads(content)
                layer(next(each for each in config["config"]["layers"] if each["class_name"] == "SimpleRNN"))
                content = json.dumps(config).encode()
            target.writestr(item.filename, content)
        for name, content in entries.items():
            target.writestr(name, content)
        for name, (block, count) in streamed.items():
            with target.open(name, "w", force_zip64=True) as member:
                for _ in range(count):
                    member.write(block)
    return buffer.getvalue()


@functools.cache
def wide_model_file(units: int = WIDE_UNITS) -> bytes:
    """A SimpleRNN of ``units`` units with all-zero float32 weights (8,000 units: about 250 KB)."""
    def widen(layer: dict) -> None:
        layer["config"]["units"] = units

    inputs, classes = 16, 10
    weights = 4 * (inputs * units + units * units + units + units * classes + classes)
    block = b"\0" * 2**20
    return _rewritten(layer=widen, entries={METADATA_ENTRY: b'{"arch": "rnn"}'},
                      streamed={"model.weights.h5": (block, -(-weights // len(block)))})


@functools.cache
def metadata_bomb_file(inflated: int = BOMB_BYTES) -> bytes:
    """The shipped RNN whose ``rnn_demo.json`` inflates to ``inflated`` bytes of spaces (1 GiB: about 1 MB)."""
    block = b" " * 2**20
    return _rewritten(streamed={METADATA_ENTRY: (block, inflated // len(block))})


@functools.cache
def slow_model_file(units: int = SLOW_UNITS) -> bytes:
    """The shipped RNN whose config says an LSTM of ``units`` units (its weights are the RNN's)."""
    def lengthen(layer: dict) -> None:
        layer["class_name"] = "LSTM"
        layer["config"]["units"] = units

    return _rewritten(layer=lengthen, entries={METADATA_ENTRY: b'{"arch": "lstm"}'})


# ------------------------------------------------------------------- attacks


def said(alert) -> str:
    """What the first of the ``alert`` boxes says (its text, without its icon's name)."""
    return alert.first.locator("[data-testid='stMarkdownContainer']").inner_text()


def open_page(page, server: Server, name: str, query: str = "") -> None:
    page.goto(page_url(server.base, name, query))
    wait_until_idle(page, ready=name, timeout_ms=ANSWER_TIMEOUT_MS)


def send_a_huge_picture(page, server: Server, begin: Begin = nothing, data_url: str | None = None) -> str:
    """Attack 1: the canvas's ``toDataURL`` replaced in the page, so a stroke sends ``data_url``
    (default: the 9000×9000 PNG) as the component's drawing."""
    page.add_init_script(f"HTMLCanvasElement.prototype.toDataURL = () => {json.dumps(data_url or huge_picture_url())};")
    open_page(page, server, "draw")
    canvas = page.locator("canvas").last  # Fabric's upper canvas takes the pointer
    canvas.scroll_into_view_if_needed()
    begin()
    draw_stroke(page, canvas.bounding_box(), [(0.5, 0.15), (0.5, 0.85)])
    page.locator(f".{CSS_KEY_PREFIX}{DRAWN_STROKES_KEY_PREFIX}1").wait_for(timeout=ANSWER_TIMEOUT_MS)
    wait_until_idle(page, ready="draw", timeout_ms=ANSWER_TIMEOUT_MS)
    return said(page.locator(f".{CSS_KEY_PREFIX}{DRAWN_STROKES_KEY_PREFIX}1 [data-testid='stAlert']"))


def upload(page, server: Server, name: str, data: bytes, begin: Begin = nothing) -> str:
    """Attacks 2–4: ``data`` uploaded as ``name`` through /draw's model uploader."""
    open_page(page, server, "draw")
    page.get_by_text("Use your own model (.keras)").click()
    begin()
    page.locator("input[type='file']").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}])
    answer = page.locator("[data-testid='stAlert']").filter(has_text=name)
    answer.first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    wait_until_idle(page, ready="draw", timeout_ms=ANSWER_TIMEOUT_MS)
    return said(answer)


def hog_the_slots(page, server: Server, begin: Begin = nothing) -> str:
    """Attack 5: the link of an hour-long training, and a Train click if one is offered."""
    open_page(page, server, "train")
    begin()
    open_page(page, server, "train", HOG)
    refusal = page.locator(".st-key-budget-refusal").inner_text()
    train = page.get_by_role("button", name="Train", exact=True)
    if train.is_enabled():
        train.click()
        page.get_by_text("would take about").first.wait_for()
        wait_until_idle(page, ready="train")
    assert page.locator(status_selector("running")).count() == 0, "the hour-long training runs"
    return refusal


def inject_a_link(page, server: Server, begin: Begin = nothing, name: str = "inside", parameter: str = "arch") -> str:
    """Attack 6: a link whose parameter holds a markdown link and a remote image; returns the page's
    alert that shows it ("" where there is none: Train's alert is gone after its first rerun)."""
    open_page(page, server, name)
    begin()
    open_page(page, server, name, f"{parameter}={urllib.parse.quote(INJECTION)}")
    alert = page.locator("[data-testid='stAlert']").filter(has_text="Session expired")
    return said(alert) if alert.count() else ""


def evil_elements(page) -> int:
    return page.locator("[data-testid='stMain'] a[href*='evil'], [data-testid='stMain'] img[src*='evil']").count()


def train_after_a_killed_worker(page, server: Server, begin: Begin = nothing) -> str:
    """Attack 9: a training whose worker is SIGKILLed mid-way, then a Train click on a fresh page
    of the same visitor, which must train. Returns what the killed training's page said."""
    open_page(page, server, "train", LONG)
    iterations = page.get_by_role("spinbutton", name="Iterations")
    if iterations.input_value() != "2000":  # seen 2026-12-06: a first visit's controls at their minimums
        iterations.fill("2000")
        iterations.press("Enter")
        wait_until_idle(page, ready="train")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector(status_selector("running"), timeout=ANSWER_TIMEOUT_MS)
    page.get_by_text(re.compile(r"iteration [1-9][0-9]* of")).first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    worker = busiest_worker(server)
    begin()
    os.kill(worker, signal.SIGKILL)
    # The first failed-status block (a page can briefly show two while it redraws), read
    # now: once this visitor's next training runs, this page watches it instead.
    failed = page.locator(status_selector("failed")).first
    failed.wait_for(timeout=ANSWER_TIMEOUT_MS)
    told = failed.inner_text()
    fresh = page.context.new_page()  # the same visitor (the same browser key), a fresh page
    try:
        open_page(fresh, server, "train", "arch=rnn&iterations=20")
        train = fresh.get_by_role("button", name="Train", exact=True)
        wait_for(train.is_enabled, 120, message="the Train button stayed disabled")
        train.click()
        fresh.wait_for_selector(f"{status_selector('running')}, {status_selector('queued')}, "
                                f"{status_selector('completed')}", timeout=30_000)
        fresh.wait_for_selector(status_selector("completed"), timeout=ANSWER_TIMEOUT_MS)
        wait_until_idle(fresh, ready="train", timeout_ms=ANSWER_TIMEOUT_MS)
    finally:
        fresh.close()
    return told


def forked_workers(server: Server) -> list[int]:
    """The server's worker processes: the children of its fork server, the one child of the
    server that runs ``multiprocessing.forkserver``."""
    fork_server = next(pid for pid in server.worker_pids()
                       if _stat(pid)[1] == str(server.pid) and "multiprocessing.forkserver" in _command(pid))
    return process_tree(fork_server)[1:]


def busiest_worker(server: Server) -> int:
    """The worker process that used the most CPU over one second (the one training)."""
    workers = forked_workers(server)
    before = {pid: _cpu_ticks(pid) for pid in workers}
    time.sleep(1.0)  # a CPU share is a rate: it needs an interval
    return max(workers, key=lambda pid: _cpu_ticks(pid) - before[pid])


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command: state, parent, …; none once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return ["", ""]


def _cpu_ticks(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12]) if len(fields) > 12 else -1


# Issue 21's attacks by number, each with the files it sends built on first use.
ATTACKS: dict[str, Callable] = {
    "1 huge canvas picture": send_a_huge_picture,
    "2 8,000-unit upload": lambda page, server, begin=nothing: upload(
        page, server, "wide.keras", wide_model_file(), begin),
    "3 metadata bomb upload": lambda page, server, begin=nothing: upload(
        page, server, "bomb.keras", metadata_bomb_file(), begin),
    "4 12,000-unit config upload": lambda page, server, begin=nothing: upload(
        page, server, "slow.keras", slow_model_file(), begin),
    "5 slot-hogging link": hog_the_slots,
    "6 injected link": inject_a_link,
    "9 click after a killed worker": train_after_a_killed_worker,
}


MAX_GROWTH_MIB = 150  # issue 21: what one attack may add to the web process


def unharmed(server: Server, attack: Callable, page, **options) -> str:
    """Run ``attack`` on ``page``; assert the server answered its health check throughout, the web
    process grew by under :data:`MAX_GROWTH_MIB` and the page shows no exception box; return the
    attacker's sentence."""
    health = Health(server)
    try:
        sentence = attack(page, server, health.start, **options)
    finally:
        health.stop()
    assert health.asked and not health.missed, f"health missed {health.missed} of {health.asked} times"
    assert health.growth_mib < MAX_GROWTH_MIB, (
        f"the web process grew {health.growth_mib:.0f} MiB ({health.start_mib:.0f} → {health.peak_mib:.0f})")
    no_exceptions(page)
    print(f"{attack.__name__}: health {health.asked} answers, p95 {health.p95_seconds() * 1000:.0f} ms; "
          f"web process +{health.growth_mib:.1f} MiB")
    return sentence
