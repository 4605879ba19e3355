"""Streamlit glue: the only module of the package that imports Streamlit.

What lives here, so that the pages stay short layout scripts:

* **shared, read-only resources** (``st.cache_resource``): the worker pool,
  datasets and the shipped model of each architecture (its NumPy twin, read
  from ``rnn_demo/assets/models/<arch>.npz``). Nothing a visitor trains goes here;
* **per-visitor state** (``st.session_state``): the training job, the models
  trained in this session, the chosen model and the digit handed from /draw to
  /inside;
* **the live view** of a :class:`~rnn_demo.sessions.TrainingJob` (a thread
  that follows a training in a worker process): :func:`live_training` is a
  fragment re-run every half second that draws from the job's buffer;
* **markers** for tests: empty keyed containers (``.st-key-train-status-…``,
  ``.st-key-page-ready-…``) that say what a page shows without reading its text;
* the **training controls**, kept in step with the URL through
  :func:`~rnn_demo.sessions.config_from_query`, so a teacher can share a link;
* widgets used by several pages (model picker, validation-digit picker).

This process never imports Keras or TensorFlow: every Keras job (training,
reading an uploaded ``.keras`` file, writing one for a download, loading a
dataset) runs in a worker process (:mod:`rnn_demo.workers`), and every
interactive view computes with the NumPy twins.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from rnn_demo import figures
from rnn_demo.config import ARCHITECTURE_NAMES, ARCHITECTURES, BOUNDS, DATASETS, TrainConfig
from rnn_demo.data import Dataset
from rnn_demo.errors import UserError
from rnn_demo.executors import make_pool
from rnn_demo.limits import HostLimits, TrainingQueue
from rnn_demo.sessions import (
    POLL_SECONDS,
    QUERY_FIELDS,
    InteractiveModel,
    TrainedModel,
    TrainingJob,
    config_from_query,
    config_to_query,
    uploaded_interactive_model,
)
from rnn_demo.shipped import shipped_model_path
from rnn_demo.twin import load_twin, twin_path

RECIPES = ("rnn", "birnn", "deep", "lstm")  # the chapter's four, in its order
DEVICE_NAMES = {"auto": "Auto", "cpu": "CPU", "gpu": "GPU"}
KEPT_MODELS = 8  # per session, so a long class does not grow a session without bound
# A short job (dataset, upload, download) waits this long for a worker busy training.
SHORT_JOB_WAIT_SECONDS = 60.0
UPLOAD_SECONDS = 60.0  # a file that takes longer to load is treated as hostile
MISCLASSIFIED_SHOWN = 24
# Query-parameter name → (TrainConfig field, parser). Short names keep shared links readable.
# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Show a configuration, data, device or model-file error as ``st.error``.

    Anything else is a bug and propagates (Streamlit's own control-flow
    exceptions derive from ``BaseException`` and pass through untouched).
    """
    try:
        yield
    except Exception as error:
        if not isinstance(error, UserError):
            raise
        st.error(str(error)[:1].upper() + str(error)[1:], icon=":material/error:")


# ------------------------------------------------------------ shared, read-only


@st.cache_resource(show_spinner=False)
def worker_pool():
    """The server's worker processes (or its Ray cluster), one per training slot.

    Started by the first visit and kept warm; every Keras job of every
    session runs there (:mod:`rnn_demo.workers`).
    """
    return make_pool(host_limits().max_concurrent_trainings)


@st.cache_resource(show_spinner="Loading the digits…")
def get_dataset(name: str = "mnist") -> Dataset:
    """The dataset ``name`` as the workers see it (shared by all sessions, never modified).

    Loaded by a worker, so that the same source (and the same split) serves
    training and the pages, and Keras's downloader stays out of this process.
    """
    return worker_pool().run("dataset", name, wait_for_worker=SHORT_JOB_WAIT_SECONDS)


@st.cache_resource(show_spinner=False)
def host_limits() -> HostLimits:
    """The host's caps (``RNN_DEMO_MAX_*`` environment variables), read once."""
    return HostLimits.from_environment()


