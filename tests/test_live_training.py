"""A visitor's live training without Streamlit: its thread, the shared queue, links, reattaching, keeping."""

import os
import signal
import time

import numpy as np
import pytest

from rnn_demo.app.compare import comparison_rows
from rnn_demo.app.limits import HostLimits, TrainingQueue
from rnn_demo.app.links import config_from_query, config_to_query
from rnn_demo.app.live_training import LiveTraining, LiveTrainings, reattach_seconds
from rnn_demo.app.run_keeping import StoreKeeper
from rnn_demo.config import ConfigError, TrainConfig
from rnn_demo.store import new_key, open_store, owner_from_key
from rnn_demo.store.runs import twin_file_arrays
from rnn_demo.twins.twin_file import twin_from_arrays
from tests.harness import wait_for


def test_a_link_round_trips_and_bad_values_fall_back_with_a_message():
    config = TrainConfig(arch="gru", hidden_units=32, learning_rate=0.003, iterations=50)
    assert config_from_query(config_to_query(config)) == (config, [])
    parsed, problems = config_from_query(
        {"arch": "cnn", "hidden": "many", "lr": "2", "iterations": "5000", "device": "gpu", "seed": "4"},
        gpus_available=False, limits=HostLimits(),
    )
    assert parsed == TrainConfig(seed=4)
    assert len(problems) == 5
    joined = " ".join(problems)
    for expected in ("`arch=cnn`", "`hidden=many`", "whole number", "`lr=2`", "limit of 2000", "no GPU"):
        assert expected in joined


def test_a_training_trains_in_its_thread_and_reports_through_snapshots(worker_pool):
    configs = [TrainConfig(arch="rnn", iterations=12), TrainConfig(arch="gru", iterations=12)]
    training = LiveTraining(configs, worker_pool, first_number=1, queue=TrainingQueue(1, 1)).start()
    assert training.wait(120)
    snapshot = training.snapshot()
    assert snapshot.done and snapshot.error is None
    assert [trained.number for trained in snapshot.finished] == [1, 2]
    assert len(snapshot.train_loss) == 12 and snapshot.val_iterations[-1] == 12
    rows = comparison_rows(snapshot.finished)
    assert [row["architecture"] for row in rows] == ["Basic RNN", "GRU"]
    assert [row["parameters"] for row in rows] == [5_834, 16_394]
    # The slot is given back: the next training is granted at once.
    assert training.queue.enter("next").position == 0


def test_a_training_refused_by_a_full_server_says_so(worker_pool):
    queue = TrainingQueue(capacity=1, max_waiting=0)
    queue.enter("somebody else")
    training = LiveTraining([TrainConfig(arch="rnn", iterations=5)], worker_pool, 1, queue=queue).start()
    assert training.wait(30)
    snapshot = training.snapshot()
    assert snapshot.finished == [] and "The server is busy" in snapshot.error


LONG = TrainConfig(arch="lstm", iterations=2000, batch_size=100)  # minutes: it is stopped or killed first


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "runs.sqlite") as opened:
        yield opened


@pytest.fixture
def owner() -> str:
    return owner_from_key(new_key())


def keeper(store, owner, pool, digits) -> StoreKeeper:
    return StoreKeeper(store, owner, pool, dataset=lambda name: digits)


def the_stored_run(store, owner):
    (summary,) = store.list_runs(owner)
    return store.get_run(summary.id)


def test_an_abandoned_training_is_stopped_after_the_grace_and_stored_as_stopped(worker_pool, store, owner,
                                                                               embedded_digits):
    alive = {"open": True}
    training = LiveTraining(
        [LONG], worker_pool, 1, session_alive=lambda: alive["open"], grace_seconds=1.0,
        keep=keeper(store, owner, worker_pool, embedded_digits),
    ).start()
    wait_for(lambda: training.snapshot().train_loss, 60, message=None)  # closed mid-training if it can be
    alive["open"] = False
    closed = time.monotonic()
    assert training.wait(60)
    assert time.monotonic() - closed >= 1.0  # not before its grace
    trained = training.snapshot().finished
    assert trained and trained[0].result.status == "stopped"
    assert trained[0].result.iterations_done < 2000
    run = the_stored_run(store, owner)
    assert (run.status, run.iterations) == ("stopped", trained[0].result.iterations_done)
    assert "no page followed it for 1 s" in run.metrics["message"]
    assert training.snapshot().kept[1].run_id == run.id
    assert store.model_bytes(run.id)[:2] == b"PK"  # the .keras file, a zip


