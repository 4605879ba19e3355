"""What the app says about each array a cell records: its label, equation and one sentence.

Teaching text lives here, beside the cells' own labels
(:data:`rnn_demo.twins.cells.ARRAY_LABELS`), not in widget code: the Look inside page
shows, for every array of a :class:`~rnn_demo.twins.model.NetworkTrace` layer, the
label from :func:`array_label`, the equation and the sentence from
:data:`ARRAY_NOTES`, in the order :data:`ARRAY_ORDER`. Equations are LaTeX and
use the chapter's letters (S: input weights, W: recurrent weights).
"""

from __future__ import annotations

from dataclasses import dataclass

from rnn_demo.twins.cells import ARRAY_LABELS

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


# --- The teaching views: gradients through time, watch it learn, the lesson ---

WATCH_EXPLAINED = (
    "The same ten validation digits (the first of each class) for every visitor and every run, "
    "read by the model as it is now. Above each: its guess and how sure it is (✓ green: right, ✗ "
    "red: wrong). Below: row by row, what it would answer had the image ended there (one column per "
    "class, darker is surer) — a trained model's answer settles as the rows come in; an untrained "
    "one's never does. Point at a digit to see from which row on it is read right."
)


def _times(ratio: float) -> str:
    """"12×" or "1.4×": a ratio, rounded as a person would say it."""
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _fade(label: str, ratio: float) -> str:
    """How ``ratio`` = ‖∂L/∂h_16‖ / ‖∂L/∂h_1‖ reads for model ``label``."""
    if ratio >= 2:
        return f"in the {label}, ‖∂L/∂h₁‖ is {_times(ratio)} smaller than ‖∂L/∂h₁₆‖"
    if ratio <= 0.5:
        return f"in the {label}, ‖∂L/∂h₁‖ is {_times(1 / ratio)} *larger* than ‖∂L/∂h₁₆‖"
    return f"in the {label}, ‖∂L/∂h₁‖ and ‖∂L/∂h₁₆‖ are about the same size (within {_times(max(ratio, 1 / ratio))})"


def gradient_sentence(models: list[tuple[str, object]]) -> str:
    """One honest sentence on a gradient picture, computed from its numbers.

    ``models``: (label, ``(16,)`` ‖∂L/∂h_t‖ of the bottom layer's forward
    direction) per model. Compares how much the gradient shrinks from the last
    row read (h₁₆, next to the loss) back to the first (h₁), per model; says
    which fades more, or that neither does, whatever the numbers show.
    """
    ratios = []
    for _, norms in models:
        first, last = float(norms[0]), float(norms[-1])
        ratios.append(last / first if first > 0 else float("inf"))
    parts = [_fade(label, ratio) for (label, _), ratio in zip(models, ratios, strict=True)]
    sentence = "On this digit, " + "; ".join(parts) + "."
    if len(models) == 2:
        (first_label, _), (second_label, _) = models
        more, less = (0, 1) if ratios[0] >= ratios[1] else (1, 0)
        gap = ratios[more] / ratios[less] if ratios[less] > 0 else float("inf")
        labels = (first_label, second_label)
        if max(ratios) < 3:
            sentence += (
                " Neither gradient vanishes over these 16 rows: in these models the loss reaches "
                "the first row about as strongly as the last. The vanishing-gradient argument is "
                "about long chains of factors; over 16 rows these weights keep the signal alive "
                "(try other digits, or a model you trained for only a few iterations)."
            )
        elif gap >= 3:
            sentence += (f" The gradient fades {_times(gap)} more on its way back to row 1 in the "
                         f"{labels[more]} than in the {labels[less]}.")
        else:
            sentence += " Both fade by similar amounts on this digit."
    return sentence


