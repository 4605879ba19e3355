"""Choosing what the interactive pages show: a model (shipped, one of the visitor's runs, or
trained here) and a digit.

The visitor's runs come from the run store (:mod:`rnn_demo.ui.runs`; the
session holds their ids); an upload is read only in a worker process and kept
as one of their runs. The digit drawn on /draw is handed to /inside through the
session (:func:`open_inside`, :func:`pick_inside_input`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from rnn_demo.app.limits import HostLimits, UploadAllowance
from rnn_demo.app.models import InteractiveModel, run_label, uploaded_interactive_model
from rnn_demo.app.shipped import SHIPPED_ARCHITECTURES
from rnn_demo.data.sources import Dataset
from rnn_demo.engine.model_file import ModelCaps, check_model_file
from rnn_demo.errors import UserError
from rnn_demo.store import RunNotFound
from rnn_demo.ui import runs
from rnn_demo.ui.live_view import session_models
from rnn_demo.ui.navigation import switch_to
from rnn_demo.ui.plain import plain
from rnn_demo.ui.resources import (
    SHORT_JOB_WAIT_SECONDS,
    get_dataset,
    host_limits,
    run_store,
    shipped_label,
    shipped_model,
    training_queue,
    worker_pool,
)
from rnn_demo.ui.visitor import visitor_owner

KEPT_UPLOADS = 3  # per session, when there is no store to keep them
UPLOAD_SECONDS = 60.0  # a file that takes longer to load is treated as hostile
UPLOAD_QUEUE_SECONDS = 30.0  # how long an upload waits for a slot before the visitor is asked to retry
KEPT_OUTCOMES = 8  # per session: what the latest files' reads came to (so a rerun reads none again)
DEFAULT_CHOICE = "shipped-lstm"  # the chapter's recipe
MODEL_HELP = ("Six models ship with the app, one of each kind of network. Below them: the models you "
              "trained or uploaded, and a run a link shared with you.")


@dataclass(frozen=True)
class _Choice:
    """One entry of the model switch: its label, and how to get the model (only when chosen)."""

    label: str
    load: Callable[[], InteractiveModel]


def _choices(extra: Sequence[InteractiveModel]) -> dict[str, _Choice]:
    """The six shipped models, then the linked run, the visitor's stored runs and this tab's unstored models.

    An ``extra`` model takes the place of the shipped one with its key, or follows the shipped ones.
    """
    choices = {f"shipped-{arch}": _Choice(shipped_label(arch), functools.partial(shipped_model, arch))
               for arch in SHIPPED_ARCHITECTURES}
    for model in extra:
        choices[model.key] = _ready(model)
    store = run_store()
    linked = runs.linked_run(st.query_params.get(runs.RUN_QUERY))
    stored = runs.visitor_runs(store)
    for run in ([linked] if linked else []) + stored:
        choices.setdefault(f"run-{run.id}", _Choice(run_label(run),
                                                    functools.partial(runs.run_model, store, run)))
    for model in reversed(st.session_state.get("uploaded_models", [])):
        choices[model.key] = _ready(model)
    kept = _kept_run_ids()
    for trained in reversed(session_models()):
        if trained.number not in kept:
            model = trained.as_interactive()
            choices[model.key] = _ready(model)
    return choices


def _ready(model: InteractiveModel) -> _Choice:
    return _Choice(model.label, lambda: model)


def _kept_run_ids() -> dict[int, str]:
    """This tab's trained models that the store kept: model number -> run id (listed as runs)."""
    kept = st.session_state.get("kept_runs") or {}
    return {number: run.run_id for number, run in kept.items() if getattr(run, "run_id", None)}


