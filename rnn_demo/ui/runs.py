"""The visitor's runs from the run store: listed, opened by link, used by the pickers.

A session holds run ids, never models: :func:`run_model` reads a run's twin
from the store when a page needs it, through a small cache shared by the
process (:data:`KEPT_TWINS` twins), so memory stays bounded however many
visitors keep however many runs. Whatever a visitor or a URL wrote (a run's
name, an id) is shown as plain text (:func:`plain`).
"""

from __future__ import annotations

import functools
import html
import re

import streamlit as st

from rnn_demo.app.links import public_link
from rnn_demo.app.models import (
    InteractiveModel,
    run_label,
    run_recipe,
    stored_interactive_model,
    stored_temperature,
)
from rnn_demo.errors import UserError
from rnn_demo.store import NewRun, RunNotFound, RunStore, RunSummary, StoreError
from rnn_demo.store.runs import check_run_id, twin_file_arrays, twin_file_bytes
from rnn_demo.twins.model import NumpyModel
from rnn_demo.twins.twin_file import twin_from_arrays
from rnn_demo.ui.charts import chart
from rnn_demo.ui.markers import run_row_block, run_view_block, runs_count_block
from rnn_demo.ui.navigation import page_link
from rnn_demo.ui.plain import plain
from rnn_demo.ui.resources import run_store
from rnn_demo.ui.visitor import forget_visitor, visitor_owner
from rnn_demo.views import chart_texts, figures

KEPT_TWINS = 8  # twins this process keeps, over all sessions
RUN_QUERY = "run"  # /draw?run=<id> and /inside?run=<id> open that run


@st.cache_resource(show_spinner=False, max_entries=KEPT_TWINS)
def _twin(_store: RunStore, where: str, run_id: str) -> tuple[NumpyModel, float]:
    """The twin of run ``run_id`` of the store at ``where`` and the calibration temperature
    its metadata stores (``_store``: not part of the cache key)."""
    data = _store.twin_bytes(run_id)
    if data is None:
        raise UserError("This run has no model to use (it kept only its curves).")
    arrays, metadata = twin_file_arrays(data)
    return twin_from_arrays(arrays), stored_temperature(metadata)


def run_model(store: RunStore, run: RunSummary) -> InteractiveModel:
    """``run`` as a model for the interactive pages (its twin read once, then cached)."""
    return stored_interactive_model(run, *_twin(store, store.where, run.id))


def visitor_runs(store: RunStore | None = None) -> list[RunSummary]:
    """The visitor's runs, newest first; ``[]`` with no store, no key yet, or a store that fails (said once)."""
    store = store or run_store()
    owner = visitor_owner()
    if store is None or owner is None:
        return []
    try:
        return store.list_runs(owner)
    except StoreError as error:
        st.warning(str(error), icon=":material/database:")
        return []


def linked_run(run_id: str | None) -> RunSummary | None:
    """The run a ``?run=<id>`` link names, or ``None`` (with one sentence when it names none)."""
    store = run_store()
    if run_id is None or store is None:
        return None
    try:
        return store.get_run(check_run_id(run_id), viewer=visitor_owner())
    except (RunNotFound, StoreError) as error:
        st.warning(f"The link's run cannot be opened: {plain(error)}", icon=":material/link_off:")
        return None


def save_upload(data: bytes, name: str, arrays: dict, metadata: dict) -> tuple[str | None, str | None]:
    """Keep an accepted upload as a run of kind ``upload``: (its id, what to tell the visitor).

    The id is ``None`` with no store, no key yet, or a store that refused (the message says so).
    """
    store, owner = run_store(), visitor_owner()
    if store is None or owner is None:
        return None, None
    accuracy, iterations = metadata.get("val_accuracy"), metadata.get("iterations")
    config, history = metadata.get("config"), metadata.get("history")
    run = NewRun(
        kind="upload", status="finished", arch=str(metadata.get("arch") or "custom")[:32], name=name,
        dataset=str(metadata.get("dataset") or "mnist")[:32],
        iterations=iterations if isinstance(iterations, int) and iterations >= 0 else 0,
        val_accuracy=accuracy if isinstance(accuracy, float) else None,
        config=config if isinstance(config, dict) else {}, data_source="uploaded file",
        curves=history if isinstance(history, dict) else {},
        model=data, twin=twin_file_bytes(arrays, metadata),
    )
    try:
        saved = store.save_run(owner, run)
    except StoreError as error:
        return None, f"{error} The model stays in this tab only."
    return saved.id, saved.notice


