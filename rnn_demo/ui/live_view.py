"""This session's training: starting it, its live view while it runs, its results after.

A :class:`~rnn_demo.app.live_training.LiveTraining` trains in a worker process and
is followed by a background thread. The process holds it by the visitor's owner id
(:func:`live_trainings`), so a reloaded page or a new tab re-attaches to it; the
session keeps it too (``st.session_state["training"]``) and the models it finished
(``"trained"``). Each run is stored for its owner as it ends (:mod:`rnn_demo.app.run_keeping`).
:func:`show_training` is a fragment re-run every :data:`LIVE_VIEW_SECONDS`; :func:`result_summary`
draws a finished run; each view is marked for the tests (:func:`rnn_demo.ui.markers.status_block`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import streamlit as st

from rnn_demo.app.live_training import LiveTraining, LiveTrainings, reattach_seconds
from rnn_demo.app.models import TrainedModel
from rnn_demo.app.run_keeping import KeptRun, StoreKeeper, file_metadata
from rnn_demo.config import ARCHITECTURE_NAMES, TrainConfig
from rnn_demo.store import RunNotFound, StoreError
from rnn_demo.ui.charts import chart
from rnn_demo.ui.markers import last_iteration_block, queue_position_block, status_block
from rnn_demo.ui.resources import (
    SHORT_JOB_WAIT_SECONDS,
    get_dataset,
    host_limits,
    run_store,
    training_queue,
    worker_pool,
)
from rnn_demo.ui.visitor import visitor_owner
from rnn_demo.ui.watch import watch_view
from rnn_demo.views import chart_texts, figures, panels

KEPT_MODELS = 8  # per session, so a long class does not grow a session without bound
MISCLASSIFIED_SHOWN = 24
STOP_KEY = "stop-training"  # the Stop button (a tap target: rnn_demo.ui.layout)
# The live view's pace. Neither end of a run waits for a tick, so the pace only sets
# how smoothly the numbers move and what each visitor's browser costs (every tick
# re-renders the live view). Measured in docs/performance.md.
LIVE_VIEW_SECONDS = 0.5
# The live chart and watch it learn are re-sent every other tick (a tick can come early).
REDRAW_SECONDS = 1.8 * LIVE_VIEW_SECONDS
FINISH_WAIT_SECONDS = 1.0  # the longest a tick waits for the result of a run that is ending
# The longest the live view waits for a new training's first news (its first point, a place in the
# queue), so that the click's own run draws the first point rather than the next tick.
FIRST_POINT_WAIT_SECONDS = 0.5


def _session_watch():
    """A callable telling (from any thread) whether this script's session is still open."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None or not Runtime.exists():
        return lambda: True  # AppTest and bare runs have no runtime to ask
    runtime = Runtime.instance()
    return lambda: runtime.is_active_session(context.session_id)


@st.cache_resource(show_spinner=False)
def live_trainings() -> LiveTrainings:
    """Every visitor's live training in this process, by owner (see docs/architecture.md)."""
    return LiveTrainings(reattach_seconds())


def current_training() -> LiveTraining | None:
    """This session's training (running, or ended but not yet collected); a session with none
    running takes up its owner's latest (after a reload, in another tab) and watches it."""
    training = st.session_state.get("training")
    owner = visitor_owner()
    if owner is None or (training is not None and not training.done):
        return training
    latest = live_trainings().find(owner)
    if latest is not None and latest is not training:
        if training is not None:
            _collect(training)
        latest.watch(_session_watch())
        st.session_state["training"] = training = latest
        st.session_state["model_counter"] = max(st.session_state.get("model_counter", 0), _last_number(latest))
    return training


def _last_number(training: LiveTraining) -> int:
    return training.model_number(len(training.configs) - 1)


def training_running() -> bool:
    training = current_training()
    return training is not None and not training.done


def session_models() -> list[TrainedModel]:
    """Models trained in this session, oldest first; collects a finished training's models."""
    training = current_training()
    if training is not None and training.done:
        _collect(training)
    return st.session_state.setdefault("trained", [])


def _harvested(training: LiveTraining) -> bool:
    return st.session_state.get("harvested") is training  # this session has collected it


