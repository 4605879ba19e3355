"""Whether an input looks like anything the model learned from (the *letter X* case).

A model always names a class, often with high confidence: a drawn X reads as
an "8" at 95 %. What gives such a drawing away is where the model puts it: the
head's input (the top layer's final state, both directions for a bidirectional
model) lands far from the states of the real digits it knows. So
:func:`fit_familiarity` keeps the head inputs of some known digits and sets
the line at the distance (mean over the :data:`NEIGHBOURS` nearest) that only
the most unusual :data:`UNUSUAL_SHARE` of other real, held-out digits cross.
:meth:`Familiarity.is_unlike` says an input is unlike them when it is beyond
that line, or when the model's top probability is under :data:`LOW_CONFIDENCE`.

The known digits are 1,000 training digits and their 1s again with a flag
(:func:`known_digits`), the line set by 500 held-out ones. On the shipped
models (see docs/performance.md) 0–4 % of the drawn digit set is flagged,
every drawn X (the basic RNN: two in three) and 51–80 % of other non-digit
drawings (a star, scribbles, a plus).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_demo.data.augment import BASE_SHARE, FLAG_LABEL, add_flags, flag_parameters
from rnn_demo.data.reduction import reduce_images
from rnn_demo.twins.model import BACKWARD, FORWARD, NumpyModel, softmax

NEIGHBOURS = 5
UNUSUAL_SHARE = 0.05  # of real held-out digits, beyond the line
LOW_CONFIDENCE = 0.5  # a top probability under this is no reading either
KNOWN_FLAGS_SEED = 20261207  # the flags of the known 1s: fixed, apart from any training run's


def known_digits(images, labels, *, flagged_ones: bool) -> np.ndarray:
    """``(n + m, 16, 16)``: the digits ``images`` ``(n, 28, 28)`` reduced, and with
    ``flagged_ones`` their ``m`` 1s again, each written with a flag (a third also
    with a base) as training's augmentation writes them.

    MNIST's 1s are sticks; a European 1 is a digit too, and the shipped models
    read it, so it must not count as unlike every known digit.
    """
    known = reduce_images(images)
    ones = np.flatnonzero(np.asarray(labels) == FLAG_LABEL)
    if not flagged_ones or not len(ones):
        return known
    flags = flag_parameters(len(ones), KNOWN_FLAGS_SEED, 0)
    flags["flag"] = np.ones(len(ones), dtype=bool)
    flags["base"] = np.random.default_rng(KNOWN_FLAGS_SEED).random(len(ones)) < BASE_SHARE
    flagged = add_flags(np.asarray(images)[ones], np.full(len(ones), FLAG_LABEL), flags)
    return np.concatenate([known, reduce_images(flagged)])


def head_inputs(numpy_model: NumpyModel, images, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(n, features)`` what the head reads for ``images`` ``(n, 16, 16)`` (or one
    ``(16, 16)``), and ``(n, classes)`` the class probabilities, from one forward pass;
    ``temperature`` divides the logits first (a model's calibration, 1: none)."""
    forward_pass = numpy_model.forward(images)
    top = forward_pass.records[-1]
    features = [top[FORWARD]["hidden"][:, -1]]
    if BACKWARD in top:  # the backward state after reading every row sits at timestep 0
        features.append(top[BACKWARD]["hidden"][:, 0])
    return np.concatenate(features, axis=-1), softmax(forward_pass.logits / temperature)


def _neighbour_distance(features: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(n,)`` mean Euclidean distance from each row of ``features`` to its nearest reference rows."""
    squared = (
        (features**2).sum(axis=1)[:, None] + (reference**2).sum(axis=1)[None, :] - 2.0 * features @ reference.T
    )
    nearest = np.partition(np.maximum(squared, 0.0), NEIGHBOURS - 1, axis=1)[:, :NEIGHBOURS]
    return np.sqrt(nearest).mean(axis=1)


@dataclass(frozen=True, eq=False)
class Familiarity:
    """The known digits' head inputs ``reference`` ``(n, features)`` and the distance ``limit``."""

    reference: np.ndarray
    limit: float

    def distance(self, features) -> np.ndarray:
        """``(n,)`` mean distance of each head input ``(n, features)`` to its nearest known digits."""
        return _neighbour_distance(np.asarray(features, dtype=np.float64), self.reference)

    def is_unlike(self, features, probabilities) -> np.ndarray:
        """``(n,)`` bool: beyond the line, or read with a top probability under :data:`LOW_CONFIDENCE`."""
        top = np.asarray(probabilities).max(axis=-1)
        return (self.distance(features) > self.limit) | (top < LOW_CONFIDENCE)


def fit_familiarity(numpy_model: NumpyModel, known, held_out) -> Familiarity:
    """A :class:`Familiarity` from ``known`` digits ``(n, 16, 16)`` (n > :data:`NEIGHBOURS`)
    and other real ``held_out`` digits ``(m, 16, 16)`` that set the line."""
    reference, _ = head_inputs(numpy_model, known)
    if len(reference) <= NEIGHBOURS:
        raise ValueError(f"expected more than {NEIGHBOURS} known digits; got {len(reference)}")
    held_out_features, _ = head_inputs(numpy_model, held_out)
    limit = float(np.quantile(_neighbour_distance(held_out_features, reference), 1.0 - UNUSUAL_SHARE))
    return Familiarity(reference, limit)