@st.cache_resource(show_spinner=False)
def training_queue() -> TrainingQueue:
    """The one queue of training slots every session of this server shares."""
    limits = host_limits()
    return TrainingQueue(limits.max_concurrent_trainings, limits.max_waiting)


@st.cache_resource(show_spinner=False)
def gpu_status() -> tuple[list[str], str]:
    """(GPU names the workers' Keras backend sees, backend name)."""
    info = worker_pool().run("warm_up", wait_for_worker=SHORT_JOB_WAIT_SECONDS)
    return info["gpus"], info["backend"]


@st.cache_resource(show_spinner=False)
def shipped_model(arch: str = "lstm") -> InteractiveModel:
    """The shipped model of ``arch`` (its NumPy twin), read once for everyone."""
    twin = load_twin(twin_path(shipped_model_path(arch)))
    meta = twin.metadata
    config = meta.get("config", {})
    accuracy = meta.get("val_accuracy")
    description = (
        f"Shipped with the app: {ARCHITECTURE_NAMES[arch]}, {config.get('hidden_units', 64)} units, "
        f"trained for {meta.get('iterations', '?')} iterations"
        + (" with augmented digits" if config.get("augment") else "")
        + f" on {meta.get('data_description', 'MNIST')}; accuracy on the 1,000 validation digits "
        "it never saw: " + (f"{accuracy:.1%}." if isinstance(accuracy, float) else "unknown.")
    )
    return InteractiveModel(
        f"shipped-{arch}", f"Shipped {ARCHITECTURE_NAMES[arch]}", arch, meta.get("dataset", "mnist"),
        description, twin.numpy_model,
    )


# --------------------------------------------------------- the training bridge


def _session_watch():
    """A callable telling (from any thread) whether this script's session is still open."""
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None or not Runtime.exists():
        return lambda: True  # AppTest and bare runs have no runtime to ask
    runtime = Runtime.instance()
    return lambda: runtime.is_active_session(context.session_id)


def current_job() -> TrainingJob | None:
    """This session's job (running or finished but not yet collected)."""
    return st.session_state.get("job")


def job_running() -> bool:
    job = current_job()
    return job is not None and not job.done


def session_models() -> list[TrainedModel]:
    """Models trained in this session, oldest first; collects a finished job's models."""
    models = st.session_state.setdefault("trained", [])
    job = current_job()
    if job is not None and job.done and not job.harvested:
        job.harvested = True
        snapshot = job.snapshot()
        models.extend(snapshot.finished)
        del models[:-KEPT_MODELS]
        st.session_state["job_error"] = snapshot.error
        if snapshot.finished:
            st.session_state["latest_model"] = snapshot.finished[-1].number
    return models


def start_job(configs: Sequence[TrainConfig]) -> TrainingJob | None:
    """Start training ``configs`` (one dataset) for this session, unless a job runs.

    Data problems and the host's limits are checked here, in the script, so
    they appear as messages at once rather than from the thread.
    """
    if job_running():
        st.warning("A training run is still going; stop it or wait for it first.")
        return None
    dataset = get_dataset(configs[0].dataset)
    for config in configs:
        host_limits().check(config)
    numbers = st.session_state.get("model_counter", 0)
    st.session_state["model_counter"] = numbers + len(configs)
    session_models()  # collect the previous job before replacing it
    st.session_state["job_error"] = None
    job = TrainingJob(
        configs, worker_pool(), numbers + 1, data_description=dataset.description,
        queue=training_queue(), session_alive=_session_watch(),
    ).start()
    st.session_state["job"] = job
    return job


