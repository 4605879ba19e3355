"""Learn: the four recipes explained, each with a link to the live view it describes."""

import streamlit as st

from rnn_demo.ui import lesson, markers
from rnn_demo.ui.controls import try_it
from rnn_demo.ui.navigation import friendly_errors, page_entry, page_link

page_entry()
step = lesson.requested_step()
if step:  # presenter mode: one step of the lesson, large, with Back/Next
    with friendly_errors():
        lesson.present(step)
    markers.page_ready("learn")
    st.stop()

st.title("Learn: four ways to read a digit row by row")
st.caption("Equations use S for input weights, W for recurrent weights and V for the output layer, "
           "as the chapter does; x_t is row t of the 16×16 image (16 numbers).")
page_link("learn", "**Present this as a lesson** — one idea per step, large type for a projector",
          query={"step": "1"}, icon=":material/co_present:")


st.header("The set-up: an image as a sequence")
st.markdown(
    "Every 28×28 MNIST digit is shrunk to 16×16 by **area averaging**: each new pixel is the "
    "average of the 1.75×1.75 patch of old pixels it covers, with edge pixels counted by the "
    "share of their area inside. The network then reads the 16 rows **top to bottom**, one per "
    "timestep. It is trained with Adam on the softmax cross-entropy for 100 iterations; each "
    "iteration is one step on a fresh random batch of 500 images, so on full MNIST "
    "(60,000 images) the chapter's run sees each image less than once — not many epochs."
)
try_it(("home", "See an image become 16 timesteps", {}),
       ("train", "Train the chapter's recipe", {}))

st.header("Recipe 1 — the basic RNN")
st.markdown(
    "One layer of 64 tanh units. At each timestep the new state mixes the current row with the "
    "previous state; after row 16 a dense layer turns the state into ten scores."
)
st.latex(r"\begin{gathered} "
         r"h_t = \tanh(S\,x_t + W\,h_{t-1} + b), \qquad h_0 = 0 \\ "
         r"\text{scores} = V\,h_{16} + c \end{gathered}")
st.markdown(
    "**Unfolding in time.** Drawn out over the 16 rows, the RNN is a 16-layer feed-forward "
    "network whose layers all share the same S, W and b. That sharing is why it can read a "
    "sequence of any length with a fixed number of weights — something a plain feed-forward "
    "network with one input per pixel cannot do."
)
try_it(("inside", "Watch a basic RNN's state row by row", {"arch": "rnn"}),
       ("train", "Train a basic RNN", {"arch": "rnn"}))

st.header("Recipe 2 — reading both ways: the bidirectional RNN")
st.markdown(
    "Two independent RNNs read the same rows: one top to bottom, one bottom to top. Their last "
    "states are joined, so the classifier sees a summary built from both ends of the digit — "
    "the top of a 7 and the bottom of a 7 each get read last by one of the two."
)
st.latex(r"\begin{gathered} "
         r"\overrightarrow{h}_t = \tanh(\overrightarrow{S} x_t + \overrightarrow{W}\,\overrightarrow{h}_{t-1} + "
         r"\overrightarrow{b}) \\ "
         r"\overleftarrow{h}_t = \tanh(\overleftarrow{S} x_t + \overleftarrow{W}\,\overleftarrow{h}_{t+1} + "
         r"\overleftarrow{b}) \\ "
         r"\text{scores} = V\,[\overrightarrow{h}_{16};\ \overleftarrow{h}_{1}] + c \\ "
         r"V \in \mathbb{R}^{10 \times 128} \end{gathered}")
try_it(("inside", "See both reading directions", {"arch": "birnn"}),
       ("train", "Train a bidirectional RNN", {"arch": "birnn"}))