def test_a_reloaded_page_reattaches_and_its_training_goes_on(worker_pool, store, owner, embedded_digits):
    trainings = LiveTrainings(keep_seconds=1.0)
    first_session = {"open": True}
    training = trainings.add(owner, LiveTraining(
        [LONG], worker_pool, 1, session_alive=lambda: first_session["open"], grace_seconds=1.0,
        keep=keeper(store, owner, worker_pool, embedded_digits),
    ).start())
    assert trainings.find(owner_from_key(new_key())) is None  # another visitor has none
    wait_for(lambda: training.snapshot().train_loss, 60, message="no first loss within 60 s")
    first_session["open"] = False  # the reload closes the first session ...
    found = trainings.find(owner)  # ... and the new one finds the training
    assert found is training
    found.watch(lambda: True)
    reached = len(training.snapshot().train_loss)
    time.sleep(3.0)  # three times the grace: watched, it goes on
    assert not training.done
    wait_for(lambda: len(training.snapshot().train_loss) > reached, 60, message="the curve did not go on")
    training.stop()
    assert training.wait(60)
    assert trainings.find(owner) is training  # kept a while for a page that comes back to show it
    wait_for(lambda: trainings.find(owner) is None, 10, message="an ended training was never forgotten")
    assert the_stored_run(store, owner).status == "stopped"


def test_a_killed_worker_leaves_a_stored_run_whose_twin_predicts(worker_pool, store, owner, embedded_digits):
    training = LiveTraining([LONG], worker_pool, 1, keep=keeper(store, owner, worker_pool, embedded_digits)).start()
    wait_for(lambda: training.snapshot().weights is not None, 120, message="no weights snapshot within 120 s")
    (pid,) = worker_pool.status().pids
    os.kill(pid, signal.SIGKILL)
    # Told at once, before the run is stored (its .keras file waits for the new worker).
    wait_for(lambda: training.snapshot().error is not None, 10, message="no failure told within 10 s")
    assert training.wait(180)
    snapshot = training.snapshot()
    assert not snapshot.keeping_failed
    assert snapshot.error.startswith("Training failed: the worker process stopped unexpectedly")
    assert not snapshot.finished
    run = the_stored_run(store, owner)
    weights_iteration = snapshot.weights[0]
    assert run.status == "failed" and run.iterations == len(snapshot.train_loss) >= weights_iteration
    assert f"weights of iteration {weights_iteration}" in run.metrics["message"]
    assert snapshot.kept[1].run_id == run.id
    arrays, metadata = twin_file_arrays(store.twin_bytes(run.id))
    predicted = twin_from_arrays(arrays).predict_logits(embedded_digits.valid_sequences).argmax(axis=1)
    assert np.mean(predicted == embedded_digits.y_valid) == pytest.approx(run.val_accuracy)
    assert run.val_accuracy > 0.1 and metadata["status"] == "failed"
    assert run.confusion.sum() == embedded_digits.n_valid


def test_stop_before_the_slot_is_granted_gives_up_waiting(worker_pool):
    queue = TrainingQueue(capacity=1, max_waiting=2)
    queue.enter("busy")
    training = LiveTraining([TrainConfig(arch="rnn", iterations=5)], worker_pool, 1, queue=queue).start()
    training.stop()
    assert training.wait(30)
    assert training.snapshot().finished == [] and queue.state().waiting == 0


def test_the_grace_period_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("RNN_DEMO_REATTACH_SECONDS", raising=False)
    assert reattach_seconds() == 60.0
    monkeypatch.setenv("RNN_DEMO_REATTACH_SECONDS", "5")
    assert reattach_seconds() == 5.0
    for bad in ("soon", "0", "-3"):
        monkeypatch.setenv("RNN_DEMO_REATTACH_SECONDS", bad)
        with pytest.raises(ConfigError, match="RNN_DEMO_REATTACH_SECONDS"):
            reattach_seconds()
