"""Augmentation: reproducible, label-preserving, bounded; off leaves training as it was."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_demo.config import ConfigError, TrainConfig
from rnn_demo.data import augment
from rnn_demo.data.augment import (
    FRAME_CENTRE,
    MAX_SHIFT,
    add_flags,
    augment_images,
    augmented_sequences,
    change_thickness,
    flag_parameters,
    identity_parameters,
    iteration_parameters,
    reframe,
)
from rnn_demo.data.reduction import reduce_images
from rnn_demo.engine import batches, training
from rnn_demo.engine.batches import batch_plan
from rnn_demo.engine.training import train


def centre_of_mass(images):
    rows, columns = np.indices(images.shape[1:])
    mass = images.sum(axis=(1, 2))
    return np.stack(
        [(images * rows).sum(axis=(1, 2)) / mass, (images * columns).sum(axis=(1, 2)) / mass], axis=1
    )


def test_parameters_are_reproducible_per_seed_and_iteration():
    first = iteration_parameters(500, seed=3, iteration=7)
    again = iteration_parameters(500, seed=3, iteration=7)
    for key in first:
        assert np.array_equal(first[key], again[key]), key
    assert not np.array_equal(first["scale"], iteration_parameters(500, 3, 8)["scale"])
    assert not np.array_equal(first["scale"], iteration_parameters(500, 4, 7)["scale"])


def test_a_batch_does_not_depend_on_how_iterations_are_chunked(embedded_digits):
    plan = batch_plan(embedded_digits.n_train, 100, 9, seed=5)
    whole = augmented_sequences(embedded_digits.x_train, plan, seed=5, first_iteration=0)
    parts = np.concatenate([
        augmented_sequences(embedded_digits.x_train, plan[:4], seed=5, first_iteration=0),
        augmented_sequences(embedded_digits.x_train, plan[4:], seed=5, first_iteration=4),
    ])
    assert whole.shape == (900, 16, 16) and whole.dtype == np.float32
    assert np.array_equal(whole, parts)
    assert whole.min() >= 0.0 and whole.max() <= 1.0


def test_identity_parameters_give_back_the_image(embedded_digits):
    images = embedded_digits.x_valid[:50]
    unchanged = augment_images(images, identity_parameters(50))
    np.testing.assert_allclose(unchanged, images / 255, atol=1e-6)


def test_a_whole_pixel_shift_moves_the_digit_by_that_pixel(embedded_digits):
    images = embedded_digits.x_valid[:20]
    parameters = identity_parameters(20)
    parameters["shift_rows"] = np.full(20, 2.0)
    parameters["shift_columns"] = np.full(20, -1.0)
    moved = augment_images(images, parameters)
    expected = np.zeros((20, 28, 28), dtype=np.float32)
    expected[:, 2:, :-1] = images[:, :-2, 1:] / 255
    np.testing.assert_allclose(moved, expected, atol=1e-6)


def test_ink_and_centre_stay_within_bounds(embedded_digits):
    images = embedded_digits.x_valid
    augmented = augment_images(images, iteration_parameters(len(images), seed=0, iteration=0))
    original = images / 255
    moved = np.abs(centre_of_mass(augmented) - centre_of_mass(original))
    # A shift of up to MAX_SHIFT per axis, plus what scaling and turning about
    # the field's centre does to a centre of mass that sits near it.
    assert moved.max() <= MAX_SHIFT + 1.5
    ink_ratio = augmented.sum(axis=(1, 2)) / original.sum(axis=(1, 2))
    assert 0.3 < ink_ratio.min() and ink_ratio.max() < 3.0
    assert 0.8 < np.median(ink_ratio) < 1.6
    # Every digit stays a digit: ink left (a faint pen at gain 0.7 on a thinned,
    # softened stroke is the faintest: a third of full ink), and not smeared over the field.
    assert (augmented.max(axis=(1, 2)) > 0.33).all() and np.median(augmented.max(axis=(1, 2))) > 0.9
    assert ((augmented > 0.1).mean(axis=(1, 2)) < 0.6).all()


def test_thickness_adds_ink_thins_removes_it_and_zero_leaves_it(embedded_digits):
    images = embedded_digits.x_valid[:100]
    ink = (images / 255).sum(axis=(1, 2))
    thicker = change_thickness(images, np.ones(100)).sum(axis=(1, 2))
    thinner = change_thickness(images, np.full(100, -0.5)).sum(axis=(1, 2))
    same = change_thickness(images, np.zeros(100))
    assert (thicker > 1.3 * ink).all() and (thinner < 0.9 * ink).all()
    np.testing.assert_allclose(same, images / 255, atol=1e-6)


def test_a_second_dilation_thickens_further(embedded_digits):
    images = embedded_digits.x_valid[:100]
    once = change_thickness(images, np.ones(100)).sum(axis=(1, 2))
    twice = change_thickness(images, np.full(100, 2.0)).sum(axis=(1, 2))
    halfway = change_thickness(images, np.full(100, 1.5)).sum(axis=(1, 2))
    assert (twice > 1.2 * once).all()
    np.testing.assert_allclose(halfway, (once + twice) / 2, rtol=1e-5)


def extents(images, floor=0.1):
    """``(n, 2)`` rows and columns spanned by ink above ``floor``."""
    marked = images > floor
    spans = []
    for axis in (2, 1):
        present = marked.any(axis=axis)
        first, last = present.argmax(axis=1), 27 - present[:, ::-1].argmax(axis=1)
        spans.append(last - first + 1)
    return np.stack(spans, axis=1)


def test_reframing_sizes_the_box_and_centres_the_mass_as_mnist_did(embedded_digits):
    images = embedded_digits.x_valid[:200] / 255
    frame = np.linspace(16, 24, 200)
    framed = reframe(images.astype(np.float32), frame, np.zeros(200), np.zeros(200))
    assert np.abs(extents(framed).max(axis=1) - frame).max() <= 2.0
    offset = np.abs(centre_of_mass(framed) - FRAME_CENTRE)
    assert offset.max() < 0.5 and np.median(offset) < 0.05  # a box grown past the field loses a little ink
    twenty = np.full(200, 20.0)
    centred = reframe(images.astype(np.float32), twenty, np.zeros(200), np.zeros(200))
    moved = reframe(images.astype(np.float32), twenty, np.full(200, 1.0), np.full(200, -1.0))
    np.testing.assert_allclose(centre_of_mass(moved) - centre_of_mass(centred), [[1.0, -1.0]] * 200, atol=0.3)
    untouched = reframe(images.astype(np.float32), np.zeros(200), np.ones(200), np.ones(200))
    np.testing.assert_array_equal(untouched, images.astype(np.float32))


def test_aspect_widens_and_the_elastic_wobble_moves_ink(embedded_digits):
    images = embedded_digits.x_valid[:100]
    wider = identity_parameters(100)
    wider["aspect"] = np.full(100, 1.2)
    widths = extents(augment_images(images, wider))[:, 1]
    assert np.median(widths / extents(images / 255)[:, 1]) > 1.1
    wobbly = identity_parameters(100)
    wobbly["elastic"] = iteration_parameters(100, 0, 0)["elastic"]
    changed = np.abs(augment_images(images, wobbly) - images / 255).sum(axis=(1, 2))
    assert (changed > 1.0).all()


def test_softness_and_gain_change_edges_and_intensity(embedded_digits):
    images = embedded_digits.x_valid[:100]
    soft = identity_parameters(100)
    soft["softness"] = np.ones(100)
    softened = augment_images(images, soft)
    assert ((softened > 0.05).sum(axis=(1, 2)) > ((images / 255) > 0.05).sum(axis=(1, 2))).all()
    faint = identity_parameters(100)
    faint["gain"] = np.full(100, 0.7)
    np.testing.assert_allclose(augment_images(images, faint), 0.7 * images / 255, atol=1e-6)


def test_augmented_digits_are_still_their_digits(embedded_digits):
    """Augmentation changes how a digit is written, not which digit it is: the
    shipped basic RNN, trained with this augmentation, reads augmented versions
    of the 1,000 digits it never trained on almost as well as the digits
    themselves (a variant that no longer looked like its label would be
    misread). The variants are harder by design (faint, soft, wobbly, framed
    larger or smaller): 94.0–95.0 % against 97.2 % for the digits themselves."""
    from rnn_demo.app.shipped import shipped_model_path
    from rnn_demo.twins.twin_file import load_twin, twin_path

    twin = load_twin(twin_path(shipped_model_path("rnn")))
    assert twin.metadata["config"]["augment"] and twin.metadata["config"].get("lr_decay")
    model = twin.numpy_model
    digits = embedded_digits
    clean = (model.predict_logits(digits.valid_sequences).argmax(1) == digits.y_valid).mean()
    for iteration in range(3):
        parameters = iteration_parameters(digits.n_valid, seed=0, iteration=10_000 + iteration)
        augmented = reduce_images(augment_images(digits.x_valid, parameters))
        varied = (model.predict_logits(augmented).argmax(1) == digits.y_valid).mean()
        assert varied > clean - 0.05, (clean, varied)


def _record_step_inputs(monkeypatch):
    """What the engine's compiled training step is fed, batch by batch."""
    seen = []
    original = training._step_function

    def recording(model):
        step = original(model)

        def recorded(x, y):
            seen.append((np.array(x), np.array(y)))
            return step(x, y)

        return recorded

    monkeypatch.setattr(training, "_step_function", recording)
    return seen


