"""A class in a real browser: a teacher's board, three students joining with the code, posts within 5 s.

The teacher's context creates the class on /class and keeps its board open,
never reloaded. Three student contexts join at ``/class?code=CODE`` with a
nickname; each then has a run stored for them through the store API the
app's keeper uses (training three models on this 2-core machine would take
minutes). The board's poll must show each run, with its accuracy, within
5 s; the teacher removes one, and the CSV export holds the other two. The
test runs twice: one server on its SQLite store, and two app replicas sharing
a real PostgreSQL store (tests/postgres_server.py), the students on one and
the teacher's board on the other.
Waits are on the app's markers (``rnn_demo.ui.markers``), never on a sleep.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest

from rnn_demo.store import open_store, owner_from_key
from rnn_demo.ui.markers import (
    BOARD_COUNT_KEY_PREFIX,
    BOARD_RUN_KEY_PREFIX,
    CLASS_CODE_KEY,
    CLASS_STUDENT_KEY,
    CSS_KEY_PREFIX,
)
from rnn_demo.ui.visitor import COOKIE
from tests.harness import ARTIFACTS, Server, no_exceptions, page_url, wait_until_idle
from tests.postgres_server import PostgresServer
from tests.test_store import shipped_run

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 720}  # a projector
TIMEOUT_MS = 120_000
BOARD_MS = 5_000  # a finished run is on the board within this
STUDENTS = (("Ada", "rnn"), ("Bo", "gru"), ("Cy", "lstm"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql-two-replicas"])
def replicas(request, tmp_path_factory):
    """(the teacher's server, the students' server, the store they share)."""
    home = tmp_path_factory.mktemp("rnn-demo-home")
    if request.param == "sqlite":
        with Server(env={"RNN_DEMO_HOME": str(home)}, log_path=ARTIFACTS / "streamlit-class.log") as server:
            yield server, server, str(home / "runs.sqlite")
        return
    try:
        postgres = PostgresServer()
    except RuntimeError as error:
        pytest.fail(str(error))
    with postgres:
        url = postgres.create_database()
        env = {"RNN_DEMO_HOME": str(home), "RNN_DEMO_DATABASE_URL": url}
        with Server(env=env, log_path=ARTIFACTS / "streamlit-class-teacher.log") as teacher, \
                Server(env=env, log_path=ARTIFACTS / "streamlit-class-students.log") as students:
            yield teacher, students, url


def marker(key: str) -> str:
    return f".{CSS_KEY_PREFIX}{key}"


def open_class(tab, server, query: str = "") -> None:
    tab.goto(page_url(server.base, "class", query))
    wait_until_idle(tab, ready="class", timeout_ms=TIMEOUT_MS)


def test_three_students_runs_reach_the_teachers_board_which_exports_csv(replicas, browser, page):
    server, students_server, store_url = replicas
    open_class(page, server)
    page.get_by_role("button", name="Create a class").click()
    page.locator(marker(CLASS_CODE_KEY)).wait_for(timeout=TIMEOUT_MS)
    code = page.locator(marker(CLASS_CODE_KEY)).inner_text().strip()
    assert len(code) == 6 and code.isalpha() and code.isupper()
    page.locator(marker(f"{BOARD_COUNT_KEY_PREFIX}0")).wait_for(timeout=TIMEOUT_MS)
    no_exceptions(page)

    contexts, owners = [], []
    try:
        for nickname, _arch in STUDENTS:
            context = browser.new_context(viewport=VIEWPORT)
            contexts.append(context)
            student = context.new_page()
            open_class(student, students_server, f"code={code}")
            student.get_by_label("Nickname").fill(nickname)
            student.get_by_role("button", name="Join").click()
            student.locator(marker(CLASS_STUDENT_KEY)).wait_for(timeout=TIMEOUT_MS)
            assert nickname in student.locator(marker(CLASS_STUDENT_KEY)).inner_text()
            no_exceptions(student)
            owners.append(owner_from_key(student.evaluate(f"window.localStorage.getItem({COOKIE!r})")))
    finally:
        for context in contexts:
            context.close()

    run_ids, waited = [], []
    with open_store(store_url) as store:
        for owner, (nickname, arch) in zip(owners, STUDENTS, strict=True):
            run = shipped_run(arch, kind="training", name=f"{nickname}'s {arch}")
            run_ids.append(store.save_run(owner, run).id)
            finished = time.monotonic()
            row = page.locator(marker(f"{BOARD_RUN_KEY_PREFIX}{run_ids[-1]}"))
            row.get_by_text(f"{run.val_accuracy:.1%}").wait_for(timeout=BOARD_MS)
            waited.append(time.monotonic() - finished)
            assert nickname in row.inner_text()
    page.locator(marker(f"{BOARD_COUNT_KEY_PREFIX}3")).wait_for(timeout=BOARD_MS)
    for run_id in run_ids:
        assert page.locator(marker(f"{BOARD_RUN_KEY_PREFIX}{run_id}")).count() == 1
    print(f"board shows a stored run after {', '.join(f'{seconds:.2f}' for seconds in waited)} s")
    no_exceptions(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"class-board-1280x720-{len(set(replicas[:2]))}.png"))

    removed = run_ids[1]
    page.locator(marker(f"{BOARD_RUN_KEY_PREFIX}{removed}")).get_by_role("button", name="Remove").click()
    page.locator(marker(f"{BOARD_RUN_KEY_PREFIX}{removed}")).wait_for(state="detached", timeout=BOARD_MS)
    page.locator(marker(f"{BOARD_COUNT_KEY_PREFIX}2")).wait_for(timeout=BOARD_MS)
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name="Export CSV").click()
    lines = list(csv.DictReader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert sorted(line["run_id"] for line in lines) == sorted([run_ids[0], run_ids[2]])
    assert sorted(line["nickname"] for line in lines) == ["Ada", "Cy"]
    no_exceptions(page)
