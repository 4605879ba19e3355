"""The Look inside page's views: states and gates, gradients through time, step through
time and where the digits live, as tabs of which only the open one is computed and drawn.

Each array is charted beside the rows the network read, with its equation and
one sentence from :mod:`rnn_demo.views.teaching`. The teaching views are short
functions the lesson (:mod:`rnn_demo.ui.lesson`) reuses with presets; each is
marked ``st-key-view-<name>`` (:func:`rnn_demo.ui.markers.view_block`). All
compute with the NumPy twins; the state plane's PCA of the 1,000 validation
digits is fitted once per model (shared for the shipped models).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnn_demo.app.models import InteractiveModel
from rnn_demo.config import ARCHITECTURE_NAMES, ARCHITECTURES
from rnn_demo.data.sources import Dataset
from rnn_demo.twins.gradients import gradient_trace
from rnn_demo.twins.model import FORWARD, ModelTrace
from rnn_demo.twins.projection import (
    final_hidden_states,
    fit_pca,
    hidden_state_paths,
    reading_order,
)
from rnn_demo.ui.charts import chart
from rnn_demo.ui.markers import view_block
from rnn_demo.ui.pickers import DigitInput
from rnn_demo.ui.plain import code, plain
from rnn_demo.ui.resources import shipped_model
from rnn_demo.views import chart_texts, inside_figures
from rnn_demo.views.teaching import (
    ARRAY_ORDER,
    GRADIENTS_EXPLAINED,
    STATE_PLANE_EXPLAINED,
    STEP_THROUGH_EXPLAINED,
    array_label,
    array_note,
    gradient_sentence,
)

SECTIONS = ("States and gates", "Step through time", "Gradients through time", "Where the digits live")
SECTION_PARAMETER = "section"  # /inside?section=<a label of SECTIONS> opens that tab


def section_views(model: InteractiveModel, dataset: Dataset, digit: DigitInput, trace: ModelTrace) -> None:
    """The four views of ``model`` reading ``digit`` (its ``trace``), one tab each.

    Only the open tab is computed and sent, so the page costs one chart, not four
    (each is a few hundred ms of the browser's drawing). The open tab is in the
    URL (``?section=``), so a link opens a view; an unknown one opens the first, and says so.
    """
    asked = st.query_params.get(SECTION_PARAMETER)
    if asked is not None and asked not in SECTIONS:
        st.warning(f"The link asks for the view {code(asked)}, which this page does not have; "
                   "choose one of the tabs below.", icon=":material/link_off:")
    tabs = st.tabs(SECTIONS, key=SECTION_PARAMETER, bind="query-params")
    views = {
        "States and gates": lambda: layer_views(trace, plain(model.label)),
        "Step through time": lambda: step_through_view(trace, dataset.class_names),
        "Gradients through time": lambda: gradient_view([model, second_model_picker(model)], digit),
        "Where the digits live": lambda: state_plane_view(model, dataset, digit),
    }
    for tab, name in zip(tabs, SECTIONS, strict=True):
        if tab.open:
            with tab:
                views[name]()


@st.fragment
def layer_views(trace: ModelTrace, model_label: str) -> None:
    """Tabs: one per layer and direction; inside, one tab per array with its equation.
    ``model_label`` (plain text) names the model above them.

    Only the open tab's chart is built and sent (a deep GRU has twelve): choosing a
    tab reruns this fragment alone, and draws that one.
    """
    layer_count = len({layer.name for layer in trace.layers})
    bidirectional = any(layer.direction == "backward" for layer in trace.layers)
    titles = []
    for layer in trace.layers:
        number = int(layer.name.rsplit("_", 1)[1])
        parts = [f"Layer {number} of {layer_count}"] if layer_count > 1 else []
        if bidirectional:
            parts.append("Backward: reads up" if layer.direction == "backward" else "Forward: reads down")
        titles.append(" · ".join([*(parts or ["Recurrent layer"]), layer.kind.upper()]))
    st.caption(f"Every state and gate of {model_label}, one tab per layer and direction, then one per array.")
    layer_tabs = st.tabs(titles, key="inside_layer_tab", on_change="rerun")
    for tab, layer, title in zip(layer_tabs, trace.layers, titles, strict=True):
        if not tab.open:
            continue
        with tab:
            if layer.direction == "backward":
                st.caption(
                    "This direction reads the rows bottom to top. The chart still puts timestep t "
                    "beside row t: there its state has read rows 16, 15, …, t."
                )
            names = [name for name in ARRAY_ORDER if name in layer.arrays]
            labels = [array_label(layer.kind, name) for name in names]
            array_tabs = st.tabs(labels, key=f"inside_array_tab_{title}", on_change="rerun")
            for array_tab, name, label in zip(array_tabs, names, labels, strict=True):
                if not array_tab.open:
                    continue
                with array_tab:
                    equation, sentence = array_note(layer.kind, name)
                    if equation:  # above the chart: a long equation has no room beside it
                        st.latex(equation)
                    figure_column, note = st.columns([3, 1])
                    chart(inside_figures.state_figure(trace.image, layer.arrays[name], name, label),
                          chart_texts.state_text(layer.arrays[name], f"{label} ({title})"),
                          where=figure_column, key=f"{title}-{name}")
                    note.markdown(sentence)
                    note.caption(f"{layer.units} units × 16 timesteps. Hover for exact values.")


# --- Gradients through time, step through time, where the digits live ---

PLANE_DIGITS = 1000  # validation digits in the state plane
KEPT_PLANES = 4  # per session, for models trained or uploaded here (shipped ones are shared)


def second_model_picker(first: InteractiveModel, *, key: str = "gradient_second") -> InteractiveModel:
    """A shipped model to set beside ``first``: the basic RNN, or the LSTM when ``first`` is one."""
    options = list(ARCHITECTURES)
    default = "lstm" if first.arch == "rnn" else "rnn"
    arch = st.selectbox("Compare with", options, index=options.index(default), key=key,
                        format_func=lambda name: f"Shipped {ARCHITECTURE_NAMES[name]}")
    return shipped_model(arch)


def gradient_view(models: Sequence[InteractiveModel], digit: DigitInput, *, key: str = "gradients",
                  height: int | None = None, notes: DeltaGenerator | None = None) -> None:
    """‖∂L/∂h_t‖ (every layer and direction) and ‖∂L/∂x_t‖ of ``models`` on ``digit``,
    side by side on one log scale, with a sentence computed from the numbers.

    L is the cross-entropy of the digit's true class, or (a drawn digit) of each
    model's own predicted class. ``height`` (px) replaces the figure's own; how to read
    the chart goes under it, or into ``notes`` (the lesson's, beside it).
    """
    panels, bottom = [], []
    for model in models:
        target = digit.label
        if target is None:
            target = int(model.numpy_model.predict_probabilities(digit.image16)[0].argmax())
        gradients = gradient_trace(model.numpy_model, digit.image16, target)
        panels.append({
            "title": model.label, "hidden": gradients.state_gradient_norms,
            "cell": gradients.cell_gradient_norms, "input": gradients.input_gradient_norms,
        })
        bottom.append((model.label, gradients.layer("recurrent_1").hidden_gradient_norms))
    figure = inside_figures.gradient_norms_figure(panels)
    if height is not None:
        figure.update_layout(height=height)
    with view_block("gradients"):
        chart(figure, chart_texts.gradient_norms_text(panels), key=key)
        st.markdown(gradient_sentence(bottom))
        (notes or st).caption(GRADIENTS_EXPLAINED)


def step_through_view(trace: ModelTrace, class_names: Sequence[str], *, key: str = "step_through",
                      array: tuple[str, str] | None = None, notes: DeltaGenerator | None = None) -> None:
    """The reading of ``trace``'s digit as a 16-frame animation played in the browser.

    ``array`` (layer name, array name) presets what the middle panel shows;
    without it the visitor picks any array of a forward-reading layer. How to read it
    goes under it, or into ``notes``.
    """
    choices = {
        (layer.name, name): f"{layer.name.replace('_', ' ')} · {array_label(layer.kind, name)}"
        for layer in trace.layers if layer.direction == FORWARD
        for name in ARRAY_ORDER if name in layer.arrays
    }
    if array is None:
        array = st.selectbox("Show", list(choices), format_func=choices.get, key=f"{key}_array")
    layer = trace.layer(array[0])
    with view_block("step-through"):
        label = array_label(layer.kind, array[1])
        chart(inside_figures.step_through_figure(trace.image, layer.arrays[array[1]], trace.readout_probabilities,
                                                 class_names, state_name=array[1], state_label=label),
              chart_texts.step_through_text(layer.arrays[array[1]], trace.readout_probabilities, class_names, label),
              key=key)
        (notes or st).caption(STEP_THROUGH_EXPLAINED)


@st.cache_resource(show_spinner="Reading the validation digits…", max_entries=16)
def _shipped_planes(model_key: str, dataset_name: str, _model: InteractiveModel, _dataset: Dataset) -> dict:
    return _fit_planes(_model, _dataset)


def _fit_planes(model: InteractiveModel, dataset: Dataset) -> dict:
    """Layer key → (projection, ``(n, 2)`` points) of the validation digits' final states."""
    finals = final_hidden_states(model.numpy_model, dataset.valid_sequences[:PLANE_DIGITS])
    planes = {}
    for layer_key, states in finals.items():
        plane = fit_pca(states)
        planes[layer_key] = (plane, plane.transform(states))
    return planes


def state_planes(model: InteractiveModel, dataset: Dataset) -> dict:
    """:func:`_fit_planes` once per model: shared for shipped models, in the session for others."""
    if model.key.startswith("shipped-"):
        return _shipped_planes(model.key, dataset.name, model, dataset)
    kept = st.session_state.setdefault("state_planes", {})
    cache_key = (model.key, id(model.numpy_model), dataset.name)
    if cache_key not in kept:
        kept[cache_key] = _fit_planes(model, dataset)
        for old in list(kept)[:-KEPT_PLANES]:
            del kept[old]
    return kept[cache_key]


def state_plane_view(model: InteractiveModel, dataset: Dataset, digit: DigitInput, *,
                     key: str = "state_plane", layer_key: str | None = None,
                     notes: DeltaGenerator | None = None) -> None:
    """The validation digits' final states on their first two principal components,
    coloured by class, with ``digit``'s path as it is read; any layer and direction.
    How to read it goes under it, or into ``notes``."""
    planes = state_planes(model, dataset)
    if layer_key is None:
        layer_key = st.selectbox(
            "Layer", list(planes), key=f"{key}_layer",
            format_func=lambda name: name.replace("recurrent_", "layer ").replace("/", ", reading ")
            .replace("forward", "down").replace("backward", "up"),
        )
    plane, points = planes[layer_key]
    path = plane.transform(hidden_state_paths(model.numpy_model, digit.image16)[layer_key])
    labels = dataset.y_valid[:len(points)]
    with view_block("state-plane"):
        chart(inside_figures.state_plane_figure(points, labels, path, dataset.class_names,
                                                path_rows=reading_order(layer_key) + 1,
                                                explained_variance_ratio=plane.explained_variance_ratio),
              chart_texts.state_plane_text(points, labels, path, dataset.class_names), key=key)
        (notes or st).caption(STATE_PLANE_EXPLAINED.format(count=len(points)))
