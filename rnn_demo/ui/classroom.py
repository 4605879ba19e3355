"""/class: a teacher's class and its live board, a student's join form, what each of them may change.

Everything goes through the run store (:class:`~rnn_demo.store.classes.Classroom`),
so a board on one app replica sees the runs students finish on another. The
board is drawn with the page; a small fragment polls the store's version of
it (:data:`TEACHER_POLL_SECONDS`), which also posts the students' newly stored
runs, and reruns the page only when that changed, so an idle board costs one
light query a second. The teacher is the
visitor (browser key) who created the class. Nicknames are shown as plain text.
"""

from __future__ import annotations

import functools
import io

import segno
import streamlit as st

from rnn_demo.app.classes import (
    ASSIGNABLE,
    board_csv,
    describe_assignment,
    join_link,
    recipe,
    recipe_summaries,
)
from rnn_demo.app.links import config_from_query, config_to_query
from rnn_demo.app.models import hyperparameters
from rnn_demo.config import ARCHITECTURE_NAMES, TrainConfig
from rnn_demo.errors import UserError
from rnn_demo.store.classes import BoardRow, ClassInfo, ClassNotFound, Classroom
from rnn_demo.store.schema import NICKNAME_MAX
from rnn_demo.ui.charts import chart
from rnn_demo.ui.markers import (
    CLASS_CODE_KEY,
    CLASS_STUDENT_KEY,
    board_count_block,
    board_run_block,
)
from rnn_demo.ui.navigation import page_link
from rnn_demo.ui.plain import plain
from rnn_demo.ui.resources import host_limits, run_store
from rnn_demo.ui.runs import RUN_QUERY
from rnn_demo.ui.visitor import visitor_owner
from rnn_demo.views import chart_texts
from rnn_demo.views.class_figures import board_curves_figure

# How often an open board asks the store for new posts: the teacher's (on the projector) often, a
# student's (one of up to 200) rarely, so a class's polls stay light for the server.
TEACHER_POLL_SECONDS = 1
STUDENT_POLL_SECONDS = 5
CODE_QUERY = "code"
MESSAGE_STATE = "class_message"  # session_state: what the last change did, shown once
VERSION_STATE = "class_board_version"  # session_state: (code, Classroom.version) the board was drawn at
APPLIED_STATE = "class_assignment_applied"  # session_state: the assignment /train has set its controls to
CODE_STYLE = "font-size:4.5rem;font-weight:700;letter-spacing:0.25em;line-height:1.1"


def class_page() -> None:
    """The whole of /class: the board, a student's class, or the forms to create and join one."""
    store, owner = run_store(), visitor_owner()
    if store is None:
        st.info("The run store is not available, so classes cannot be opened now.", icon=":material/database:")
        return
    if owner is None:
        st.info("Your browser has not sent its key yet; this page fills in a moment.", icon=":material/key:")
        return
    room = Classroom(store)
    message = st.session_state.pop(MESSAGE_STATE, None)
    if message:
        st.info(plain(message), icon=":material/info:")
    code = st.query_params.get(CODE_QUERY)
    if code is not None:
        try:
            info = room.get_class(code)
        except ClassNotFound as error:
            st.warning(str(error), icon=":material/link_off:")
            _join_form(room, owner, None)
            return
        nickname = room.nickname(info.code, owner)
        if info.teacher == owner:
            _teacher_view(room, info)
        elif nickname is not None:
            _student_view(room, info, owner, nickname)
        else:
            _join_form(room, owner, info.code)
        return
    _start(room, owner)


def _say(message: str) -> None:
    st.session_state[MESSAGE_STATE] = message


def _go_to(code: str) -> None:
    st.query_params[CODE_QUERY] = code
    st.rerun()


def _start(room: Classroom, owner: str) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Teach a class", anchor=False)
        st.caption("Your students join with a six-letter code; every run they finish appears on your board. "
                   "This browser is the class's teacher key: only it can manage the class.")
        if st.button("Create a class", type="primary", icon=":material/groups:"):
            _go_to(room.create_class(owner).code)
        for info in room.teacher_classes(owner):
            page_link("class", f"Your class {info.code}", query={CODE_QUERY: info.code}, icon=":material/co_present:")
    with right:
        _join_form(room, owner, None)
        for info, nickname in room.student_classes(owner):
            page_link("class", f"Class {info.code}, as {nickname}", query={CODE_QUERY: info.code})


