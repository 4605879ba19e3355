"""Classes in the run store: codes, joining, posting, the board, the teacher's controls and the limits.

The same tests run on a SQLite file and on a real PostgreSQL server the tests
start themselves (tests/postgres_server.py).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, update

from rnn_demo.app.classes import board_csv, join_link, recipe_summaries
from rnn_demo.app.links import PUBLIC_URL_VARIABLE
from rnn_demo.errors import UserError
from rnn_demo.store import open_store
from rnn_demo.store.classes import (
    CODE_LETTERS,
    ClassLimits,
    ClassNotFound,
    Classroom,
    normalise_code,
)
from rnn_demo.store.schema import classes
from rnn_demo.store.settings import store_location
from rnn_demo.views.class_figures import board_curves_figure
from tests.test_store import small_run, visitor


def scored(arch: str, accuracy: float, **changes):
    curves = {"val_iterations": [10, 20], "val_accuracy": [accuracy / 2, accuracy]}
    return small_run(arch=arch, val_accuracy=accuracy, curves=curves, config={"hidden_units": 32}, **changes)


def shift(url: str, table, column: str, days: float) -> None:
    """Move every row's ``column`` of ``table`` ``days`` into the past, straight in the database."""
    engine = create_engine(store_location(url).url)
    with engine.begin() as connection:
        for row in connection.execute(select(table)).all():
            moved = getattr(row, column) - timedelta(days=days)
            connection.execute(update(table).where(*(table.c[key] == getattr(row, key) for key in
                                                     [c.name for c in table.primary_key])).values({column: moved}))
    engine.dispose()


class ClassContract:
    """What every database must do; a subclass provides ``store_url``."""

    @pytest.fixture
    def store(self, store_url):
        with open_store(store_url) as opened:
            yield opened

    @pytest.fixture
    def room(self, store):
        return Classroom(store, ClassLimits(max_classes=3, max_students=3, max_posts=2, class_days=7))

    def test_a_code_is_six_letters_easy_to_read_aloud(self, room):
        teacher = visitor()
        info = room.create_class(teacher)
        assert len(info.code) == 6 and set(info.code) <= set(CODE_LETTERS) and info.is_open
        assert not set(CODE_LETTERS) & set("BDEPILOQSUVZ0123456789")
        assert room.get_class(f" {info.code[:3].lower()}-{info.code[3:]} ").code == info.code
        assert [c.code for c in room.teacher_classes(teacher)] == [info.code]
        with pytest.raises(ClassNotFound, match="No class has the code"):
            room.get_class("AAAAAA" if info.code != "AAAAAA" else "CCCCCC")
        with pytest.raises(ClassNotFound, match="is not a class code"):
            normalise_code("ABC")

    def test_students_runs_after_joining_are_posted_and_the_board_lists_them(self, store, room):
        code, teacher = room.create_class(visitor()).code, visitor()
        ada, bo = visitor(), visitor()
        before = store.save_run(ada, scored("lstm", 0.5)).id  # stored before joining: not posted
        assert room.join(code, "  Ada\n<b>*x*</b> ", ada) == "Ada <b>*x*</b>"
        room.join(code, "Bo", bo)
        with pytest.raises(UserError, match="already “bo”"):
            room.join(code, "bo", visitor())
        first = store.save_run(ada, scored("lstm", 0.9)).id
        second = store.save_run(bo, scored("rnn", 0.7)).id
        store.save_run(bo, small_run(kind="upload"))  # uploads are not posted
        store.save_run(teacher, scored("gru", 0.99))  # not a student
        board = room.board(code)
        assert [(row.run_id, row.nickname, row.val_accuracy) for row in board] == [
            (first, "Ada <b>*x*</b>", 0.9), (second, "Bo", 0.7)]
        assert before not in {row.run_id for row in board}
        assert board[0].val_iterations == [10, 20] and board[0].val_accuracies == [0.45, 0.9]
        assert room.collect(code) == 0  # posted once
        assert room.nickname(code, ada) == "Ada <b>*x*</b>" and room.nickname(code, teacher) is None
        assert [(info.code, name) for info, name in room.student_classes(bo)] == [(code, "Bo")]

    def test_unpost_leave_remove_close_and_only_the_teacher_manages(self, store, room):
        teacher, ada, bo = visitor(), visitor(), visitor()
        code = room.create_class(teacher).code
        room.join(code, "Ada", ada)
        room.join(code, "Bo", bo)
        kept, unposted = store.save_run(ada, scored("lstm", 0.9)).id, store.save_run(ada, scored("gru", 0.8)).id
        removed = store.save_run(bo, scored("rnn", 0.6)).id
        room.collect(code)
        room.unpost(code, ada, unposted)
        with pytest.raises(UserError, match="Only the teacher"):
            room.remove_post(code, ada, removed)
        room.remove_post(code, teacher, removed)
        assert [row.run_id for row in room.board(code)] == [kept]  # neither comes back
        room.leave(code, ada)
        assert room.board(code) == [] and room.nickname(code, ada) is None
        with pytest.raises(UserError, match="Only the teacher"):
            room.close(code, bo)
        room.close(code, teacher)
        assert not room.get_class(code).is_open
        store.save_run(bo, scored("rnn", 0.7))
        assert room.collect(code) == 0  # closed: nothing more is posted
        with pytest.raises(ClassNotFound, match="is closed"):
            room.join(code, "Cy", visitor())

    def test_the_limits_say_so(self, store, store_url, room):
        codes = [room.create_class(visitor()).code for _ in range(3)]
        with pytest.raises(UserError, match="already runs 3 classes"):
            room.create_class(visitor())
        for name in ("A", "B", "C"):
            room.join(codes[0], name, visitor())
        with pytest.raises(UserError, match="is full: it has 3 students"):
            room.join(codes[0], "D", visitor())
        student = visitor()
        room.join(codes[1], "E", student)
        for accuracy in (0.1, 0.2, 0.3):
            store.save_run(student, scored("rnn", accuracy))
        assert [row.val_accuracy for row in room.board(codes[1])] == [0.1, 0.2]  # two posts each
        shift(store_url, classes, "created_at", 8)
        with pytest.raises(ClassNotFound, match="has ended: classes last 7 days"):
            room.get_class(codes[0])
        assert room.teacher_classes(visitor()) == []
        assert room.create_class(visitor()).code  # expired classes no longer count
        assert room.purge_expired() == 3

    def test_the_version_changes_with_what_the_board_shows(self, store, room):
        teacher, ada = visitor(), visitor()
        code = room.create_class(teacher).code
        room.join(code, "Ada", ada)
        seen = [room.version(code)]
        run_id = store.save_run(ada, scored("rnn", 0.5)).id
        seen.append(room.version(code))  # posted by the poll itself
        assert room.version(code) == seen[-1]
        room.remove_post(code, teacher, run_id)
        seen.append(room.version(code))
        room.close(code, teacher)
        seen.append(room.version(code))
        assert len(set(seen)) == 4

    def test_a_deleted_run_leaves_the_board(self, store, room):
        code, ada = room.create_class(visitor()).code, visitor()
        room.join(code, "Ada", ada)
        run_id = store.save_run(ada, scored("rnn", 0.5)).id
        assert len(room.board(code)) == 1
        store.delete(ada, run_id)
        assert room.board(code) == []