def test_off_feeds_the_reduced_digits_in_plan_order_on_feeds_them_augmented(embedded_digits, monkeypatch):
    config = TrainConfig(arch="rnn", iterations=3, batch_size=100, seed=9)
    plan = batch_plan(embedded_digits.n_train, 100, 3, seed=9).reshape(-1)
    seen = _record_step_inputs(monkeypatch)
    train(config, embedded_digits)
    inputs = np.concatenate([x for x, _ in seen])
    assert np.array_equal(inputs, embedded_digits.train_sequences[plan])
    seen.clear()
    train(config.replace(augment=True), embedded_digits)
    inputs = np.concatenate([x for x, _ in seen])
    labels = np.concatenate([y for _, y in seen])
    expected = augmented_sequences(
        embedded_digits.x_train, plan.reshape(3, 100), seed=9, first_iteration=0, labels=embedded_digits.y_train
    )
    assert np.array_equal(inputs, expected)
    assert np.array_equal(labels, embedded_digits.y_train[plan])


def test_augmented_chunks_are_the_whole_plan_and_reproducible(embedded_digits, monkeypatch):
    monkeypatch.setattr("rnn_demo.engine.batches.AUGMENT_CHUNK_ITERATIONS", 2)
    config = TrainConfig(arch="rnn", iterations=5, batch_size=100, seed=1, augment=True)
    seen = _record_step_inputs(monkeypatch)
    chunks = []
    original = batches.augmented_sequences

    def recording(images, plan, seed, first_iteration, labels=None):
        chunks.append((first_iteration, len(plan)))
        return original(images, plan, seed, first_iteration, labels)

    monkeypatch.setattr(batches, "augmented_sequences", recording)
    first = train(config, embedded_digits)
    assert chunks == [(0, 2), (2, 2), (4, 1)]
    assert [len(x) for x, _ in seen] == [100] * 5
    second = train(config, embedded_digits)
    assert first.history.train_loss == second.history.train_loss
    assert first.summary()["config"]["augment"] is True