def _join_form(room: Classroom, owner: str, code: str | None) -> None:
    st.subheader(f"Join the class {code}" if code else "Join a class", anchor=False)
    st.caption("No account and no real name: pick a nickname the class will see beside your runs.")
    with st.form("class-join", border=False):
        typed = code or st.text_input("Class code", max_chars=9, placeholder="six letters")
        nickname = st.text_input("Nickname", max_chars=NICKNAME_MAX)
        if st.form_submit_button("Join", type="primary"):
            try:
                joined = room.join(typed, nickname, owner)
                info = room.get_class(typed)
            except UserError as error:
                st.warning(str(error), icon=":material/error:")
                return
            _say(f"You joined the class {info.code} as {joined}. Every run you finish from now on is posted "
                 "to its board.")
            _go_to(info.code)


def _teacher_view(room: Classroom, info: ClassInfo) -> None:
    link = join_link(info.code, st.context.url)
    code_side, link_side = st.columns([3, 1], vertical_alignment="center")
    with code_side:
        st.caption("Join code" + ("" if info.is_open else " (closed: no more joins or posts)"))
        with st.container(key=CLASS_CODE_KEY):
            st.html(f'<div style="{CODE_STYLE}">{info.code}</div>')
        st.markdown(f"Students open **{plain(link)}** (or type the code on the Class page).")
    with link_side:
        st.image(_qr_png(link), caption="Scan to join", width=200)
    if info.assignment:
        st.markdown(f"**Assignment:** {plain(describe_assignment(info.assignment))}")
    _teacher_board(room, info.code, info.teacher)
    if info.is_open:
        with st.popover("Set an assignment", icon=":material/assignment:"):
            _assignment_form(room, info)
        with st.popover("Close the class", icon=":material/lock:"):
            st.markdown("No one can join or post after this; the board stays readable.")
            st.button("Close it", type="primary", key="class-close", on_click=_close, args=(room, info))


def _close(room: Classroom, info: ClassInfo) -> None:
    try:
        room.close(info.code, info.teacher)
        _say(f"The class {info.code} is closed.")
    except UserError as error:
        _say(str(error))


def _student_view(room: Classroom, info: ClassInfo, owner: str, nickname: str) -> None:
    with st.container(key=CLASS_STUDENT_KEY, border=True):
        st.markdown(f"You are in the class **{info.code}** as **{plain(nickname)}**.")
        if info.is_open:
            st.caption("Every training or Compare you finish is posted to the board on its own; take one off with "
                       "Unpost.")
        else:
            st.caption("The class is closed: no more posts.")
        page_link("train", "Train a model")
        st.button("Leave the class", key="class-leave", on_click=_leave, args=(room, info.code, owner),
                  icon=":material/logout:")
    _student_board(room, info.code, owner)


def _leave(room: Classroom, code: str, owner: str) -> None:
    room.leave(code, owner)
    _say(f"You left the class {code}; your runs are off its board.")