class TestSqliteClasses(ClassContract):
    @pytest.fixture
    def store_url(self, tmp_path):
        return str(tmp_path / "runs.sqlite")


class TestPostgresClasses(ClassContract):
    @pytest.fixture
    def store_url(self, postgres):
        return postgres.create_database()


def test_the_summary_csv_link_and_figure(tmp_path):
    with open_store(tmp_path / "runs.sqlite") as store:
        room = Classroom(store, ClassLimits())
        code = room.create_class(visitor()).code
        for name, runs in (("=cmd()", [("lstm", 0.9), ("rnn", 0.5)]), ("Bo", [("lstm", 0.7), ("lstm", 0.8)])):
            owner = visitor()
            room.join(code, name, owner)
            for arch, accuracy in runs:
                store.save_run(owner, scored(arch, accuracy))
        board = room.board(code)
    assert [(s.recipe, s.count, s.median, s.best) for s in recipe_summaries(board)] == [
        ("LSTM", 3, 0.8, 0.9), ("Basic RNN", 1, 0.5, 0.5)]
    lines = list(csv.reader(io.StringIO(board_csv(board).decode())))
    assert lines[0][:3] == ["nickname", "run_id", "recipe"] and len(lines) == 5
    assert lines[1][0] == "'=cmd()" and lines[1][2] == "LSTM" and lines[1][7] == "0.9000"
    public = {PUBLIC_URL_VARIABLE: "https://rnn.school.org/app/"}
    assert join_link("ACFGHJ", "http://x/class", public) == "https://rnn.school.org/app/class?code=ACFGHJ"
    assert join_link("ACFGHJ", "http://10.0.0.5:8501/class?x=1", {}) == "http://10.0.0.5:8501/class?code=ACFGHJ"
    assert join_link("ACFGHJ", None, {PUBLIC_URL_VARIABLE: ""}) == "/class?code=ACFGHJ"
    figure = board_curves_figure([{"label": f"<i>{row.nickname}</i>", "recipe": "LSTM", "arch": row.arch,
                                   "val_iterations": row.val_iterations, "val_accuracy": row.val_accuracies}
                                  for row in board])
    assert len(figure.data) == 4 and sum(trace.showlegend is not False for trace in figure.data) >= 1
    assert "<i>" not in figure.data[0].hovertemplate