def _collect(training: LiveTraining) -> None:
    """Take an ended training's models, error and kept runs into this session (once)."""
    if _harvested(training):
        return
    st.session_state["harvested"] = training
    snapshot = training.snapshot()
    models = st.session_state.setdefault("trained", [])
    models.extend(snapshot.finished)
    del models[:-KEPT_MODELS]
    st.session_state["training_error"] = snapshot.error
    if snapshot.finished:
        st.session_state["latest_model"] = snapshot.finished[-1].number
    st.session_state.setdefault("last_iteration_at", {}).update(snapshot.last_iteration_at)
    kept = st.session_state.setdefault("kept_runs", {})  # model number -> KeptRun
    kept.update(snapshot.kept)
    for number in list(kept)[:-KEPT_MODELS]:
        del kept[number]


def start_training(configs: Sequence[TrainConfig]) -> LiveTraining | None:
    """Start training ``configs`` (one dataset) for this session, unless one runs.

    Data problems and the host's limits are checked here, in the script, so they appear
    as messages at once. A known visitor's runs are stored as they end (with a store).
    """
    if training_running():
        st.warning("A training run is still going; stop it or wait for it first.")
        return None
    dataset = get_dataset(configs[0].dataset)
    for config in configs:
        host_limits().check(config)
    owner, store = visitor_owner(), run_store()
    others = None if owner is None else live_trainings().find(owner)  # another tab's, numbered before
    numbers = max(st.session_state.get("model_counter", 0), 0 if others is None else _last_number(others))
    st.session_state["model_counter"] = numbers + len(configs)
    session_models()  # collect the previous training before replacing it
    st.session_state["training_error"] = None
    keeper = None if owner is None or store is None else StoreKeeper(store, owner, worker_pool(), get_dataset)
    training = LiveTraining(
        configs, worker_pool(), numbers + 1, data_description=dataset.description, owner=owner,
        queue=training_queue(), session_alive=_session_watch(), grace_seconds=reattach_seconds(), keep=keeper,
        budget_seconds=host_limits().max_training_seconds,
    ).start()
    st.session_state["training"] = training
    if owner is not None:
        live_trainings().add(owner, training)
    return training


def _seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _poll_seconds(training: LiveTraining | None) -> float | None:
    """How often the live view redraws: ``None`` once there is nothing left to follow. One pace
    for queued and running trainings alike: a fragment whose ``run_every`` changed between runs
    could lose its browser-side timer (a page stuck on "training" in the load test)."""
    if training is None or training.done:
        return None
    return LIVE_VIEW_SECONDS


def show_training() -> None:
    """The live view of this session's training (nothing when none runs).

    Call it at one place of a page, whether or not a training runs, *after*
    :func:`session_models`: the fragment then keeps one id across full runs, so
    the late ticks of its browser-side timer meet a fragment that draws nothing.
    It draws into a container of its own, so that a late tick cannot clear the
    page's first result element (docs/architecture.md). A queued training has no chart.
    """
    with st.container():
        st.fragment(_live_view, run_every=_poll_seconds(current_training()))()


def _live_view() -> None:
    with st.empty().container():  # one element: the run after the end replaces it at once (Stop goes)
        _live_view_body()


def _live_view_body() -> None:
    training = current_training()
    if training is None or _harvested(training):
        return  # the page draws the results; this is a late tick
    training.wait_for_news(FIRST_POINT_WAIT_SECONDS)  # at once unless the training has just started
    snapshot = training.snapshot()
    if not snapshot.done and _finishing(training, snapshot):
        # The run ends before the next tick: wait for its result here, so the
        # results follow at once rather than at the next tick of the browser's timer.
        training.wait(FINISH_WAIT_SECONDS)
        snapshot = training.snapshot()
    if snapshot.done:
        st.rerun()  # the page draws the results
    if snapshot.keeping_failed:  # told at once: storing what it reached can wait for a new worker
        with status_block("failed"):
            st.error(snapshot.error, icon=":material/error:")
        st.caption("Keeping what the run reached…")
        return
    config = snapshot.config
    last = snapshot.last
    total = len(training.configs)
    heading = f"Training {ARCHITECTURE_NAMES[config.arch]}"
    if total > 1:
        heading += f" — model {snapshot.index + 1} of {total}"
    st.subheader(heading)
    stopping = training.stop_event.is_set()
    stop_help = "Ends training after the current iteration and keeps what the model learned."
    if snapshot.queue_state is not None and snapshot.queue_state.position > 0:
        with status_block("queued"), queue_position_block(snapshot.queue_state.position):
            st.info(snapshot.queue_state.message, icon=":material/hourglass_top:")
        st.button("Leaving the queue…" if stopping else "Leave the queue", on_click=training.stop,
                  disabled=stopping, icon=":material/logout:", help="Gives up your place; nothing is trained.")
        return
    done = last.iteration if last else 0
    with status_block("running"):
        st.progress(done / config.iterations, text=f"iteration {done} of {config.iterations}")
    st.button(  # at the top: on a phone the numbers and the chart below fill the screen
        "Stopping…" if stopping else "Stop", on_click=training.stop, disabled=stopping,
        icon=":material/stop_circle:", type="primary", help=stop_help, key=STOP_KEY,
    )
    columns = st.columns(4)
    columns[0].metric("Training loss", f"{last.train_loss:.3f}" if last else "…")
    columns[1].metric(
        "Validation accuracy", f"{snapshot.val_accuracy[-1]:.1%}" if snapshot.val_accuracy else "…"
    )
    columns[2].metric("Samples/s", f"{last.samples_per_second:,.0f}" if last else "…")
    columns[3].metric("Time left", _seconds(last.seconds_left) if last else "…")
    live = _live_figure(training, snapshot)
    chart(live, chart_texts.training_curves_text(*figures.curves_of(live), iterations=config.iterations), key="live_curve")
    watch_view(training, snapshot, REDRAW_SECONDS)


