"""The Train page's controls, kept in step with the page's URL, and links into the pages.

The chosen configuration lives in ``st.session_state["train_config"]`` (widget
state alone is dropped when the visitor switches pages); the URL always holds
it (:mod:`rnn_demo.app.links`), so a teacher can copy the address to share a set-up.
"""

from __future__ import annotations

import streamlit as st

from rnn_demo.app.limits import duration_text, estimated_seconds
from rnn_demo.app.links import QUERY_FIELDS, config_from_query, config_to_query
from rnn_demo.config import ARCHITECTURE_NAMES, ARCHITECTURES, BOUNDS, DATASETS, TrainConfig
from rnn_demo.ui.navigation import page_link
from rnn_demo.ui.plain import code
from rnn_demo.ui.resources import gpu_status, host_limits

RECIPES = ("rnn", "birnn", "deep", "lstm")  # the chapter's four, in its order
DEVICE_NAMES = {"auto": "Auto", "cpu": "CPU", "gpu": "GPU"}
SETTINGS_KEY = "train-settings"  # the expander of the Train page's controls

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
    # None while the workers start: then a GPU may be chosen, and a worker says if there is none.
    status = gpu_status()
    gpus, backend = status if status is not None else (None, None)
    stored = st.session_state.get("train_config", TrainConfig())
    query = {key: st.query_params[key] for key in QUERY_FIELDS if key in st.query_params}
    if query and query != {key: config_to_query(stored)[key] for key in query}:
        stored, problems = config_from_query(query, gpus_available=gpus is None or bool(gpus),
                                             limits=host_limits(), quote=code)
        for problem in problems:
            st.warning(problem, icon=":material/link_off:")
        _set_widgets(stored)
    elif any(key not in st.session_state for key in _WIDGETS.values()):
        _set_widgets(stored)
    else:
        # Sent again on every run: a rerun that overtakes the page's first widgets (the visitor
        # key's answer does) leaves the browser without their values, showing each at its minimum.
        for key in _WIDGETS.values():
            st.session_state[key] = st.session_state[key]

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
    device_options = ["auto", "cpu", "gpu"] if gpus or gpus is None else ["auto", "cpu"]
    if st.session_state["w_device"] not in device_options:
        st.session_state["w_device"] = "auto"
    right.radio("Device", device_options, format_func=DEVICE_NAMES.get, key="w_device", horizontal=True)
    if gpus is None:
        right.caption("GPU: the training workers are starting; they will say whether there is one.")
    elif not gpus:
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


def fits_budget(config: TrainConfig) -> bool:
    """Whether ``config`` can finish within the host's time budget per training (the Train button's test)."""
    return host_limits().budget_refusal(config) is None


def settings_panel():
    """The expander the Train page's controls live in (:func:`train_controls` inside it): open
    until the visitor presses Train (:func:`fold_settings`), and whenever they open it again."""
    return st.expander("Settings", expanded=True, key=SETTINGS_KEY, on_change="rerun", icon=":material/tune:")


def fold_settings() -> None:
    """Train's callback: fold the settings, so that on a phone (one column) the live view
    comes right under the button that was pressed instead of ~1,800 px further down."""
    st.session_state[SETTINGS_KEY] = False


def time_estimate(config: TrainConfig) -> None:
    """The estimate before the click; the refusal (marked ``budget-refusal``) when it cannot fit the budget.

    Drawn outside :func:`settings_panel`, so a refusal shows with the settings folded."""
    refusal = host_limits().budget_refusal(config)
    if refusal:
        with st.container(key="budget-refusal"):
            st.error(refusal, icon=":material/timer_off:")
    else:
        st.caption(f"About {duration_text(estimated_seconds(config))} on this server "
                   f"(its budget: {duration_text(host_limits().max_training_seconds)} per training).")


def try_it(*links: tuple[str, str, dict[str, str]]) -> None:
    """A row of links to the live views a text talks about: (page name, label, URL query) each."""
    for column, (name, label, query) in zip(st.columns(len(links)), links, strict=True):
        with column:
            page_link(name, label, query=query, icon=":material/arrow_forward:")