GRADIENTS_EXPLAINED = (
    "How strongly the loss L (the cross-entropy of the true class, or of the predicted class for a "
    "drawn digit) reacts to each timestep's hidden state h_t (coloured lines, every layer and "
    "direction) and to each input row x_t (grey). Log scale: each grid line is ten times the one "
    "before. To learn from row t, a network needs ‖∂L/∂h_t‖ to be far from zero."
)
STEP_THROUGH_EXPLAINED = (
    "Press play: the network reads one row per frame. The outlined row is being read; the middle "
    "panel fills in the state up to that row; the bars are the answer it would give if the image "
    "ended there. Drag the slider to stop at any row. (The animation runs in your browser.)"
)
STATE_PLANE_EXPLAINED = (
    "Each dot is one of the {count:,} validation digits: its final hidden state (what the model has "
    "made of the whole digit) projected onto the two directions along which those states vary most "
    "(PCA). Digits of one class should gather together if the model reads them well. The black line "
    "is the chosen digit's state after each row read, from an open circle to a star."
)


@dataclass(frozen=True)
class LessonStep:
    """One step of the lesson: a ``title``, a few sentences (``paragraphs``, Markdown),
    an optional ``equation`` (LaTeX), the live ``view`` it shows (see
    :func:`rnn_demo.ui.lesson.show_view`) and the shipped architecture(s) it uses."""

    title: str
    paragraphs: tuple[str, ...]
    view: str
    archs: tuple[str, ...] = ()
    equation: str = ""


LESSON: tuple[LessonStep, ...] = (
    LessonStep(
        "A digit is a sequence of 16 rows",
        ("A recurrent network reads a sequence one step at a time. Here the sequence is a "
         "handwritten digit, shrunk to 16 × 16 pixels.",
         "Row 1 is read first, row 16 last: **16 timesteps**, each a vector of **16 pixel values**."),
        "sequence",
    ),
    LessonStep(
        "Recipe 1 — the basic RNN carries one state",
        ("At each row the new state mixes that row with the previous state. The same weights "
         "serve every row.",
         "Press **play** and watch the state fill in, and the answer change, row by row."),
        "step_through", ("rnn",),
        r"h_t = \tanh(S\,x_t + W\,h_{t-1} + b)",
    ),
    LessonStep(
        "Recipe 2 — reading both ways",
        ("A bidirectional RNN has two readers: one goes down the rows, the other up. The "
         "classifier sees both final states joined: 64 + 64 = **128** numbers.",
         "Each reader's last word is about a different end of the digit."),
        "both_directions", ("birnn",),
        r"\text{scores} = V\,[\overrightarrow{h}_{16};\ \overleftarrow{h}_{1}] + c",
    ),
    LessonStep(
        "Recipe 3 — going deep: three GRU layers",
        ("Layer 1 reads the rows; layer 2 reads layer 1's states; layer 3 reads layer 2's. "
         "Each layer has **its own** weights.",
         "Higher layers change more slowly: they summarise what the layers below have seen."),
        "deep_layers", ("deep",),
    ),
    LessonStep(
        "Why plain RNNs forget: gradients through time",
        ("To learn from row 1, the error signal must travel back through every later row, "
         "multiplied at each step by W and by tanh's slope.",
         "Below: how big that signal is at each row, for a basic RNN and an LSTM reading the "
         "same digit. Read the sentence under the picture: it is computed from these numbers."),
        "gradients", ("rnn", "lstm"),
        r"\frac{\partial h_{16}}{\partial h_1} = \prod_{t=2}^{16} \operatorname{diag}(1 - h_t^2)\, W",
    ),
    LessonStep(
        "Recipe 4 — the LSTM's gates",
        ("The LSTM keeps a second memory, the **cell state** C, changed only by multiplying by the "
         "forget gate and adding new content.",
         "Forget gate near 1 (yellow): keep. Near 0 (purple): forget. Its bias starts at 1, so "
         "it begins by keeping."),
        "lstm_gates", ("lstm",),
        r"\begin{gathered} C_t = f_t \odot C_{t-1} + i_t \odot \tilde C_t \\ h_t = o_t \odot \tanh(C_t) \end{gathered}",
    ),
    LessonStep(
        "Where the digits live",
        ("Every digit ends as a point: the final hidden state, 64 numbers, flattened to two.",
         "A trained model sorts the classes into regions. The black path is one digit being "
         "read: it wanders, then lands among its own class."),
        "state_plane", ("lstm",),
    ),
    LessonStep(
        "Your turn",
        ("Train a model and **watch it learn**: ten digits, read again every few iterations, go "
         "from guesses to readings.",
         "Then draw your own digit and look inside."),
        "your_turn",
    ),
)