def curves_of(store: RunStore, run_ids: list[str]) -> list[dict]:
    """The stored curves of ``run_ids`` in the shape :func:`figures.compare_figure` takes."""
    curves = []
    for run_id in run_ids:
        run = store.get_run(run_id)
        history = run.curves or {}
        # Plotly reads tags and entities in a trace's name: the name is escaped to show as typed.
        curves.append({"label": html.escape(run_label(run)), "arch": run.arch,
                       **{name: history.get(name) or [] for name in
                          ("train_loss", "val_iterations", "val_loss", "val_accuracy")}})
    return curves


def download_button(store: RunStore, run: RunSummary, key: str) -> None:
    """Download the run's ``.keras`` file (read from the store only when pressed)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", run.name).strip("_")[:60] or "run"
    st.download_button(
        "Download .keras", data=functools.partial(_model_file, store, run.id), file_name=f"{safe}.keras",
        mime="application/octet-stream", key=key, on_click="ignore", icon=":material/download:",
    )


def _model_file(store: RunStore, run_id: str) -> bytes:
    return store.model_bytes(run_id) or b""


def summary_line(run: RunSummary) -> str:
    """Recipe, iterations, accuracy and when, as plain (escaped) markdown."""
    accuracy = f"{run.val_accuracy:.1%}" if run.val_accuracy is not None else "no accuracy"
    when = run.created.strftime("%Y-%m-%d %H:%M UTC")
    return plain(f"{run_recipe(run)} · {run.iterations} iterations · {accuracy} · {run.status} · {when}")


def open_links(run: RunSummary) -> None:
    """Links that open the run in /inside and /draw (``?run=<id>``)."""
    left, right = st.columns(2)
    with left:
        page_link("inside", "Look inside", query={RUN_QUERY: run.id})
    with right:
        page_link("draw", "Draw on it", query={RUN_QUERY: run.id})


def run_view(run_id: str) -> None:
    """``/runs?id=<id>``: the run read-only, for anyone with the link; one sentence if there is none."""
    store = run_store()
    if store is None:
        st.info("The run store is not available, so this link cannot be opened now.", icon=":material/database:")
        return
    try:
        run = store.get_run(check_run_id(run_id), viewer=visitor_owner())
    except RunNotFound:
        st.warning("This link names no run: it was deleted, has expired, or the address is incomplete.",
                   icon=":material/link_off:")
        return
    with run_view_block(run.id):
        st.subheader(plain(run.name), anchor=False)
        st.markdown(summary_line(run))
        if not run.mine:
            st.caption("Shared with you by its link: you can look, draw and download; only its owner can "
                       "change it.")
        if run.curves:
            curves = curves_of(store, [run.id])
            chart(figures.compare_figure(curves), chart_texts.compare_text(curves), key=f"run-curve-{run.id}")
        open_links(run)
        download_button(store, run, key=f"download-view-{run.id}")


MESSAGE_STATE = "runs_message"  # session_state: what the last change on /runs did, shown once


def _say(message: str) -> None:
    st.session_state[MESSAGE_STATE] = message


def _rename(store: RunStore, run_id: str) -> None:
    try:
        name = store.rename(visitor_owner(), run_id, st.session_state.get(f"rename-text-{run_id}", ""))
        _say(f"Renamed to “{name}”.")
    except (UserError, ValueError) as error:
        _say(str(error))


def _delete(store: RunStore, run_id: str, name: str) -> None:
    try:
        store.delete(visitor_owner(), run_id)
        _say(f"Deleted “{name}”.")
    except (UserError, ValueError) as error:
        _say(str(error))


def _forget(store: RunStore) -> None:
    try:
        count = forget_visitor(store)
        _say(f"Deleted all your runs ({count}).")
    except UserError as error:
        _say(str(error))


def runs_list() -> None:
    """``/runs``: the visitor's runs, each in ``run-row-<id>``, with rename, delete, download, open, compare."""
    store = run_store()
    if store is None:
        st.info("The run store is not available: nothing can be listed now.", icon=":material/database:")
        return
    if visitor_owner() is None:
        st.info("Your browser has not sent its key yet; this page fills in a moment.", icon=":material/key:")
        return
    message = st.session_state.pop(MESSAGE_STATE, None)
    if message:
        st.info(plain(message), icon=":material/info:")
    runs = visitor_runs(store)
    with runs_count_block(len(runs)):
        if not runs:
            st.info("No runs yet. Train one on the Train page or upload a `.keras` file on Draw; it is kept "
                    "here, for this browser, across reloads and restarts.", icon=":material/folder_open:")
            return
        st.caption(f"{len(runs)} runs, newest first. Each has a link that anyone can open read-only.")
        for run in runs:
            _run_row(store, run)
    chosen = [run.id for run in runs if st.session_state.get(f"compare-{run.id}")]
    if len(chosen) >= 2:
        st.subheader("Compared", anchor=False)
        curves = curves_of(store, chosen)
        chart(figures.compare_figure(curves), chart_texts.compare_text(curves), key="runs-compare")
    elif chosen:
        st.caption("Tick one more run to compare their curves.")
    with st.popover("Forget my runs", icon=":material/delete_forever:"):
        st.markdown(f"Delete all {len(runs)} of your runs from the store? This cannot be undone.")
        st.button("Yes, delete them all", type="primary", key="forget-confirm", on_click=_forget, args=(store,))


