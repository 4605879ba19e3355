"""The lesson: /learn?step=N, one idea per step, for a teacher's projector.

The steps (title, a few sentences, an equation, the live view and the shipped
models it uses) are :data:`rnn_demo.views.teaching.LESSON`; this module draws one of
them in large, high-contrast type with Back/Next buttons that change the URL's
``step`` and a link to the step to share with students. Every view is a
preset of the Look inside page's views (:mod:`rnn_demo.ui.inside`) on one
fixed validation digit, so a step looks the same on every screen.
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnn_demo.app.links import public_link
from rnn_demo.ui import inside
from rnn_demo.ui.charts import chart
from rnn_demo.ui.controls import try_it
from rnn_demo.ui.layout import tap_targets
from rnn_demo.ui.markers import lesson_block, view_block
from rnn_demo.ui.pickers import DigitInput
from rnn_demo.ui.plain import code
from rnn_demo.ui.resources import get_dataset, shipped_model
from rnn_demo.views import chart_texts, figures, inside_figures
from rnn_demo.views.teaching import LESSON, LessonStep, array_label

LESSON_DIGIT = 7  # the validation digit every step reads (a clear one, also Home's example)
NAV_KEY = "lesson-nav"  # Back, Next and Leave, on top of every step
NOTED_VIEWS = ("step_through", "gradients", "state_plane")  # views with a note on how to read them
ARRAY_VIEWS = ("both_directions", "deep_layers", "lstm_gates")  # heatmaps side by side, under the text
LESSON_GRADIENTS_HEIGHT = 340  # px: the chart and the sentence under it fit under the title at 1280×720
LESSON_ARRAY_HEIGHT = 360  # px: the heatmaps fit under the text and its equation at 1280×720
# Readable from the back of a room: large type, near-black on white. On a projector
# (1280×720) a whole step, its Back/Next on top, fits the screen: the page's top padding
# shrinks to the height of Streamlit's header, and the title takes one line.
LESSON_CSS = """<style>
[data-testid="stMainBlockContainer"]:has([class*="st-key-lesson-step-"]) { padding-top: 4rem !important; }
[class*="st-key-lesson-step-"] p, [class*="st-key-lesson-step-"] li {
    font-size: 1.4rem !important; line-height: 1.4 !important; color: #0a0a0a !important; }
[class*="st-key-lesson-step-"] h1 { font-size: 2.4rem !important; padding: 0.25rem 0 0 !important;
    color: #000 !important; }
[class*="st-key-lesson-step-"] [class*="st-key-view-"] p { font-size: 1.2rem !important; }
[class*="st-key-lesson-step-"] .katex { font-size: 1.5em !important; color: #000; }
[class*="st-key-lesson-step-"] [data-testid="stCaptionContainer"] p { font-size: 1.1rem !important;
    line-height: 1.35 !important; color: #222 !important; }
.st-key-lesson-nav button p { font-size: 1.3rem !important; font-weight: 600; }
</style>"""


def requested_step() -> int:
    """The step the URL asks for (``?step=N``, 1 … len(LESSON)); 0 for the full Learn page."""
    raw = st.query_params.get("step")
    if raw is None:
        return 0
    try:
        step = int(raw)
    except ValueError:
        step = -1
    if not 0 <= step <= len(LESSON):
        st.warning(f"The link asks for lesson step {code(raw)}; the lesson has steps 1–{len(LESSON)}. "
                   "Showing the whole Learn page.", icon=":material/link_off:")
        return 0
    return step


def step_of(view: str) -> int:
    """The (1-based) lesson step that shows ``view``."""
    return next(number for number, step in enumerate(LESSON, start=1) if step.view == view)


def _go(step: int) -> None:
    """Callback: show lesson step ``step`` (0: leave the lesson), in the URL too."""
    if step:
        st.query_params["step"] = str(step)
    else:
        st.query_params.pop("step", None)


def _lesson_digit() -> DigitInput:
    dataset = get_dataset("mnist")
    label = int(dataset.y_valid[LESSON_DIGIT])
    return DigitInput(dataset.valid_sequences[LESSON_DIGIT], label,
                      f"validation image #{LESSON_DIGIT} (a {dataset.class_names[label]})")


def present(step: int) -> None:
    """Draw lesson step ``step`` (1-based): Back/Next beside its number on top, its view, its link.

    The buttons come first so that they stay at one place on every step, on screen
    whatever the step's height (a teacher at a projector clicks without scrolling).
    """
    lesson_step = LESSON[step - 1]
    st.html(LESSON_CSS)
    tap_targets(NAV_KEY)
    with lesson_block(step):
        with st.container(key=NAV_KEY, horizontal=True, vertical_alignment="center"):
            st.button("Back", on_click=_go, args=(step - 1,), disabled=step == 1, icon=":material/arrow_back:")
            st.button("Next", on_click=_go, args=(step + 1,), disabled=step == len(LESSON),
                      icon=":material/arrow_forward:", type="primary")
            st.caption(f"Lesson · step {step} of {len(LESSON)}", width="content")
            st.space("stretch")
            st.button("Leave the lesson", on_click=_go, args=(0,), icon=":material/close:")
        st.title(lesson_step.title)
        if lesson_step.view in ARRAY_VIEWS:
            # Two or three heatmaps need the whole width (beside the text, three were about
            # 200 px wide each at 1280×720), so the text goes above them, its equation beside it.
            text, equation = (st.columns([3, 2], gap="large", vertical_alignment="center")
                              if lesson_step.equation else (st.container(), None))
            _write_text(lesson_step, text, equation)
            show_view(lesson_step)
        else:
            text, view = st.columns([2, 3], gap="large")
            _write_text(lesson_step, text, text)
            with view:
                show_view(lesson_step, notes_beside=text)
    st.caption("Link to this step, to share with students:")
    st.code(public_link("learn", {"step": str(step)}, browser_url=st.context.url, on_page="learn"), language=None)


def _write_text(lesson_step: LessonStep, paragraphs: DeltaGenerator, equation: DeltaGenerator | None) -> None:
    """The step's ``paragraphs`` and its ``equation`` (if it has one), each where given."""
    for paragraph in lesson_step.paragraphs:
        paragraphs.markdown(paragraph)
    if lesson_step.equation and equation is not None:
        equation.latex(lesson_step.equation)


def show_view(lesson_step: LessonStep, notes_beside: DeltaGenerator | None = None) -> None:
    """The live view of ``lesson_step``, preset: shipped models on the lesson's digit.

    A view's note on how to read it goes into an expander in ``notes_beside`` (the step's
    text column), so that the chart and the text fit a projector's screen together.
    """
    digit = _lesson_digit()
    notes = None
    if notes_beside is not None and lesson_step.view in NOTED_VIEWS:
        notes = notes_beside.expander("How to read the picture", icon=":material/help:")
    names = get_dataset("mnist").class_names
    models = [shipped_model(arch) for arch in lesson_step.archs]
    if lesson_step.view == "sequence":
        with view_block("sequence"):
            chart(figures.sequence_figure(digit.image16), chart_texts.sequence_text(digit.image16),
                  key="lesson_sequence")
    elif lesson_step.view == "step_through":
        trace = models[0].numpy_model.trace(digit.image16)
        inside.step_through_view(trace, names, key="lesson_step_through", array=("recurrent_1", "hidden"),
                                 notes=notes)
    elif lesson_step.view == "gradients":
        inside.gradient_view(models, digit, key="lesson_gradients", height=LESSON_GRADIENTS_HEIGHT, notes=notes)
    elif lesson_step.view == "state_plane":
        inside.state_plane_view(models[0], get_dataset("mnist"), digit, key="lesson_plane",
                                layer_key="recurrent_1/forward", notes=notes)
    elif lesson_step.view in ("both_directions", "deep_layers", "lstm_gates"):
        _arrays_side_by_side(lesson_step.view, models[0].numpy_model.trace(digit.image16))
    else:
        try_it(("train", "Train a model and watch it learn", {}),
               ("draw", "Draw a digit", {}),
               ("inside", "Look inside", {}))


def _arrays_side_by_side(view: str, trace) -> None:
    """Two or three arrays of ``trace`` next to each other (both directions, each layer, the LSTM's gates)."""
    if view == "lstm_gates":
        layer = trace.layer("recurrent_1")
        shown = [(layer, "forget_gate"), (layer, "cell")]
    else:
        shown = [(layer, "hidden") for layer in trace.layers]
    with view_block(view.replace("_", "-")):
        for column, (layer, name) in zip(st.columns(len(shown)), shown, strict=True):
            title = array_label(layer.kind, name)
            if view == "both_directions":
                title = f"{'reading up' if layer.direction == 'backward' else 'reading down'}: {title}"
            elif view == "deep_layers":
                title = f"{layer.name.replace('recurrent_', 'layer ')}: {title}"
            chart(inside_figures.state_figure(trace.image, layer.arrays[name], name, title, height=LESSON_ARRAY_HEIGHT),
                  chart_texts.state_text(layer.arrays[name], title), where=column,
                  key=f"lesson_{view}_{layer.name}_{layer.direction}_{name}")
