"""Hostile visitors against a real server (issue 21): `streamlit run app.py`, its real worker
processes, driven by Chromium.

Each attack is the reported one: a link that injects a link and an image into the app's own
warning box (attack 6), a link that would hold a training slot for an hour (attack 5), and a
Train click after a worker was SIGKILLed mid-training (point 9). For each, the server answers
``/_stcore/health`` throughout and the attacker reads a clear sentence.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import urllib.parse

import pytest

from tests.harness import (
    Server,
    no_exceptions,
    page_url,
    status_selector,
    wait_for,
    wait_until_idle,
)

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1400, "height": 1400}  # conftest's page fixture reads it

ATTACK = ("x` **Session expired** [Log in again](https://evil.example/login) "
          "![](https://evil.example/px.gif) `")
HOG = "arch=bilstm&hidden=256&batch=2000&iterations=2000"  # about 53 min on the 2-core server
LONG = "arch=lstm&iterations=2000&batch=100"  # long enough to be killed mid-way
RESULT_TIMEOUT_MS = 240_000


class Health:
    """Asks the server's health endpoint every half second in a thread; counts the misses."""

    def __init__(self, server: Server):
        self.server, self.asked, self.missed = server, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ask, daemon=True)

    def _ask(self) -> None:
        while not self._stop.wait(0.5):
            self.asked += 1
            self.missed += not self.server.answers("/_stcore/health", timeout=5)

    def __enter__(self) -> Health:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        assert self.asked and not self.missed, f"health missed {self.missed} of {self.asked} times"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with Server(env={"RNN_DEMO_HOME": str(home)}) as running:
        yield running


def evil_elements(page) -> int:
    return page.locator("[data-testid='stMain'] a[href*='evil'], [data-testid='stMain'] img[src*='evil']").count()


@pytest.mark.parametrize(("name", "parameter"), [("inside", "arch"), ("learn", "step"), ("train", "arch"),
                                                 ("train", "hidden")])
def test_a_link_cannot_inject_a_link_or_an_image(server, page, name, parameter):
    with Health(server):
        page.goto(page_url(server.base, name, f"{parameter}={urllib.parse.quote(ATTACK)}"))
        wait_until_idle(page, ready=name)
        assert evil_elements(page) == 0
        if name != "train":  # Train's sentence is gone after the first visit's rerun (the visitor's key)
            alert = page.locator("[data-testid='stAlert']").filter(has_text="Session expired")
            assert alert.count() == 1, "the visitor is not told what the link said"
            assert "[Log in again](https://evil.example/login)" in alert.inner_text()  # as typed
        no_exceptions(page)


def test_a_slot_hogging_link_is_refused_with_its_estimate(server, page):
    with Health(server):
        page.goto(page_url(server.base, "train", HOG))
        wait_until_idle(page, ready="train")
        refusal = page.locator(".st-key-budget-refusal")
        assert "would take about" in refusal.inner_text() and "budget of 5 min" in refusal.inner_text()
        train = page.get_by_role("button", name="Train", exact=True)
        if train.is_enabled():
            train.click()
            page.get_by_text("would take about").first.wait_for()
            wait_until_idle(page, ready="train")
        assert page.locator(status_selector("running")).count() == 0
        no_exceptions(page)


def test_a_train_click_after_a_killed_worker_starts_a_training(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    try:
        with Health(server):
            first = context.new_page()
            first.goto(page_url(server.base, "train", LONG))
            wait_until_idle(first, ready="train")
            iterations = first.get_by_role("spinbutton", name="Iterations")
            if iterations.input_value() != "2000":  # seen 2026-12-06: a first visit's controls at their minimums
                iterations.fill("2000")
                iterations.press("Enter")
                wait_until_idle(first, ready="train")
            first.get_by_role("button", name="Train", exact=True).click()
            first.wait_for_selector(status_selector("running"), timeout=RESULT_TIMEOUT_MS)
            first.get_by_text(re.compile(r"iteration [1-9][0-9]* of")).first.wait_for(timeout=RESULT_TIMEOUT_MS)
            os.kill(_busiest_worker(server), signal.SIGKILL)
            first.wait_for_selector(status_selector("failed"), timeout=RESULT_TIMEOUT_MS)
            fresh = context.new_page()  # the same visitor (the same browser key), a fresh page
            fresh.goto(page_url(server.base, "train", "arch=rnn&iterations=20"))
            wait_until_idle(fresh, ready="train")
            train = fresh.get_by_role("button", name="Train", exact=True)
            wait_for(train.is_enabled, 120, message="the Train button stayed disabled")
            started = time.monotonic()
            train.click()
            fresh.wait_for_selector(f"{status_selector('running')}, {status_selector('queued')}, "
                                    f"{status_selector('completed')}", timeout=30_000)
            fresh.wait_for_selector(status_selector("completed"), timeout=RESULT_TIMEOUT_MS)
            print(f"after the kill, a fresh click trained in {time.monotonic() - started:.1f} s")
            no_exceptions(fresh)
    finally:
        context.close()


def _busiest_worker(server: Server) -> int:
    """The worker process that used the most CPU over one second (the one training)."""
    workers = [pid for pid in server.worker_pids() if "spawn_main" in _command(pid)]
    before = {pid: _cpu_ticks(pid) for pid in workers}
    time.sleep(1.0)
    return max(workers, key=lambda pid: _cpu_ticks(pid) - before[pid])


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return -1
