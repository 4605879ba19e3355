"""The training engine, for real: Keras training on the embedded MNIST sample."""

import math
import threading

import keras
import numpy as np
import pytest

from rnn_demo.config import ARCHITECTURES, ConfigError, TrainConfig
from rnn_demo.engine.batches import batch_plan
from rnn_demo.engine.devices import DeviceError, gpu_names
from rnn_demo.engine.scoring import validation_schedule
from rnn_demo.engine.training import DIVERGENCE_LOSS, TF_STEP_OPTIONS, keep_compiled_models, train


def test_chapter_lstm_learns_and_reports_everything(embedded_digits):
    progress = []
    result = train(TrainConfig(arch="lstm"), embedded_digits, on_progress=progress.append)
    assert result.status == "completed" and result.iterations_done == 100
    assert result.val_accuracy >= 0.88
    assert len(result.history.train_loss) == 100 == len(progress)
    assert [p.iteration for p in progress] == list(range(1, 101))
    assert result.history.train_loss[-1] < result.history.train_loss[0] / 3
    scored = [p for p in progress if p.val_accuracy is not None]
    assert [p.iteration for p in scored] == result.history.val_iterations
    assert scored[-1].iteration == 100 and scored[-1].val_accuracy == result.val_accuracy
    assert all(p.samples_per_second > 0 and p.elapsed_seconds > 0 for p in progress)
    assert result.confusion.sum() == 1000 and result.confusion.shape == (10, 10)
    assert np.trace(result.confusion) / 1000 == pytest.approx(result.val_accuracy)
    assert result.val_predictions.shape == (1000,)
    summary = result.summary()
    assert summary["params"] == 21_386 and summary["n_train"] == 4000


@pytest.mark.slow
@pytest.mark.parametrize("arch", [arch for arch in ARCHITECTURES if arch != "lstm"])
def test_every_architecture_reaches_085_with_chapter_defaults(embedded_digits, arch):
    result = train(TrainConfig(arch=arch), embedded_digits)
    assert result.val_accuracy >= 0.85, result.summary()


def test_stop_takes_effect_within_one_iteration_and_keeps_the_model(embedded_digits):
    stop = threading.Event()

    def on_progress(progress):
        if progress.iteration == 7:
            stop.set()

    result = train(TrainConfig(arch="gru", iterations=100), embedded_digits, on_progress=on_progress, stop=stop)
    assert result.status == "stopped" and result.iterations_done == 7
    assert "stopped on request after 7 of 100" in result.message
    assert len(result.history.train_loss) == 7
    # The model trained so far is kept and scored: better than chance after 7 steps.
    assert result.history.val_iterations[-1] == 7
    assert result.val_accuracy > 0.2


def test_same_seed_same_curve_other_seed_other_curve(embedded_digits):
    config = TrainConfig(arch="rnn", iterations=15, seed=11)
    first = train(config, embedded_digits)
    second = train(config, embedded_digits)
    other = train(config.replace(seed=12), embedded_digits)
    assert first.history.train_loss == second.history.train_loss
    assert first.val_loss == second.val_loss
    assert first.history.train_loss != other.history.train_loss


def test_a_diverging_loss_stops_training_and_restores_sound_weights(embedded_digits):
    result = train(
        TrainConfig(arch="birnn", learning_rate=1.0, iterations=100),
        embedded_digits, validate_every=1,
    )
    assert result.status == "diverged"
    last = result.history.train_loss[-1]
    assert not math.isfinite(last) or last > DIVERGENCE_LOSS
    assert result.iterations_done == len(result.history.train_loss) < 100
    assert "training diverged" in result.message and "learning rate 1 is probably too high" in result.message
    # The restored model is the last one whose validation loss was sound.
    assert math.isfinite(result.val_loss) and result.val_loss <= DIVERGENCE_LOSS