def _finishing(training: LiveTraining, snapshot) -> bool:
    """Whether the training's last model has run its last iteration (or was asked to stop
    after one), or will before the next tick: only its final scores are left."""
    last = snapshot.last
    if last is None or snapshot.index < len(training.configs) - 1:
        return False
    return (last.iteration >= snapshot.config.iterations or training.stop_event.is_set()
            or last.seconds_left < LIVE_VIEW_SECONDS)


def _live_figure(training: LiveTraining, snapshot):
    """The live curve: built once per run, then given new points at most every
    ``REDRAW_SECONDS`` (its first point at once).

    Later points wait for the next redraw, so a fast run does not re-send its
    chart on every tick of the live view; a redraw changes the run's figure in
    place (:func:`~rnn_demo.views.figures.refresh_training_curves`) instead of
    building one, which would cost tens of milliseconds of the web process per tick.
    """
    run = training.model_number(snapshot.index)
    points = (len(snapshot.train_loss), len(snapshot.val_iterations))
    now = time.monotonic()
    curves = (snapshot.train_loss, snapshot.val_iterations, snapshot.val_loss, snapshot.val_accuracy)
    cached = st.session_state.get("live_figure")  # (model number, points, drawn at, figure)
    if cached is None or cached[0] != run:
        figure = figures.training_curves(*curves, iterations=snapshot.config.iterations)
        cached = st.session_state["live_figure"] = (run, points, now, figure)
    elif cached[1] != points and (cached[1][0] == 0 or now - cached[2] >= REDRAW_SECONDS):
        figure = figures.refresh_training_curves(cached[3], *curves)
        cached = st.session_state["live_figure"] = (run, points, now, figure)
    return cached[3]


def empty_curve(config: TrainConfig) -> None:
    """The frame the live curve will grow into, shown before the first training: the browser
    loads the chart library while the visitor chooses, not after the click (seconds later)."""
    figure = st.session_state.get("empty_curve")
    if figure is None or figure.layout.xaxis.range[1] != config.iterations:
        figure = st.session_state["empty_curve"] = figures.training_curves([], [], [], [], iterations=config.iterations)
    chart(figure, chart_texts.training_curves_text([], [], [], [], iterations=config.iterations), key="empty_curve")


def training_error() -> None:
    """The last training's error, if any, with its status marker (``refused`` or ``failed``)."""
    message = st.session_state.get("training_error")
    if not message:
        return
    training = current_training()
    refused = training is not None and training.queue_state is not None and training.queue_state.refused
    with status_block("refused" if refused else "failed"):
        st.error(message, icon=":material/error:")
    snapshot = training.snapshot() if training is not None else None
    if snapshot is not None and snapshot.train_loss:
        st.caption(f"The curve as far as the training got ({len(snapshot.train_loss)} iterations):")
        curves = (snapshot.train_loss, snapshot.val_iterations, snapshot.val_loss, snapshot.val_accuracy)
        planned = snapshot.config.iterations
        chart(figures.training_curves(*curves, iterations=planned),
              chart_texts.training_curves_text(*curves, iterations=planned), key="failed_curve")
        kept_note(snapshot.kept.get(training.model_number(snapshot.index)),
                  f"a model with its weights of iteration {snapshot.weights[0]}" if snapshot.weights else "a curve")


