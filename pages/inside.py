"""Look inside: how the prediction forms, then four views in tabs (every state and gate at
every timestep, the reading played row by row, the gradients through time beside a second
model's, and where the digits live)."""

import streamlit as st

from rnn_demo.config import ARCHITECTURES
from rnn_demo.ui import inside, markers, pickers, resources
from rnn_demo.ui.charts import chart
from rnn_demo.ui.navigation import friendly_errors, page_entry
from rnn_demo.ui.plain import code
from rnn_demo.views import chart_texts, inside_figures

page_entry()

st.title("Look inside the network")
st.caption(
    "Every chart puts timestep t on the same line as input row t: read down a chart to "
    "follow the network as it reads the digit."
)
with friendly_errors():
    extra = []
    arch = st.query_params.get("arch")
    if arch in ARCHITECTURES:
        extra = [resources.shipped_model(arch)]
    elif arch:
        st.warning(f"The link asks for architecture {code(arch)}, which this app does not know; "
                   f"choose one of {', '.join(ARCHITECTURES)}.", icon=":material/link_off:")
    model = pickers.pick_model(extra=extra)
    dataset = resources.get_dataset(model.dataset)
    names = dataset.class_names
    left, right = st.columns([2, 5], gap="large")
    with left:
        digit = pickers.pick_inside_input(dataset)
        trace = model.numpy_model.trace(digit.image16)
        st.metric("Prediction", names[trace.predicted_class], border=True,
                  help=f"{trace.probabilities[trace.predicted_class]:.1%} sure")
        if digit.label is not None:
            st.caption(f"True class: {names[digit.label]}")
    with right:
        st.subheader("How the prediction forms")
        chart(inside_figures.readout_figure(trace.image, trace.readout_probabilities, trace.row_importance, names),
              chart_texts.readout_text(trace.readout_probabilities, trace.row_importance, names), key="readout")
        st.caption(
            "Middle: the class probabilities if the image ended after row t (the model run on "
            "rows 1…t only). Right: how much the final prediction's probability drops when that "
            "one row is blanked — the rows the decision leans on."
        )
    inside.section_views(model, dataset, digit, trace)
markers.page_ready("inside")