def pick_model(*, extra: Sequence[InteractiveModel] = (), key: str = "model_choice") -> InteractiveModel:
    """A drop-down of the six shipped models, ``extra`` ones, the visitor's runs and this tab's models.

    The shipped LSTM is chosen at first; the choice persists across pages; the
    newest model trained or uploaded here, an ``extra`` model (a page's
    ``?arch=`` link) and a run a ``?run=<id>`` link names are picked the first
    time they appear. Only the chosen model is read (a stored run's twin
    through a bounded cache).
    """
    choices = _choices(extra)
    latest = st.session_state.get("latest_model")
    if latest is not None and st.session_state.get("latest_offered") != latest:
        st.session_state["latest_offered"] = latest
        run_id = _kept_run_ids().get(latest)
        st.session_state[key] = f"run-{run_id}" if run_id else f"session-{latest}"
    if extra and st.session_state.get("extra_offered") != extra[0].key:
        st.session_state["extra_offered"] = extra[0].key
        st.session_state[key] = extra[0].key
    linked = st.query_params.get(runs.RUN_QUERY)
    if linked and f"run-{linked}" in choices and st.session_state.get("linked_offered") != linked:
        st.session_state["linked_offered"] = linked
        st.session_state[key] = f"run-{linked}"
    if st.session_state.get(key) not in choices:
        st.session_state[key] = DEFAULT_CHOICE
    widget_key = f"{key}_widget"

    def remember() -> None:
        st.session_state[key] = st.session_state[widget_key]

    # The widget's own state is dropped on other pages; ``key`` carries the choice.
    st.session_state[widget_key] = st.session_state[key]
    # A drop-down: seven entries and more do not fit a row of radio buttons on a phone.
    chosen_key = st.selectbox(
        "Model", list(choices), format_func=lambda k: choices[k].label, key=widget_key,
        on_change=remember, help=MODEL_HELP,
    )
    try:
        model = choices[chosen_key].load()
    except (RunNotFound, UserError) as error:  # deleted meanwhile, or a run with no model
        st.warning(plain(error), icon=":material/link_off:")
        model = shipped_model()
    st.caption(plain(model.description))
    model_upload(key)
    return model


@dataclass(frozen=True)
class _StoredUpload:
    """An upload kept as one of the visitor's runs: its key in the model switch, and what the store said."""

    key: str
    notice: str | None


def model_upload(choice_key: str) -> None:
    """Let the visitor load a ``.keras`` file trained elsewhere, kept as one of their runs.

    Size-capped by the host (``RNN_DEMO_MAX_UPLOAD_MB``) and read only in a
    worker process (Keras's safe mode, from a private temporary folder, checked
    to compute exactly what its NumPy twin computes): a file that crashes or
    hangs the loader costs that worker, never this server. Each file is processed once; its outcome (the
    run's id, the model when there is no store, or the message why not) stays while the file stays
    in the uploader.
    """
    limits = host_limits()
    with st.expander("Use your own model (.keras)", icon=":material/upload_file:"):
        upload = st.file_uploader(
            "A `.keras` file downloaded from the Train page or saved with `python -m rnn_demo train --out`",
            type=["keras"], key=f"{choice_key}_upload",
            # The browser refuses larger files at once; the exact cap is checked on load.
            max_upload_size=math.ceil(limits.max_upload_mb),
            help=f"Up to {limits.max_upload_mb:g} MB. Loaded in Keras's safe mode: no code "
            "inside the file can run. Kept as one of your runs (Your runs page): only you see it, "
            "unless you share its link.",
        )
        if upload is None:
            return
        data = upload.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        outcomes = st.session_state.setdefault("upload_outcomes", {})
        if digest not in outcomes:
            refusal = _allowance(limits).take()
            if refusal is None:
                try:
                    with _upload_slot():
                        outcomes[digest] = _load_upload(data, upload.name, f"upload-{digest}", limits)
                except _ServerBusy as busy:
                    refusal = str(busy)
            if refusal is not None:  # not kept: the same file may be tried again
                st.warning(refusal, icon=":material/hourglass_top:")
                return
            for old in list(outcomes)[:-KEPT_OUTCOMES]:
                del outcomes[old]
        outcome = outcomes[digest]
        if isinstance(outcome, str):
            st.error(plain(outcome), icon=":material/error:")
            return
        if isinstance(outcome, _StoredUpload):
            offered = st.session_state.setdefault("uploads_offered", [])
            if outcome.key not in offered:
                offered.append(outcome.key)
                st.session_state[choice_key] = outcome.key
                st.rerun()  # so the model switch above offers (and selects) it
            if outcome.notice:
                st.info(plain(outcome.notice), icon=":material/info:")
            st.success(f"Loaded {plain(upload.name)} and kept it as one of your runs: choose it above.",
                       icon=":material/check:")
            return
        uploaded = st.session_state.setdefault("uploaded_models", [])
        if outcome not in uploaded:
            uploaded.append(outcome)
            del uploaded[:-KEPT_UPLOADS]
            st.session_state[choice_key] = outcome.key
            st.rerun()  # so the model switch above offers (and selects) it
        st.success(f"Loaded {plain(upload.name)}: choose it above as “{plain(outcome.label)}”.", icon=":material/check:")


class _ServerBusy(UserError):
    """No training slot came free for reading an upload."""


