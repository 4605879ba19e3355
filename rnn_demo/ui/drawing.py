"""The Draw page's canvas and the prediction beside it, redrawn as the pen moves.

The canvas is a small Components v2 element of our own (:data:`CANVAS_JS`): it
draws white ink on black at the size and pen of
:data:`rnn_demo.data.canvas.CANVAS_PIXELS` / :data:`~rnn_demo.data.canvas.STROKE_WIDTH`
and sends its picture as a PNG the moment a stroke ends, and every
:data:`SEND_EVERY_MS` while the pen moves (``streamlit-drawable-canvas`` sends
only on mouse-up, too late for an answer as you draw; see docs/performance.md).
Turning the picture into the model's input is
:func:`rnn_demo.data.canvas.preprocess_canvas`, tested on its own.

Canvas and prediction are one fragment (:func:`draw_and_predict`): a stroke
re-runs only it, and its panel is plain HTML (:mod:`rnn_demo.views.panels`), so
nothing but the answer travels and redraws.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import streamlit as st

from rnn_demo.app.models import InteractiveModel
from rnn_demo.data.canvas import (
    CANVAS_PIXELS,
    STROKE_WIDTH,
    NothingDrawn,
    preprocess_canvas,
    rgba_from_data_url,
)
from rnn_demo.data.sources import Dataset
from rnn_demo.ui.markers import drawn_strokes_block
from rnn_demo.ui.pickers import DigitInput, open_inside, pick_validation_digit
from rnn_demo.views import figures, panels

SEND_EVERY_MS = 100  # while the pen moves; a stroke's end is sent at once
DRAW_MODES = ("Draw", "Pick a validation digit")

# One canvas per mount, kept on its parent element across re-renders (the
# function runs again whenever Streamlit redraws the element). Strokes are
# drawn as Fabric's PencilBrush draws them (the drawn-digit test set's
# renderer copies that): quadratic curves through the midpoints of successive
# pointer positions, round caps and joins.
CANVAS_JS = """
const CANVASES = new WeakMap();

function mid(a, b) { return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }; }