def kept_note(kept: KeptRun | None, what: str = "one of your runs") -> None:
    """Where a run was stored (its link), and what the store's limits removed, as plain text."""
    if kept is None:
        return
    if kept.run_id is not None:
        st.caption(f"Kept as {what}: [open it]({kept.link}); its link opens it read-only for anyone.")
    if kept.notice:
        st.text(kept.notice)


def result_summary(trained: TrainedModel) -> None:
    """Scores, curve, confusion matrix, mistakes and a download for one finished run."""
    result = trained.result
    heard_at = st.session_state.get("last_iteration_at", {}).get(trained.number)
    with status_block(result.status), last_iteration_block(heard_at):
        if result.status == "diverged":
            st.warning(result.message[:1].upper() + result.message[1:], icon=":material/warning:")
        elif result.status == "stopped":
            st.info(result.message[:1].upper() + result.message[1:] + "; the model keeps what it learned.")
        else:
            st.success(f"{ARCHITECTURE_NAMES[result.config.arch]}: {result.message}.")
    columns = st.columns(4)  # five big numbers did not fit beside the controls
    columns[0].metric("Validation accuracy", f"{result.val_accuracy:.1%}")
    columns[1].metric("Validation loss", f"{result.val_loss:.3f}")
    columns[2].metric("Parameters", f"{result.params:,}")
    columns[3].metric("Training time", f"{result.train_seconds:.1f} s",
                      help=f"{result.samples_per_second:,.0f} training samples per second.")
    dataset = get_dataset(result.dataset)
    curve, confusion = _result_figures(trained, dataset.class_names)
    chart(curve, chart_texts.training_curves_text(*figures.curves_of(curve), iterations=result.config.iterations),
          key=f"curve_{trained.number}")
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Confusion matrix** (validation set)")
        chart(confusion, chart_texts.confusion_text(result.confusion, dataset.class_names))
    with right:
        wrong = np.flatnonzero(result.val_predictions != dataset.y_valid)
        st.markdown(f"**Misclassified validation images**: {len(wrong)} of {result.n_valid}")
        if len(wrong):
            shown = wrong[:MISCLASSIFIED_SHOWN]
            names = dataset.class_names
            captions = [
                f"{names[dataset.y_valid[i]]}→{names[result.val_predictions[i]]}" for i in shown
            ]
            st.html(panels.image_tiles(dataset.valid_sequences[shown], captions))
            st.caption("Each caption reads *true → predicted*.")
    kept = st.session_state.get("kept_runs", {}).get(trained.number)
    kept_note(kept)
    metadata = file_metadata(result)
    st.download_button(
        "Download this model (.keras)", data=lambda: _model_file(trained, metadata, kept),
        file_name=f"rnn_demo_{result.config.arch}_{trained.number}.keras",
        mime="application/octet-stream", on_click="ignore", icon=":material/download:",
    )


def _result_figures(trained: TrainedModel, class_names) -> tuple:
    """``(loss curve, confusion matrix)`` of ``trained``, made once per model shown.

    The curve is the live view's figure of the same run given the final points
    in place, when there is one (building a new one cost ~30 ms of the web
    process between the last iteration and the results); every later rerun of
    the page reuses both figures.
    """
    cached = st.session_state.get("result_figures")  # (model number, curve, confusion)
    if cached is None or cached[0] != trained.number:
        result = trained.result
        history = result.history
        curves = (history.train_loss, history.val_iterations, history.val_loss, history.val_accuracy)
        live = st.session_state.get("live_figure")  # (model number, points, drawn at, figure)
        if live is not None and live[0] == trained.number:
            curve = figures.refresh_training_curves(live[3], *curves)
        else:
            curve = figures.training_curves(*curves, iterations=result.config.iterations)
        confusion = figures.confusion_figure(result.confusion, class_names)
        cached = st.session_state["result_figures"] = (trained.number, curve, confusion)
    return cached[1], cached[2]


def _model_file(trained: TrainedModel, metadata: dict, kept: KeptRun | None) -> bytes:
    """The ``.keras`` file of ``trained``: the stored run's, else written by a worker when the visitor clicks."""
    store = run_store()
    if kept is not None and kept.run_id is not None and store is not None:
        try:
            stored = store.model_bytes(kept.run_id)
        except (StoreError, RunNotFound):
            stored = None  # deleted since, or the store is down: a worker writes it again
        if stored is not None:
            return stored
    return worker_pool().run(
        "model_file", trained.result.config, trained.arrays, metadata,
        wait_for_worker=SHORT_JOB_WAIT_SECONDS,
    )