@functools.lru_cache(maxsize=32)
def _qr_png(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def _teacher_board(room: Classroom, code: str, teacher: str) -> None:
    _live_board(room, code, manage=True, me=teacher)
    _teacher_watch(room, code)


def _student_board(room: Classroom, code: str, student: str) -> None:
    _live_board(room, code, manage=False, me=student)
    _student_watch(room, code)


def _live_board(room: Classroom, code: str, manage: bool, me: str) -> None:
    st.session_state[VERSION_STATE] = (code, room.version(code))
    _board(room, code, manage, me)


@st.fragment(run_every=TEACHER_POLL_SECONDS)
def _teacher_watch(room: Classroom, code: str) -> None:
    _rerun_on_change(room, code)


@st.fragment(run_every=STUDENT_POLL_SECONDS)
def _student_watch(room: Classroom, code: str) -> None:
    _rerun_on_change(room, code)


def _rerun_on_change(room: Classroom, code: str) -> None:
    try:
        version = room.version(code)
    except UserError:  # the store failed: the page's next run says so
        return
    if st.session_state.get(VERSION_STATE) != (code, version):
        st.rerun()


def _board(room: Classroom, code: str, manage: bool, me: str) -> None:
    """The live board: a summary per recipe, the curves, and one row per posted run."""
    try:
        rows = room.board(code)
    except UserError as error:
        st.warning(str(error), icon=":material/database:")
        return
    with board_count_block(len(rows)):  # only the heading: the chart below keeps its place as runs arrive
        st.subheader(f"{len(rows)} runs" if rows else "No runs yet", anchor=False)
    summary, curves = st.columns([2, 3], gap="medium")
    with summary:  # drawn even when empty, so the first post only fills it in
        st.dataframe(
            [{"Recipe": item.recipe, "Runs": item.count,
              "Median": "–" if item.median is None else f"{item.median:.1%}",
              "Best": "–" if item.best is None else f"{item.best:.1%}"} for item in recipe_summaries(rows)]
            or [{"Recipe": "–", "Runs": 0, "Median": "–", "Best": "–"}],
            hide_index=True,
        )
        if manage:
            st.download_button("Export CSV", data=functools.partial(board_csv, rows),
                               file_name=f"class-{code}.csv", mime="text/csv", key="class-csv",
                               on_click="ignore", icon=":material/download:", disabled=not rows)
    with curves:
        board = [{"label": row.nickname, "recipe": recipe(row.arch), "arch": row.arch,
                  "val_iterations": row.val_iterations, "val_accuracy": row.val_accuracies} for row in rows]
        chart(board_curves_figure(board, height=340), chart_texts.board_text(board), key="class-curves")
    if not rows:
        st.info("Runs appear here within seconds of a student finishing one.", icon=":material/hourglass_empty:")
    for row in reversed(rows):  # the newest first
        _board_row(room, code, row, manage, me)


def _board_row(room: Classroom, code: str, row: BoardRow, manage: bool, me: str) -> None:
    with board_run_block(row.run_id):
        name, score, links, action = st.columns([3, 1.2, 2, 1], vertical_alignment="center")
        with name:
            st.markdown(f"**{plain(row.nickname)}** · {plain(recipe(row.arch))}")
            st.caption(plain(f"{hyperparameters(row.config)} · {row.iterations} iterations · "
                             f"{row.finished.strftime('%H:%M UTC')}"))
        score.markdown("### " + ("–" if row.val_accuracy is None else f"{row.val_accuracy:.1%}"))
        with links:
            left, right = st.columns(2)
            with left:
                page_link("inside", "Inside", query={RUN_QUERY: row.run_id})
            with right:
                page_link("draw", "Draw", query={RUN_QUERY: row.run_id})
        if manage:
            action.button("Remove", key=f"board-remove-{row.run_id}", on_click=_change,
                          args=(room.remove_post, code, me, row.run_id))
        elif row.owner == me:
            action.button("Unpost", key=f"board-unpost-{row.run_id}", on_click=_change,
                          args=(room.unpost, code, me, row.run_id))


def _change(change, code: str, who: str, run_id: str) -> None:
    try:
        change(code, who, run_id)
    except UserError as error:
        st.toast(str(error))


def _assignment_form(room: Classroom, info: ClassInfo) -> None:
    """Pin some of Train's settings for the class; the unpinned ones stay the student's choice."""
    default = TrainConfig()
    inputs = {
        "arch": lambda: st.selectbox("Recipe", list(ARCHITECTURE_NAMES), format_func=ARCHITECTURE_NAMES.get,
                                     index=list(ARCHITECTURE_NAMES).index(default.arch), key="assign-arch"),
        "hidden": lambda: st.number_input("Hidden units", 1, value=default.hidden_units, key="assign-hidden"),
        "lr": lambda: st.number_input("Learning rate", 0.00001, 10.0, value=default.learning_rate, format="%.5f",
                                      key="assign-lr"),
        "batch": lambda: st.number_input("Batch size", 1, value=default.batch_size, key="assign-batch"),
        "iterations": lambda: st.number_input("Iterations", 1, value=default.iterations, key="assign-iterations"),
        "augment": lambda: st.checkbox("Augmented digits", value=default.augment, key="assign-augment"),
    }
    chosen = {}
    for key in ASSIGNABLE:
        pin, field = st.columns([1, 3], vertical_alignment="bottom")
        pinned = pin.checkbox("Pin", key=f"assign-pin-{key}")
        with field:
            value = inputs[key]()
        if pinned:
            chosen[key] = "1" if value is True else "0" if value is False else str(value)
    if st.button("Set the assignment", type="primary", key="assign-set"):
        config, problems = config_from_query(chosen, limits=host_limits())
        if problems:
            st.warning(" ".join(problems))
            return
        text = config_to_query(config)
        room.set_assignment(info.code, info.teacher, {key: text[key] for key in chosen} or None)
        st.rerun()


def class_banner() -> None:
    """On /train: "Your class asks: …" for a student of an open class with an assignment.

    The pinned settings are set in Train's link parameters once per assignment
    (the controls read them); a student may still change them, and the banner stays.
    """
    store, owner = run_store(), visitor_owner()
    if store is None or owner is None:
        return
    try:
        joined = Classroom(store).student_classes(owner)
    except UserError:
        return
    info = next((info for info, _nickname in joined if info.is_open and info.assignment), None)
    if info is None:
        return
    pinned = {key: str(value) for key, value in info.assignment.items() if key in ASSIGNABLE}
    st.info(f"Your class asks: {plain(describe_assignment(pinned))}", icon=":material/school:")
    applied = (info.code, tuple(sorted(pinned.items())))
    if st.session_state.get(APPLIED_STATE) != applied:
        st.session_state[APPLIED_STATE] = applied
        for key, value in pinned.items():
            st.query_params[key] = value