def test_chapter_recipe_without_augment_keeps_its_recorded_accuracy(embedded_digits):
    """Before augmentation existed: ``train --arch lstm`` (100 iterations, seed 0) scored 0.928."""
    result = train(TrainConfig(arch="lstm"), embedded_digits)
    assert result.val_accuracy == pytest.approx(0.928, abs=0.01)


def test_augment_must_be_a_boolean():
    with pytest.raises(ConfigError, match="augment must be true or false; got 'yes'"):
        TrainConfig(augment="yes")
    assert TrainConfig().augment is False


def test_cli_augment_flag_reaches_the_run():
    completed = subprocess.run(
        [sys.executable, "-m", "rnn_demo", "train", "--arch", "rnn", "--iterations", "20",
         "--augment", "--json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "RNN_DEMO_OFFLINE": "1"},
    )
    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    assert summary["config"]["augment"] is True and summary["iterations"] == 20


def test_group_size_does_not_change_the_result(embedded_digits, monkeypatch):
    plan = batch_plan(embedded_digits.n_train, 100, 6, seed=2)
    reference = augmented_sequences(embedded_digits.x_train, plan, seed=2, first_iteration=10)
    monkeypatch.setattr(augment, "GROUP_IMAGES", 100)
    assert np.array_equal(reference, augmented_sequences(embedded_digits.x_train, plan, 2, 10))


def test_flags_write_some_ones_the_european_way_and_leave_other_digits(embedded_digits):
    """A flagged 1 gains ink up and to the left of its stick's top (and, with a
    base, level with its foot on both sides); the other digits, and the 1s not
    picked, come back as they were; the same seed and iteration flag the same way."""
    images, labels = embedded_digits.x_train[:500], embedded_digits.y_train[:500]
    flags = flag_parameters(500, seed=4, iteration=3)
    flagged = add_flags(images, labels, flags)
    assert flagged.dtype == np.uint8 and flagged.shape == images.shape
    picked = (labels == 1) & flags["flag"]
    assert picked.sum() >= 10 and ((labels == 1) & ~flags["flag"]).sum() >= 10
    np.testing.assert_array_equal(flagged[~picked], images[~picked])
    gained = flagged.astype(int) - images
    assert (gained >= 0).all()
    for index in np.flatnonzero(picked):
        inked_rows = np.flatnonzero((images[index] >= 128).any(axis=1))
        top, foot = inked_rows[0], inked_rows[-1]
        top_column = np.flatnonzero(images[index, top] >= 128).mean()
        # The flag: new ink left of where the stick starts, in the stick's upper half.
        upper_left = gained[index, : (top + foot) // 2 + 1, : int(top_column)]
        assert upper_left.sum() > 255 * 3, index
        if flags["base"][index]:
            foot_columns = np.flatnonzero(images[index, foot] >= 128)
            low = gained[index, foot - 3 :]
            assert low[:, : foot_columns.min()].sum() > 255 and low[:, foot_columns.max() + 1 :].sum() > 255, index
    assert flags["base"][picked].any() and not flags["base"][~flags["flag"]].any()
    again = add_flags(images, labels, flag_parameters(500, seed=4, iteration=3))
    np.testing.assert_array_equal(again, flagged)
    assert not np.array_equal(add_flags(images, labels, flag_parameters(500, seed=4, iteration=4)), flagged)


def test_sequences_without_labels_are_those_before_flags_existed(embedded_digits):
    """Labels turn the flags on; without them (the temperature fit's digits)
    a batch is what it was, and the flags change only the 1s in it."""
    plan = batch_plan(embedded_digits.n_train, 500, 2, seed=0)
    plain = augmented_sequences(embedded_digits.x_train, plan, seed=0, first_iteration=0)
    with_flags = augmented_sequences(
        embedded_digits.x_train, plan, seed=0, first_iteration=0, labels=embedded_digits.y_train
    )
    changed = np.abs(with_flags - plain).sum(axis=(1, 2)) > 0
    ones = embedded_digits.y_train[plan.reshape(-1)] == 1
    assert changed.any() and not changed[~ones].any()
    assert 0.15 < changed[ones].mean() < 0.45  # FLAG_SHARE (0.3) of the 1s
