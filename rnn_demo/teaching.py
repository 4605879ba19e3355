"""What the app says about each array a cell records: its label, equation and one sentence.

Teaching text lives here, beside the cells' own labels
(:data:`rnn_demo.cells.ARRAY_LABELS`), not in widget code: the Look inside page
shows, for every array of a :class:`~rnn_demo.trace.NetworkTrace` layer, the
label from :func:`array_label`, the equation and the sentence from
:data:`ARRAY_NOTES`, in the order :data:`ARRAY_ORDER`. Equations are LaTeX and
use the chapter's letters (S: input weights, W: recurrent weights).
"""

from __future__ import annotations

from rnn_demo.cells import ARRAY_LABELS

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
# Labels where the shared one (ARRAY_LABELS) covers two cell kinds.
KIND_LABELS = {("lstm", "candidate"): "candidate C̃", ("gru", "candidate"): "candidate h̃"}
ARRAY_ORDER = ("hidden", "pre_activation", "input_gate", "forget_gate", "candidate", "cell",
               "output_gate", "update_gate", "reset_gate")


def array_label(kind: str, name: str) -> str:
    """The label of array ``name`` of a ``kind`` cell ("rnn", "gru" or "lstm")."""
    return KIND_LABELS.get((kind, name), ARRAY_LABELS[name])


def array_note(kind: str, name: str) -> tuple[str, str]:
    """(equation, sentence) for array ``name`` of a ``kind`` cell; empty strings if none."""
    return ARRAY_NOTES[kind].get(name, ("", ""))