st.header("Recipe 3 — going deep: three stacked GRU layers")
st.markdown(
    "Stacking gives each timestep more computation: layer 1 reads the rows, layer 2 reads layer "
    "1's sequence of states, layer 3 reads layer 2's. Every layer has **its own** weights. The "
    "chapter's cells are GRUs — gated like an LSTM but with two gates and no separate cell state:"
)
st.latex(r"\begin{gathered} "
         r"z_t = \sigma(S_z x_t + W_z h_{t-1} + b_z) \\ "
         r"r_t = \sigma(S_r x_t + W_r h_{t-1} + b_r) \\ "
         r"\begin{aligned}\tilde h_t = \tanh\big(&S_h x_t + b_h \\ "
         r"&+ r_t \odot (W_h h_{t-1} + b^{(r)}_h)\big)\end{aligned} \\ "
         r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde h_t \end{gathered}")
st.markdown(
    "Stacking is not the only way to deepen an RNN: a small multi-layer perceptron can also be "
    "put between the input and the state, between one state and the next, or between the state "
    "and the output."
)
try_it(("inside", "Look at all three layers", {"arch": "deep"}),
       ("train", "Train the deep GRU", {"arch": "deep"}))

st.header("Why plain RNNs forget: vanishing gradients")
st.markdown(
    "To learn from row 1, the loss's gradient must travel back through every step. Each step "
    "multiplies it by the recurrent weights and by tanh's slope, which is at most 1 and near 0 "
    "where a unit is saturated:"
)
st.latex(r"\frac{\partial h_{16}}{\partial h_1} = \prod_{t=2}^{16} "
         r"\operatorname{diag}\!\big(1 - h_t^2\big)\, W")
st.markdown(
    "Fifteen such factors usually shrink the signal towards zero (it **vanishes**), and "
    "occasionally blow it up (it **explodes**). So a basic RNN learns short-range patterns well "
    "and long-range ones poorly. The LSTM's fix is a second, protected path through time — the "
    "cell state — along which each step only multiplies by the forget gate:"
)
st.latex(r"\frac{\partial C_t}{\partial C_{t-1}} = \operatorname{diag}(f_t) \quad "
         r"\text{(along the cell path)}")
st.markdown(
    "While the forget gate stays near 1 (the chapter starts its bias at 1.0 for exactly this "
    "reason), information and gradient pass through many rows almost unchanged."
)
st.markdown(
    "Does it happen in these models? **Gradients through time** on the Look inside page measures "
    "‖∂L/∂h_t‖ at every row for two models reading the same digit, and says what it finds."
)
try_it(("inside", "Gradients through time: basic RNN vs LSTM", {"arch": "rnn"}),
       ("inside", "See an LSTM's forget gate", {"arch": "lstm"}),
       ("learn", "The lesson's step on it", {"step": str(lesson.step_of("gradients"))}))

st.header("Recipe 4 — the LSTM")
st.markdown(
    "One layer of 64 LSTM units. Three gates, each a sigmoid between 0 (closed) and 1 (open), "
    "decide what is written into the cell, what is kept and what is shown; a fourth tanh layer "
    "proposes the new content:"
)
st.latex(r"\begin{gathered} "
         r"f_t = \sigma(S_f x_t + W_f h_{t-1} + b_f) \\ "
         r"i_t = \sigma(S_i x_t + W_i h_{t-1} + b_i) \\ "
         r"o_t = \sigma(S_o x_t + W_o h_{t-1} + b_o) \\ "
         r"\tilde C_t = \tanh(S_C x_t + W_C h_{t-1} + b_C) \\ "
         r"C_t = f_t \odot C_{t-1} + i_t \odot \tilde C_t \\ "
         r"h_t = o_t \odot \tanh(C_t) \end{gathered}")
try_it(("inside", "Look inside the shipped LSTM", {"arch": "lstm"}),
       ("draw", "Draw a digit for the LSTM", {}),
       ("compare", "Race all four recipes", {}))

st.header("Where the chapter's code slips — and what this app does instead")
st.markdown(
    """
| The chapter's code | What goes wrong | This app |
|---|---|---|
| Its last step, "accuracy on the validation data", evaluates the **cost**; the accuracy function it defines is never called. | The number printed is a loss, not an accuracy. | Reports **both** validation loss and accuracy, live and at the end. |
| The bidirectional model's output weights are 64 × 10. | Joining the forward and backward outputs gives 128 values, so the shapes do not fit. | The bidirectional head is **128 → 10** (parameter counts on the Compare page). |
| The deep RNN passes **one** GRU cell object three times to the multi-layer cell. | All three "layers" would share one set of weights (or fail to build). | Each of the stacked layers is a **new layer with its own weights** (see each layer on the Look inside page). |
| The RNN and LSTM functions take an argument `weight` but use the global `weights`. | The function silently ignores what it is given. | Every model is built by one function from one configuration; nothing global. |
| The LSTM text speaks of "four input layers", then lists three gates. | The fourth is the candidate C̃ₜ, never named. | The Look inside page shows all four: input, forget and output gates **and** the candidate, plus the cell state. |
| The 16×16 images come from `reduceImage`, an image resize from an earlier chapter. | The reduction is not defined in the chapter itself. | One documented **area-average** reduction (`rnn_demo/reduction.py`), used for training, drawing and every page. |
"""
)
markers.page_ready("learn")