def test_validation_schedule_is_affordable_and_ends_at_the_last_iteration():
    assert validation_schedule(100, 500, 1000, None) == {20, 40, 60, 80, 100}
    # Full-size validation (10,000 images) is scored rarely; always at the end.
    assert validation_schedule(300, 500, 10_000, None) == {300}
    assert validation_schedule(25, 500, 1000, 10) == {10, 20, 25}
    with pytest.raises(ConfigError):
        validation_schedule(10, 500, 1000, 0)


def test_batch_plan_draws_each_image_once_per_pass():
    plan = batch_plan(n_train=1000, batch_size=100, iterations=25, seed=0)
    assert plan.shape == (25, 100)
    assert sorted(plan[:10].ravel().tolist()) == list(range(1000))
    assert len(set(plan[3].tolist())) == 100
    with pytest.raises(ConfigError, match="batch_size 5000 is larger than the training set"):
        batch_plan(n_train=4000, batch_size=5000, iterations=1, seed=0)


def test_dataset_must_match_config(embedded_digits):
    with pytest.raises(ConfigError, match="config asks for dataset 'fashion'"):
        train(TrainConfig(dataset="fashion", iterations=1), embedded_digits)


@pytest.mark.skipif(bool(gpu_names()), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_a_clear_error(embedded_digits):
    with pytest.raises(DeviceError, match="a GPU was requested but the .* backend sees none"):
        train(TrainConfig(device="gpu", iterations=1), embedded_digits)


@pytest.fixture
def kept_models():
    """The worker's mode: compiled models kept for the next run of the same shape."""
    keep_compiled_models(True)
    yield
    keep_compiled_models(False)


@pytest.fixture
def traces(monkeypatch):
    """Counts how often the training step is traced (Keras calls ``train_step`` only then)."""
    calls = []
    original = keras.Model.train_step

    def counting(self, data):
        calls.append(self)
        return original(self, data)

    monkeypatch.setattr(keras.Model, "train_step", counting)
    return calls


def test_a_kept_model_runs_exactly_as_a_fresh_one_without_tracing_again(embedded_digits, kept_models, traces):
    config = TrainConfig(arch="rnn", iterations=12, seed=11)
    first = train(config, embedded_digits)
    assert len(traces) == 1  # one trace per fresh model, not one per input structure
    keras.backend.clear_session(free_memory=True)  # what a worker does between jobs
    again = train(config, embedded_digits)
    other = train(config.replace(seed=12, learning_rate=0.003), embedded_digits)
    assert len(traces) == 1 and again.model is first.model is other.model
    assert again.history.train_loss == first.history.train_loss and again.val_loss == first.val_loss
    keep_compiled_models(False)
    fresh_other = train(config.replace(seed=12, learning_rate=0.003), embedded_digits)
    assert fresh_other.model is not other.model
    assert fresh_other.history.train_loss == other.history.train_loss


def test_models_are_not_kept_unless_asked(embedded_digits):
    config = TrainConfig(arch="rnn", iterations=2)
    assert train(config, embedded_digits).model is not train(config, embedded_digits).model


def test_the_engine_never_calls_fit(embedded_digits, monkeypatch):
    # fit's tf.data iterator and clean-up are where TensorFlow sat for up to
    # seconds after the last step; the engine calls the compiled step itself.
    def no_fit(*args, **kwargs):
        raise AssertionError("the engine called fit")

    monkeypatch.setattr(keras.Model, "fit", no_fit)
    progress = []
    result = train(TrainConfig(arch="gru", iterations=5), embedded_digits, on_progress=progress.append)
    assert result.status == "completed" and [p.iteration for p in progress] == [1, 2, 3, 4, 5]


def test_engine_models_are_unrolled_and_load_like_the_chapters(embedded_digits, tmp_path):
    result = train(TrainConfig(arch="bilstm", iterations=3), embedded_digits)
    layer = result.model.get_layer("recurrent_1")
    assert layer.forward_layer.unroll == TF_STEP_OPTIONS["bilstm"][0]
    path = tmp_path / "bilstm.keras"
    result.model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    sample = embedded_digits.valid_sequences[:8]
    np.testing.assert_allclose(loaded.predict_on_batch(sample), result.model.predict_on_batch(sample), atol=1e-6)
