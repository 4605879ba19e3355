"""Compare: several architectures on the same data and seed, curves overlaid."""

import streamlit as st

from rnn_demo.app.compare import comparison_curves, comparison_rows
from rnn_demo.config import ARCHITECTURE_NAMES, ARCHITECTURES, TrainConfig
from rnn_demo.ui import controls, live_view, markers, resources, runs
from rnn_demo.ui.charts import chart
from rnn_demo.ui.navigation import friendly_errors, page_entry
from rnn_demo.views import chart_texts, figures

page_entry()

st.title("Compare architectures")
base = st.session_state.get("train_config", TrainConfig())
st.caption(
    f"Each model is trained one after another on the same data, batches and seed. "
    f"Other settings come from the Train page: {base.hidden_units} hidden units, learning rate "
    f"{base.learning_rate:g}, batch {base.batch_size}, {base.layers} layers for the deep model."
)
with friendly_errors():
    # Pills, not a multiselect: they wrap, so every recipe's full name shows on a phone too.
    archs = st.pills("Architectures", list(ARCHITECTURES), selection_mode="multi", default=list(controls.RECIPES),
                     format_func=ARCHITECTURE_NAMES.get, key="compare_archs")
    middle, right = st.columns(2, vertical_alignment="bottom")
    iterations = middle.number_input("Iterations each", 1, 2000, value=base.iterations, key="compare_iterations")
    seed = right.number_input("Seed", 0, 2**31 - 1, value=base.seed, key="compare_seed")
    st.caption(resources.get_dataset(base.dataset).summary)  # the page's one data line
    if st.button("Train them one after another", type="primary", icon=":material/play_arrow:",
                 disabled=live_view.training_running() or not archs):
        live_view.start_training([base.replace(arch=arch, iterations=int(iterations), seed=int(seed)) for arch in archs])

    models = live_view.session_models()
    live_view.show_training()
    if not live_view.training_running():
        live_view.training_error()

    if models:
        st.subheader("Models trained in this session")
        labels = [trained.label for trained in models]
        chosen = st.pills("Show", labels, selection_mode="multi", default=labels, key="compare_shown")
        shown = [trained for trained in models if trained.label in chosen]
        if shown:
            curves = comparison_curves(shown)
            chart(figures.compare_figure(curves), chart_texts.compare_text(curves), key="compare_curves")
            st.dataframe(
                comparison_rows(shown), hide_index=True,
                # Scores first; the data (one line above the button) last.
                column_order=["model", "validation accuracy", "validation loss", "parameters",
                              "ms / iteration", "samples/s", "iterations", "seed", "status", "data"],
                column_config={
                    "parameters": st.column_config.NumberColumn(format="localized"),
                    "ms / iteration": st.column_config.NumberColumn(format="%.1f"),
                    "samples/s": st.column_config.NumberColumn(format="localized"),
                    "validation accuracy": st.column_config.NumberColumn(format="percent"),
                    "validation loss": st.column_config.NumberColumn(format="%.3f"),
                },
            )
    elif not live_view.training_running():
        st.info("Nothing trained yet in this session: press the button above, or train on the Train page.",
                icon=":material/info:")
    runs.compare_kept_runs()
markers.page_ready("compare")
