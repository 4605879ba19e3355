"""The teaching views' parts without a browser: the watched digits, the gradient
sentence, the lesson, and the weights a training sends."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_demo.compute.jobs import run_job, weights_interval
from rnn_demo.config import TrainConfig
from rnn_demo.twins.twin_file import twin_from_arrays
from rnn_demo.views.teaching import LESSON, gradient_sentence
from rnn_demo.views.watch import read_watch_digits, watch_indices


def test_the_watched_digits_are_the_first_of_each_class(embedded_digits):
    indices = watch_indices(embedded_digits.y_valid)
    assert list(embedded_digits.y_valid[indices]) == list(range(10))
    for label, index in enumerate(indices):
        assert not np.any(embedded_digits.y_valid[:index] == label)
    assert list(watch_indices(np.array([3, 1, 3, 1]))) == [1, 0]  # absent classes are skipped
    with pytest.raises(ValueError, match=r"\(n,\)"):
        watch_indices(np.zeros((2, 2)))


def test_the_gradient_sentence_reads_the_numbers_it_is_given():
    flat = np.ones(16)
    vanishing = np.r_[1e-3, np.ones(15)]
    sentence = gradient_sentence([("basic RNN", vanishing), ("LSTM", np.r_[0.2, np.ones(15)])])
    assert "basic RNN, ‖∂L/∂h₁‖ is 1,000× smaller" in sentence and "LSTM, ‖∂L/∂h₁‖ is 5.0× smaller" in sentence
    assert "fades 200× more on its way back to row 1 in the basic RNN than in the LSTM" in sentence
    reversed_roles = gradient_sentence([("basic RNN", flat), ("LSTM", vanishing)])
    assert "in the LSTM than in the basic RNN" in reversed_roles  # no canned claim
    neither = gradient_sentence([("basic RNN", flat), ("LSTM", np.r_[0.8, np.ones(15)])])
    assert "Neither gradient vanishes" in neither and "about the same size" in neither
    assert "larger" in gradient_sentence([("basic RNN", np.r_[10.0, np.ones(15)])])


def test_the_lesson_covers_the_four_recipes_and_the_gradient_argument():
    views = [step.view for step in LESSON]
    assert {"rnn", "birnn", "deep", "lstm"} <= {arch for step in LESSON for arch in step.archs}
    assert "gradients" in views and "state_plane" in views and "step_through" in views
    assert all(1 <= len(step.paragraphs) <= 3 for step in LESSON)


class _Collect:
    def __init__(self):
        self.events = []

    def report(self, event):
        self.events.append(event)

    def stop_requested(self):
        return False


def test_training_sends_its_weights_every_few_iterations(embedded_digits):
    channel = _Collect()
    config = TrainConfig(arch="gru", hidden_units=16, iterations=7, batch_size=100)
    record, arrays = run_job("train", (config, None, 3), channel)
    snapshots = [payload for kind, payload in channel.events if kind == "weights"]
    assert [iteration for iteration, _ in snapshots] == [3, 6, 7]  # and always the last
    last = snapshots[-1][1]
    assert set(last) == set(arrays) and all(np.array_equal(last[name], arrays[name]) for name in arrays)
    first = twin_from_arrays(snapshots[0][1])
    reading = read_watch_digits(first, embedded_digits.valid_sequences[:4])
    assert reading.readout.shape == (4, 16, 10) and reading.guesses.shape == (4,)
    assert np.allclose(reading.probabilities, first.predict_probabilities(embedded_digits.valid_sequences[:4]),
                       atol=1e-6)
    silent = _Collect()
    run_job("train", (config.replace(iterations=2), None, 0), silent)
    assert not [kind for kind, _ in silent.events if kind == "weights"]
    assert weights_interval(100) == 4 and weights_interval(2000) == 80 and weights_interval(3) == 1


def test_a_live_training_keeps_only_the_latest_weights():
    from rnn_demo.app.live_training import LiveTraining

    training = LiveTraining([TrainConfig(iterations=4)], pool=None, first_number=1)
    assert training.snapshot().weights is None
    training._record(("weights", (2, {"a": np.zeros(1)})))
    training._record(("weights", (4, {"a": np.ones(1)})))
    iteration, arrays = training.snapshot().weights
    assert iteration == 4 and arrays["a"][0] == 1
