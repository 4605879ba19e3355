"""/class in the app (AppTest, a real store in a temporary RNN_DEMO_HOME): create, join, the board, manage."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo.store.classes import Classroom
from tests.test_app_runs import button, open_page, texts, visitor
from tests.test_store_classes import scored


@pytest.fixture
def store(app_store):
    return app_store


def click(at: AppTest, label: str) -> AppTest:
    matches = [widget for widget in at.button if widget.label == label]
    assert matches, f"no button {label!r}; buttons: {[widget.label for widget in at.button]}"
    matches[0].click().run()
    assert not at.exception, [error.value for error in at.exception]
    return at


def html_of(at: AppTest) -> str:
    return " ".join(str(element.proto.body) for element in at.get("html"))


def join(code: str, nickname: str) -> tuple[str, AppTest]:
    student = visitor()
    at = open_page("class", student, code=code)
    next(field for field in at.text_input if field.label == "Nickname").input(nickname)
    return student, click(at, "Join")


def test_a_teacher_creates_a_class_and_sees_its_code_link_and_qr(store):
    teacher = visitor()
    at = click(open_page("class", teacher), "Create a class")
    (info,) = Classroom(store).teacher_classes(teacher)
    assert at.query_params["code"] == [info.code] or at.query_params["code"] == info.code
    assert info.code in html_of(at)
    assert f"class?code={info.code}" in texts(at).replace("\\", "")
    assert "No runs yet" in " ".join(str(e.value) for e in at.subheader)
    assert at.get("image")  # the QR code of the join link


def test_students_join_their_runs_reach_the_board_and_the_teacher_manages_it(store):
    teacher = visitor()
    code = Classroom(store).create_class(teacher).code
    ada, joined = join(code, "*Ada* <b>")
    assert "You are in the class" in texts(joined) and "\\*Ada\\* \\<b\\>" in texts(joined)
    bo, _ = join(code, "Bo")
    first = store.save_run(ada, scored("lstm", 0.91)).id
    second = store.save_run(bo, scored("rnn", 0.62)).id
    board = open_page("class", teacher, code=code)
    shown = texts(board)
    assert "91.0%" in shown and "62.0%" in shown and "2 runs" in shown
    assert button(board, f"board-remove-{first}") and board.get("download_button")
    button(board, f"board-remove-{second}").click().run()
    assert "62.0%" not in texts(board) and "1 runs" in texts(board)
    mine = open_page("class", ada, code=code)
    assert button(mine, f"board-unpost-{first}")
    button(mine, "class-leave").click().run()
    assert Classroom(store).board(code) == []


def test_a_wrong_code_says_so_and_offers_the_form(store):
    at = open_page("class", visitor(), code="WWWWWW")
    warnings = " ".join(str(element.value) for element in at.warning)
    assert "No class has the code WWWWWW" in warnings
    assert [field.label for field in at.text_input] == ["Class code", "Nickname"]


def test_an_assignment_pins_trains_settings_for_the_class(store):
    teacher = visitor()
    code = Classroom(store).create_class(teacher).code
    at = open_page("class", teacher, code=code)
    at.checkbox(key="assign-pin-arch").check()
    at.selectbox(key="assign-arch").set_value("gru")
    at.checkbox(key="assign-pin-hidden").check()
    at.number_input(key="assign-hidden").set_value(32)
    button(at, "assign-set").click().run()
    assert not at.exception
    assert Classroom(store).get_class(code).assignment == {"arch": "gru", "hidden": "32"}
    assert "GRU, 32 units" in texts(at)
    student, _ = join(code, "Ada")
    train = open_page("train", student)
    assert any("Your class asks: GRU, 32 units" in str(element.value) for element in train.info)
    assert train.radio(key="w_arch").value == "gru" and train.number_input(key="w_hidden").value == 32
    assert train.number_input(key="w_batch").value == 500  # not pinned: the student's choice
    other = open_page("train", visitor())
    assert not any("Your class asks" in str(element.value) for element in other.info)