def _allowance(limits: HostLimits) -> UploadAllowance:
    """This session's count and rate of uploads (``RNN_DEMO_MAX_UPLOADS``, ``RNN_DEMO_UPLOAD_INTERVAL_SECONDS``)."""
    if "upload_allowance" not in st.session_state:
        st.session_state["upload_allowance"] = UploadAllowance(limits.max_uploads, limits.upload_interval_seconds)
    return st.session_state["upload_allowance"]


@contextlib.contextmanager
def _upload_slot() -> Iterator[None]:
    """Hold a slot of the training queue while a worker reads an upload (it costs a worker like a
    training), waiting up to :data:`UPLOAD_QUEUE_SECONDS` with the visitor's place shown."""
    queue, ticket, owner = training_queue(), object(), visitor_owner()
    deadline = time.monotonic() + UPLOAD_QUEUE_SECONDS
    place = st.empty()
    try:
        while True:
            state = queue.enter(ticket, owner)
            if state.position == 0 and not state.refused:
                break
            if state.refused or time.monotonic() > deadline:
                raise _ServerBusy("The server is busy with trainings, so it cannot read your file now. "
                                  "Try again in a moment.")
            place.info(f"Waiting for a free slot to read your file: number {state.position} in the queue.",
                       icon=":material/hourglass_top:")
            time.sleep(0.5)
        place.empty()
        yield
    finally:
        queue.leave(ticket)


def _load_upload(data: bytes, name: str, key: str, limits: HostLimits) -> InteractiveModel | _StoredUpload | str:
    """The upload kept as a run (or, with no store, the model for this tab), or why it was refused.

    What can be refused without Keras is refused here, so that a hostile file never
    takes a worker from a training (nor makes the pool replace the worker it failed in).
    """
    caps = ModelCaps(limits.max_hidden_units, limits.max_layers)
    try:
        check_model_file(data, name, caps, limits.max_upload_bytes)
        arrays, metadata = worker_pool().run(
            "read_upload", data, name, limits.max_upload_bytes, get_dataset("mnist").valid_sequences[:32], caps,
            timeout=UPLOAD_SECONDS, wait_for_worker=SHORT_JOB_WAIT_SECONDS,
        )
    except UserError as error:
        return str(error)
    run_id, notice = runs.save_upload(data, name, arrays, metadata)
    if run_id is not None:
        return _StoredUpload(f"run-{run_id}", notice)
    return uploaded_interactive_model(arrays, metadata, name, key)


@dataclass(frozen=True, eq=False)
class DigitInput:
    """An input for the interactive pages: ``image16`` ``(16, 16)`` float32 in [0, 1];
    ``label`` the true class if known; ``source`` says where it came from."""

    image16: np.ndarray
    label: int | None
    source: str
    image28: np.ndarray | None = field(default=None)


def pick_validation_digit(dataset: Dataset, *, key: str) -> DigitInput:
    """A validation image chosen by index (or at random), works where drawing can't."""
    index_key = f"{key}_index"
    st.session_state.setdefault(index_key, 0)

    def random_digit() -> None:
        st.session_state[index_key] = int(np.random.default_rng().integers(dataset.n_valid))

    left, right = st.columns(2, vertical_alignment="bottom")
    left.number_input(f"Validation image (0–{dataset.n_valid - 1})", 0, dataset.n_valid - 1, key=index_key)
    right.button("Random", on_click=random_digit, icon=":material/casino:", key=f"{key}_random")
    index = int(st.session_state[index_key])
    label = int(dataset.y_valid[index])
    return DigitInput(
        dataset.valid_sequences[index], label,
        f"validation image #{index} (a {dataset.class_names[label]})",
        dataset.x_valid[index].astype(np.float32) / 255.0,
    )


def open_inside(digit: DigitInput) -> None:
    """Hand ``digit`` to the /inside page and go there."""
    st.session_state["inside_input"] = digit
    switch_to("inside")


def pick_inside_input(dataset: Dataset) -> DigitInput:
    """The digit handed over from /draw (or last drawn), else a validation digit."""
    handed = st.session_state.get("inside_input") or st.session_state.get("last_drawn")
    options = (["handed", "validation"] if handed is not None else ["validation"])
    labels = {"handed": f"From Draw: {handed.source}" if handed else "", "validation": "A validation digit"}
    if st.session_state.get("inside_source") not in options:
        st.session_state["inside_source"] = options[0]
    st.session_state["inside_source_widget"] = st.session_state["inside_source"]

    def remember() -> None:
        st.session_state["inside_source"] = st.session_state["inside_source_widget"]

    choice = st.radio("Input", options, format_func=labels.get, key="inside_source_widget",
                      on_change=remember, horizontal=True)
    if choice == "handed":
        return handed
    return pick_validation_digit(dataset, key="inside_digit")