def _seconds(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "…"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def status_block(status: str):
    """A container with the CSS class ``st-key-train-status-<status>``, for what shows a status.

    Browser tests and the load test look for these classes instead of English
    text: ``queued``, ``running``, ``completed``, ``stopped``, ``diverged``,
    ``refused`` or ``failed``. (Streamlit draws no empty container, so each
    one holds the message or progress bar it marks.)
    """
    return st.container(key=f"train-status-{status}")


def page_ready(page: str) -> None:
    """The last element of a page: ``.st-key-page-ready-<page>`` says the script drew everything."""
    with st.container(key=f"page-ready-{page}"):
        st.html('<span class="rnn-page-ready"></span>')


def _poll_seconds(job: TrainingJob | None) -> float | None:
    """How often the live view redraws: ``None`` once there is nothing left to follow.

    One pace for queued and running jobs alike: a fragment whose ``run_every``
    changed between runs could lose its browser-side timer (seen in the load
    test as a page stuck on "training" after its run had finished).
    """
    if job is None or job.done:
        return None
    return POLL_SECONDS


def live_training() -> None:
    """The live view of this session's job (nothing when no job runs).

    Call it at one place of a page, whether or not a job runs, *after*
    :func:`session_models`: the fragment then keeps one id across full runs.
    A fragment with ``run_every`` keeps its browser-side timer until the next
    full run reaches the browser, so ticks sent meanwhile name the fragment
    again; with the id kept they meet a fragment that draws nothing, instead
    of one that no longer exists (a warning in the server log per tick).
    A queued job is shown without its chart (its place in the queue is all there is).
    """
    st.fragment(_live_view, run_every=_poll_seconds(current_job()))()


def _live_view() -> None:
    job = current_job()
    if job is None or job.harvested:
        return  # the page draws the results; this is a late tick
    snapshot = job.snapshot()
    if snapshot.done:
        st.rerun()  # the page draws the results
    config = snapshot.config
    last = snapshot.last
    total = len(job.configs)
    heading = f"Training {ARCHITECTURE_NAMES[config.arch]}"
    if total > 1:
        heading += f" — model {snapshot.index + 1} of {total}"
    st.subheader(heading)
    st.caption(f"Data: {job.data_description}")
    stopping = job.stop_event.is_set()
    stop_help = "Ends training after the current iteration and keeps what the model learned."
    if snapshot.queue_state is not None and snapshot.queue_state.position > 0:
        with status_block("queued"):
            st.info(snapshot.queue_state.message, icon=":material/hourglass_top:")
        st.button("Leaving the queue…" if stopping else "Leave the queue", on_click=job.stop,
                  disabled=stopping, icon=":material/logout:", help="Gives up your place; nothing is trained.")
        return
    done = last.iteration if last else 0
    with status_block("running"):
        st.progress(done / config.iterations, text=f"iteration {done} of {config.iterations}")
    columns = st.columns(4)
    columns[0].metric("Training loss", f"{last.train_loss:.3f}" if last else "…")
    columns[1].metric(
        "Validation accuracy", f"{snapshot.val_accuracy[-1]:.1%}" if snapshot.val_accuracy else "…"
    )
    columns[2].metric("Samples/s", f"{last.samples_per_second:,.0f}" if last else "…")
    columns[3].metric("Time left", _seconds(last.seconds_left) if last else "…")
    st.plotly_chart(_live_figure(job, snapshot), key="live_curve")
    st.button(
        "Stopping…" if stopping else "Stop", on_click=job.stop, disabled=stopping,
        icon=":material/stop_circle:", type="primary", help=stop_help,
    )


def _live_figure(job: TrainingJob, snapshot):
    """The live curve, rebuilt only when a point was added since the last redraw."""
    version = (id(job), snapshot.index, len(snapshot.train_loss), len(snapshot.val_iterations))
    cached = st.session_state.get("live_figure")
    if cached is None or cached[0] != version:
        figure = figures.training_curves(
            snapshot.train_loss, snapshot.val_iterations, snapshot.val_loss, snapshot.val_accuracy,
            iterations=snapshot.config.iterations,
        )
        cached = st.session_state["live_figure"] = (version, figure)
    return cached[1]


def job_error() -> None:
    """The last job's error, if any, with its status marker (``refused`` or ``failed``)."""
    message = st.session_state.get("job_error")
    if not message:
        return
    job = current_job()
    refused = job is not None and job.queue_state is not None and job.queue_state.refused
    with status_block("refused" if refused else "failed"):
        st.error(message, icon=":material/error:")
    snapshot = job.snapshot() if job is not None else None
    if snapshot is not None and snapshot.train_loss:
        st.caption(f"The curve as far as the training got ({len(snapshot.train_loss)} iterations):")
        st.plotly_chart(
            figures.training_curves(
                snapshot.train_loss, snapshot.val_iterations, snapshot.val_loss,
                snapshot.val_accuracy, iterations=snapshot.config.iterations,
            ),
            key="failed_curve",
        )


# -------------------------------------------------------- configuration in URL


# -------------------------------------------------------- the /train controls

_WIDGETS = {
    "dataset": "w_dataset", "arch": "w_arch", "hidden_units": "w_hidden", "layers": "w_layers",
    "learning_rate": "w_lr", "batch_size": "w_batch", "iterations": "w_iterations",
    "seed": "w_seed", "device": "w_device", "augment": "w_augment",
}


def _set_widgets(config: TrainConfig) -> None:
    for name, key in _WIDGETS.items():
        st.session_state[key] = getattr(config, name)


def restore_defaults() -> None:
    """Callback: put every control back to the chapter's recipe (dataset kept)."""
    _set_widgets(TrainConfig(dataset=st.session_state.get("w_dataset", "mnist")))


def train_controls() -> TrainConfig:
    """Draw the training controls; return the chosen config and keep the URL in step.

    The config lives in ``st.session_state["train_config"]`` (widget state alone
    is dropped when the visitor switches pages). A link whose parameters differ
    from it, e.g. a shared one, replaces it; refused values become messages.
    """
    gpus, backend = gpu_status()
    stored = st.session_state.get("train_config", TrainConfig())
    query = {key: st.query_params[key] for key in QUERY_FIELDS if key in st.query_params}
    if query and query != {key: config_to_query(stored)[key] for key in query}:
        stored, problems = config_from_query(query, gpus_available=bool(gpus), limits=host_limits())
        for problem in problems:
            st.warning(problem, icon=":material/link_off:")
        _set_widgets(stored)
    elif any(key not in st.session_state for key in _WIDGETS.values()):
        _set_widgets(stored)

    st.selectbox("Dataset", list(DATASETS), format_func=DATASETS.get, key="w_dataset")
    st.radio(
        "Architecture", list(ARCHITECTURES), format_func=ARCHITECTURE_NAMES.get, key="w_arch",
        captions=[ARCHITECTURES[arch] for arch in ARCHITECTURES],
    )
    arch = st.session_state["w_arch"]
    limits = host_limits()
    st.number_input("Hidden units per layer", 1, limits.upper_bound("hidden_units"), step=8, key="w_hidden")
    st.slider(
        "Layers (deep model only)", 1, limits.upper_bound("layers"), key="w_layers",
        disabled=arch != "deep", help="How many GRU layers the deep recipe stacks (the chapter: 3).",
    )
    st.number_input(
        "Learning rate (Adam)", *BOUNDS["learning_rate"], step=0.001, format="%.5f", key="w_lr",
        help="The chapter uses 0.01. Try 1.0 to watch training diverge.",
    )
    left, right = st.columns(2)
    left.number_input("Batch size", 1, limits.upper_bound("batch_size"), step=100, key="w_batch")
    right.number_input("Iterations", 1, limits.upper_bound("iterations"), step=50, key="w_iterations",
                       help="Each iteration is one Adam step on one fresh random minibatch.")
    left.number_input("Seed", *map(int, BOUNDS["seed"]), step=1, key="w_seed")
    device_options = ["auto", "cpu", "gpu"] if gpus else ["auto", "cpu"]
    if st.session_state["w_device"] not in device_options:
        st.session_state["w_device"] = "auto"
    right.radio("Device", device_options, format_func=DEVICE_NAMES.get, key="w_device", horizontal=True)
    if not gpus:
        right.caption(f"GPU: unavailable — the {backend} backend sees no GPU on this server.")
    st.checkbox(
        "Augment the training digits", key="w_augment",
        help="Each batch shows the network freshly shifted, scaled, rotated, slanted and "
        "thickened versions of its digits, so it reads hand-drawn digits better. Off in the "
        "chapter's recipe.",
    )
    st.button("Restore the chapter's defaults", on_click=restore_defaults, icon=":material/restart_alt:")

    config = TrainConfig(**{name: st.session_state[key] for name, key in _WIDGETS.items()})
    st.session_state["train_config"] = config
    wanted = config_to_query(config)
    # Only write on a change: every write sends the browser a new address, and
    # a redundant one on each rerun (the live view reruns twice a second) is waste.
    if {key: st.query_params.get(key) for key in st.query_params} != wanted:
        st.query_params.from_dict(wanted)
    return config


# --------------------------------------------------------------- results view


def result_summary(trained: TrainedModel) -> None:
    """Scores, curve, confusion matrix, mistakes and a download for one finished run."""
    result = trained.result
    with status_block(result.status):
        if result.status == "diverged":
            st.warning(result.message[:1].upper() + result.message[1:], icon=":material/warning:")
        elif result.status == "stopped":
            st.info(result.message[:1].upper() + result.message[1:] + "; the model keeps what it learned.")
        else:
            st.success(f"{ARCHITECTURE_NAMES[result.config.arch]}: {result.message}.")
    st.caption(f"Data: {result.data_description}")
    columns = st.columns(4)  # five big numbers did not fit beside the controls
    columns[0].metric("Validation accuracy", f"{result.val_accuracy:.1%}")
    columns[1].metric("Validation loss", f"{result.val_loss:.3f}")
    columns[2].metric("Parameters", f"{result.params:,}")
    columns[3].metric("Training time", f"{result.train_seconds:.1f} s",
                      help=f"{result.samples_per_second:,.0f} training samples per second.")
    history = result.history
    st.plotly_chart(
        figures.training_curves(
            history.train_loss, history.val_iterations, history.val_loss, history.val_accuracy,
            iterations=result.config.iterations,
        ),
        key=f"curve_{trained.number}",
    )
    dataset = get_dataset(result.dataset)
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Confusion matrix** (validation set)")
        st.plotly_chart(figures.confusion_figure(result.confusion, dataset.class_names))
    with right:
        wrong = np.flatnonzero(result.val_predictions != dataset.y_valid)
        st.markdown(f"**Misclassified validation images**: {len(wrong)} of {result.n_valid}")
        if len(wrong):
            shown = wrong[:MISCLASSIFIED_SHOWN]
            names = dataset.class_names
            captions = [
                f"{names[dataset.y_valid[i]]}→{names[result.val_predictions[i]]}" for i in shown
            ]
            # Upscaled with nearest-neighbour so the 16×16 pixels stay visible as pixels.
            tiles = [np.kron(dataset.valid_sequences[i], np.ones((4, 4), dtype=np.float32)) for i in shown]
            st.image(tiles, caption=captions, width=64, clamp=True)
            st.caption("Each caption reads *true → predicted*.")
    metadata = {**result.summary(), "history": history.to_dict()}
    st.download_button(
        "Download this model (.keras)", data=lambda: _model_file(trained, metadata),
        file_name=f"rnn_demo_{result.config.arch}_{trained.number}.keras",
        mime="application/octet-stream", on_click="ignore", icon=":material/download:",
    )


def _model_file(trained: TrainedModel, metadata: dict) -> bytes:
    """The ``.keras`` file of ``trained``, written by a worker when the visitor clicks."""
    return worker_pool().run(
        "model_file", trained.result.config, trained.arrays, metadata,
        wait_for_worker=SHORT_JOB_WAIT_SECONDS,
    )


# --------------------------------------------------- pickers shared by pages


def pick_model(*, extra: Sequence[InteractiveModel] = (), key: str = "model_choice") -> InteractiveModel:
    """A switch between the shipped model, ``extra`` ones, uploads and this session's models.

    The choice persists across pages; the newest model trained or uploaded here
    is picked the first time it appears.
    """
    candidates = [
        shipped_model(), *extra, *reversed(st.session_state.get("uploaded_models", [])),
        *(m.as_interactive() for m in reversed(session_models())),
    ]
    by_key = {model.key: model for model in candidates}
    latest = st.session_state.get("latest_model")
    if latest is not None and st.session_state.get("latest_offered") != latest:
        st.session_state["latest_offered"] = latest
        st.session_state[key] = f"session-{latest}"
    if extra and st.session_state.get("extra_offered") != extra[0].key:
        st.session_state["extra_offered"] = extra[0].key
        st.session_state[key] = extra[0].key
    if st.session_state.get(key) not in by_key:
        st.session_state[key] = candidates[0].key
    widget_key = f"{key}_widget"

    def remember() -> None:
        st.session_state[key] = st.session_state[widget_key]

    # The widget's own state is dropped on other pages; ``key`` carries the choice.
    st.session_state[widget_key] = st.session_state[key]
    chosen_key = st.radio(
        "Model", list(by_key), format_func=lambda k: by_key[k].label, key=widget_key,
        on_change=remember, horizontal=True,
    )
    model = by_key[chosen_key]
    st.caption(model.description)
    model_upload(key)
    return model


KEPT_UPLOADS = 3  # per session


def model_upload(choice_key: str) -> None:
    """Let the visitor load a ``.keras`` file trained elsewhere, for this session only.

    Size-capped by the host (``RNN_DEMO_MAX_UPLOAD_MB``) and read only in a
    worker process (Keras's safe mode, from a private temporary folder, checked
    to compute exactly what its NumPy twin computes): a file that crashes or
    hangs the loader costs that worker, never this server. Each file is processed once; its outcome (the
    model, or the message why not) stays while the file stays in the uploader.
    """
    import hashlib

    limits = host_limits()
    with st.expander("Use your own model (.keras)", icon=":material/upload_file:"):
        upload = st.file_uploader(
            "A `.keras` file downloaded from the Train page or saved with `python -m rnn_demo train --out`",
            type=["keras"], key=f"{choice_key}_upload",
            # The browser refuses larger files at once; the exact cap is checked on load.
            max_upload_size=math.ceil(limits.max_upload_mb),
            help=f"Up to {limits.max_upload_mb:g} MB. Loaded in Keras's safe mode: no code "
            "inside the file can run. Only you see it, and only in this session.",
        )
        if upload is None:
            return
        data = upload.getvalue()
        digest = hashlib.sha256(data).hexdigest()[:16]
        outcomes = st.session_state.setdefault("upload_outcomes", {})
        if digest not in outcomes:
            outcomes[digest] = _load_upload(data, upload.name, f"upload-{digest}", limits)
        outcome = outcomes[digest]
        if isinstance(outcome, str):
            st.error(outcome, icon=":material/error:")
            return
        uploaded = st.session_state.setdefault("uploaded_models", [])
        if outcome not in uploaded:
            uploaded.append(outcome)
            del uploaded[:-KEPT_UPLOADS]
            st.session_state[choice_key] = outcome.key
            st.rerun()  # so the model switch above offers (and selects) it
        st.success(f"Loaded {upload.name}: choose it above as “{outcome.label}”.", icon=":material/check:")


def _load_upload(data: bytes, name: str, key: str, limits: HostLimits) -> InteractiveModel | str:
    """The uploaded model for the pages, or the message saying why it was refused."""
    try:
        arrays, metadata = worker_pool().run(
            "read_upload", data, name, limits.max_upload_bytes,
            get_dataset("mnist").valid_sequences[:32],
            timeout=UPLOAD_SECONDS, wait_for_worker=SHORT_JOB_WAIT_SECONDS,
        )
    except UserError as error:
        return str(error)
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
    st.switch_page("app_pages/inside.py")


@st.cache_resource(show_spinner=False)
def example_digit(index: int = 7) -> np.ndarray:
    """``(16, 16)`` one validation digit of the embedded sample (no download, no Keras)."""
    from rnn_demo.data import load_embedded

    return load_embedded().valid_sequences[index]


# ------------------------------------------------------------ draw & predict

CANVAS_PIXELS = 280  # 10 screen pixels per MNIST pixel: big enough for a mouse or a finger
STROKE_WIDTH = 22  # about MNIST's pen: strokes 2–3 pixels wide at 28×28


def drawing_canvas() -> DigitInput | str:
    """A black canvas with thick white ink; returns the drawing as an input, or guidance.

    The canvas component only draws; turning its RGBA image into the model's
    input is :func:`rnn_demo.canvas.preprocess_canvas`, tested on its own.
    A new canvas key (the Clear button) remounts the component empty.
    """
    from streamlit_drawable_canvas import st_canvas

    from rnn_demo.canvas import NothingDrawn, preprocess_canvas

    generation = st.session_state.setdefault("canvas_generation", 0)
    result = st_canvas(
        stroke_width=STROKE_WIDTH, stroke_color="#FFFFFF", background_color="#000000",
        height=CANVAS_PIXELS, width=CANVAS_PIXELS, drawing_mode="freedraw",
        return_image_data=True, key=f"canvas_{generation}",
    )

    def clear() -> None:
        st.session_state["canvas_generation"] += 1
        st.session_state.pop("last_drawn", None)

    st.button("Clear", on_click=clear, icon=":material/ink_eraser:")
    prepared = preprocess_canvas(result.image_data)
    if isinstance(prepared, NothingDrawn):
        return prepared.message
    digit = DigitInput(prepared.image16, None, "your drawing", prepared.image28)
    st.session_state["last_drawn"] = digit
    return digit


def prediction_panel(model: InteractiveModel, digit: DigitInput, class_names: Sequence[str]) -> None:
    """What the model reads and what it predicts for ``digit``, with a way inside."""
    probabilities = model.numpy_model.predict_probabilities(digit.image16)[0]  # (10,)
    predicted = int(probabilities.argmax())
    left, right = st.columns([2, 3])
    with left:
        st.metric(
            "Prediction", class_names[predicted], border=True,
            help=f"{model.label}: the class with the highest probability ({probabilities[predicted]:.1%}).",
        )
        if digit.label is not None:
            verdict = "right" if digit.label == predicted else "wrong"
            st.caption(f"True class: {class_names[digit.label]} — the model is {verdict}.")
        st.caption("What the model reads: the digit shrunk to 16×16, one row per timestep.")
        st.plotly_chart(figures.image_figure(digit.image16, height=200), key="model_input")
    with right:
        st.plotly_chart(figures.probability_figure(probabilities, class_names), key="probabilities")
        if st.button("Look inside this digit", icon=":material/visibility:", type="primary"):
            open_inside(digit)


# ------------------------------------------------------------------ look inside

# Per cell kind, per trace array: the equation (S: input weights, W: recurrent
# weights, as in the chapter) and one sentence on what to look for.
ARRAY_NOTES: dict[str, dict[str, tuple[str, str]]] = {
    "rnn": {
        "hidden": (r"h_t = \tanh(S\,x_t + W\,h_{t-1} + b)",
                   "The only memory a basic RNN has: row t's pixels mixed with the previous state, "
                   "squashed into (−1, 1)."),
        "pre_activation": (r"a_t = S\,x_t + W\,h_{t-1} + b", "What tanh squashes. Beyond ±2 a unit is "
                           "saturated: its slope is nearly 0, so gradients through it vanish."),
    },
    "gru": {
        "hidden": (r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t",
                   "A blend of the old state and the candidate, unit by unit, set by the update gate."),
        "update_gate": (r"z_t = \sigma(S_z x_t + W_z h_{t-1} + b_z)",
                        "Near 1: keep the old state (ignore this row). Near 0: take the candidate."),
        "reset_gate": (r"r_t = \sigma(S_r x_t + W_r h_{t-1} + b_r)",
                       "How much of the old state the candidate may look at."),
        "candidate": (r"\tilde h_t = \tanh\big(S_h x_t + b_h + r_t \odot (W_h h_{t-1} + b^{(r)}_h)\big)",
                      "The new content proposed from this row."),
    },
    "lstm": {
        "hidden": (r"h_t = o_t \odot \tanh(C_t)", "What the cell shows to the next step and to the head."),
        "input_gate": (r"i_t = \sigma(S_i x_t + W_i h_{t-1} + b_i)",
                       "How much of the candidate is written into the cell at this row."),
        "forget_gate": (r"f_t = \sigma(S_f x_t + W_f h_{t-1} + b_f)",
                        "How much of the old cell state is kept (starts near 1: forget bias 1)."),
        "candidate": (r"\tilde C_t = \tanh(S_C x_t + W_C h_{t-1} + b_C)",
                      "The new content this row proposes — the fourth 'layer' beside the three gates."),
        "cell": (r"C_t = f_t \odot C_{t-1} + i_t \odot \tilde C_t",
                 "The long-term memory: changed only by multiplying and adding, so it (and its "
                 "gradient) can travel across many rows."),
        "output_gate": (r"o_t = \sigma(S_o x_t + W_o h_{t-1} + b_o)",
                        "How much of the cell is exposed as the hidden state."),
    },
}
# Tab titles where the shared label (rnn_demo.cells.ARRAY_LABELS) covers two cell kinds.
TAB_LABELS = {("lstm", "candidate"): "candidate C̃", ("gru", "candidate"): "candidate h̃"}
ARRAY_ORDER = ("hidden", "pre_activation", "input_gate", "forget_gate", "candidate", "cell",
               "output_gate", "update_gate", "reset_gate")


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


def layer_views(trace) -> None:
    """Tabs: one per layer and direction; inside, one tab per array with its equation."""
    from rnn_demo.cells import ARRAY_LABELS

    layer_count = len({layer.name for layer in trace.layers})
    bidirectional = any(layer.direction == "backward" for layer in trace.layers)
    titles = []
    for layer in trace.layers:
        number = int(layer.name.rsplit("_", 1)[1])
        parts = [f"Layer {number} of {layer_count}"] if layer_count > 1 else []
        if bidirectional:
            parts.append("Backward: reads up" if layer.direction == "backward" else "Forward: reads down")
        titles.append(" · ".join([*(parts or ["Recurrent layer"]), layer.kind.upper()]))
    for tab, layer, title in zip(st.tabs(titles), trace.layers, titles, strict=True):
        with tab:
            if layer.direction == "backward":
                st.caption(
                    "This direction reads the rows bottom to top. The chart still puts timestep t "
                    "beside row t: there its state has read rows 16, 15, …, t."
                )
            names = [name for name in ARRAY_ORDER if name in layer.arrays]
            labels = [TAB_LABELS.get((layer.kind, name), ARRAY_LABELS[name]) for name in names]
            for array_tab, name, label in zip(st.tabs(labels), names, labels, strict=True):
                with array_tab:
                    equation, sentence = ARRAY_NOTES[layer.kind].get(name, ("", ""))
                    if equation:  # above the chart: a long equation has no room beside it
                        st.latex(equation)
                    chart, note = st.columns([3, 1])
                    chart.plotly_chart(
                        figures.state_figure(trace.image, layer.arrays[name], name, label),
                        key=f"{title}-{name}",
                    )
                    note.markdown(sentence)
                    note.caption(f"{layer.units} units × 16 timesteps. Hover for exact values.")


# ---------------------------------------------------------------------- compare