def _run_row(store: RunStore, run: RunSummary) -> None:
    with run_row_block(run.id):
        top, pick = st.columns([5, 1], vertical_alignment="center")
        with top:
            st.markdown(f"**{plain(run.name)}**")
            st.caption(summary_line(run))
        pick.checkbox("Compare", key=f"compare-{run.id}")
        links, download, rename, delete, share = st.columns([2, 1.4, 1, 1, 0.8], vertical_alignment="center")
        with links:
            open_links(run)
        with download:
            download_button(store, run, key=f"download-{run.id}")
        with rename.popover("Rename", icon=":material/edit:"):
            st.text_input("New name", value=run.name, key=f"rename-text-{run.id}", max_chars=80)
            st.button("Rename", key=f"rename-{run.id}", on_click=_rename, args=(store, run.id))
        with delete.popover("Delete", icon=":material/delete:"):
            st.markdown(f"Delete “{plain(run.name)}”?")
            st.button("Delete it", type="primary", key=f"delete-{run.id}", on_click=_delete,
                      args=(store, run.id, run.name))
        with share.popover("Link", icon=":material/link:"):
            st.caption("Anyone with this link can look at the run, draw on it and download it; only you "
                       "can change it.")
            st.code(public_link("runs", {"id": run.id}, browser_url=st.context.url, on_page="runs"), language=None)


def compare_kept_runs() -> None:
    """On /compare: overlay the curves of any of the visitor's kept runs (chosen by name)."""
    store, kept = run_store(), visitor_runs()
    if store is None or not kept:
        return
    st.subheader("Your kept runs", anchor=False)
    labels = {run.id: run_label(run) for run in kept}  # a multiselect shows its options as plain text
    chosen = st.multiselect("Overlay", list(labels), format_func=labels.get, key="compare_kept",
                            help="Runs kept for this browser (Your runs page): trained here or uploaded.")
    if chosen:
        curves = curves_of(store, chosen)
        chart(figures.compare_figure(curves), chart_texts.compare_text(curves), key="compare_kept_curves")