function create(parentElement, data) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = data.size;
  Object.assign(canvas.style, {
    width: data.size + "px", height: data.size + "px", touchAction: "none",
    cursor: "crosshair", borderRadius: "6px", display: "block", background: data.paper,
  });
  parentElement.appendChild(canvas);
  // The paper is the element's background, not pixels: the picture sent is ink
  // on transparent, which preprocess_canvas reads straight from the alpha channel.
  const context = canvas.getContext("2d");
  const pad = { canvas, context, points: [], drawing: false, strokes: 0, lastSent: 0, timer: null,
                sequence: 0, data, setStateValue: null };

  // Every picture has a sequence number; Python echoes the one it answered in
  // data.answered, so at most one mid-stroke picture waits in the server's queue
  // (a stroke's end is always sent at once).
  const send = final => {
    clearTimeout(pad.timer);
    pad.timer = null;
    pad.lastSent = performance.now();
    pad.sequence += 1;
    pad.setStateValue("drawing", { image: canvas.toDataURL("image/png"), strokes: pad.strokes, final,
                                   sequence: pad.sequence });
  };
  pad.sendWhileDrawing = () => {
    if (!pad.drawing || pad.data.answered < pad.sequence) return;
    const wait = pad.data.sendEveryMs - (performance.now() - pad.lastSent);
    if (wait <= 0) send(false);
    else if (pad.timer === null) pad.timer = setTimeout(() => { pad.timer = null; pad.sendWhileDrawing(); }, wait);
  };
  const position = event => {
    const box = canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left) * canvas.width / box.width,
             y: (event.clientY - box.top) * canvas.height / box.height };
  };
  const pen = () => {
    context.strokeStyle = context.fillStyle = pad.data.ink;
    context.lineWidth = pad.data.stroke;
    context.lineCap = context.lineJoin = "round";
  };
  canvas.addEventListener("pointerdown", event => {
    if (event.button !== 0) return;
    canvas.setPointerCapture(event.pointerId);
    pad.drawing = true;
    pad.points = [position(event)];
    pen();
    const { x, y } = pad.points[0];
    context.beginPath();
    context.arc(x, y, pad.data.stroke / 2, 0, 2 * Math.PI);
    context.fill();
  });
  canvas.addEventListener("pointermove", event => {
    if (!pad.drawing) return;
    const points = pad.points;
    points.push(position(event));
    const n = points.length;
    const start = n === 2 ? points[0] : mid(points[n - 3], points[n - 2]);
    const end = mid(points[n - 2], points[n - 1]);
    pen();
    context.beginPath();
    context.moveTo(start.x, start.y);
    context.quadraticCurveTo(points[n - 2].x, points[n - 2].y, end.x, end.y);
    context.stroke();
    pad.sendWhileDrawing();
  });
  const lift = () => {
    if (!pad.drawing) return;
    pad.drawing = false;
    const points = pad.points;
    if (points.length > 1) {
      const from = mid(points[points.length - 2], points[points.length - 1]);
      const last = points[points.length - 1];
      pen();
      context.beginPath();
      context.moveTo(from.x, from.y);
      context.lineTo(last.x, last.y);
      context.stroke();
    }
    pad.strokes += 1;
    send(true);
  };
  canvas.addEventListener("pointerup", lift);
  canvas.addEventListener("pointercancel", lift);
  return pad;
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let pad = CANVASES.get(parentElement);
  if (!pad || !parentElement.contains(pad.canvas)) {
    pad = create(parentElement, data);
    CANVASES.set(parentElement, pad);
  }
  pad.data = data;
  pad.setStateValue = setStateValue;
}
"""


@functools.cache
def _canvas_component():
    return st.components.v2.component("rnn_demo.drawing_canvas", js=CANVAS_JS)


def drawing_canvas() -> tuple[DigitInput | str, int | None]:
    """A black canvas with thick white ink, and a Clear button.

    Returns the drawing as an input (or guidance when there is none), and the
    number of finished strokes it shows (``None`` for a picture sent while the
    pen is still moving). A new canvas key (Clear) remounts the component empty.
    """
    generation = st.session_state.setdefault("canvas_generation", 0)
    key = f"canvas_{generation}"
    # The picture this run answers (the component's state before the call): the
    # canvas sends no new mid-stroke picture until the previous one is answered.
    previous = (st.session_state.get(key) or {}).get("drawing") or {}
    result = _canvas_component()(
        data={"size": CANVAS_PIXELS, "stroke": STROKE_WIDTH, "ink": "#FFFFFF", "paper": "#000000",
              "sendEveryMs": SEND_EVERY_MS, "answered": previous.get("sequence", 0)},
        key=key, default={"drawing": None}, on_drawing_change=lambda: None,
        width="content", height="content",
    )

    def clear() -> None:
        st.session_state["canvas_generation"] += 1
        st.session_state.pop("last_drawn", None)

    st.button("Clear", on_click=clear, icon=":material/ink_eraser:")
    drawing = result.get("drawing") if result is not None else None
    if not drawing:
        return preprocess_canvas(None).message, 0
    prepared = preprocess_canvas(rgba_from_data_url(drawing["image"]))
    strokes = int(drawing["strokes"]) if drawing.get("final") else None
    if isinstance(prepared, NothingDrawn):
        return prepared.message, strokes
    digit = DigitInput(prepared.image16, None, "your drawing", prepared.image28)
    st.session_state["last_drawn"] = digit
    return digit, strokes


@st.fragment
def draw_and_predict(model: InteractiveModel, dataset: Dataset, mode: str) -> None:
    """The input (canvas or a validation digit) beside the model's answer; one fragment.

    A stroke, a Clear or another digit re-runs this fragment only: the model
    switch, the uploader and the rest of the page stay as they are.
    """
    left, right = st.columns([2, 3], gap="large")
    strokes = None
    with left:
        if mode == DRAW_MODES[0]:
            st.caption("Draw one digit, large and centred, with the mouse or a finger.")
            digit, strokes = drawing_canvas()
        else:
            digit = pick_validation_digit(dataset, key="draw_digit")
            st.plotly_chart(figures.image_figure(digit.image28, title=digit.source.capitalize(), height=300),
                            key="picked")
    with right, drawn_strokes_block(strokes):
        if isinstance(digit, str):
            st.info(digit, icon=":material/gesture:")
        else:
            prediction_panel(model, digit, dataset.class_names)


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
        st.html(panels.input_picture(digit.image16))
    with right:
        st.caption("How sure it is, class by class")
        st.html(panels.probability_bars(probabilities, class_names))
        if st.button("Look inside this digit", icon=":material/visibility:", type="primary"):
            open_inside(digit)
