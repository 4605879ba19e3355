"""Host limits from the environment, and the fair queue for training slots."""

import threading
from types import SimpleNamespace

import pytest

from rnn_demo.app.limits import (
    HostLimits,
    LimitsError,
    TrainingQueue,
    UploadAllowance,
    estimated_seconds,
)
from rnn_demo.app.live_training import LiveTraining
from rnn_demo.compute.pool import WorkerFailed
from rnn_demo.config import ConfigError, TrainConfig


def test_defaults_suit_a_small_server_and_allow_every_recipe():
    limits = HostLimits()
    assert limits.max_concurrent_trainings == 2
    for arch in ("rnn", "birnn", "deep", "lstm", "gru", "bilstm"):
        limits.check(TrainConfig(arch=arch))  # the chapter's defaults always fit


def test_limits_come_from_the_environment():
    limits = HostLimits.from_environment(
        {"RNN_DEMO_MAX_HIDDEN": "32", "RNN_DEMO_MAX_TRAININGS": "1", "RNN_DEMO_MAX_UPLOAD_MB": "0.5"}
    )
    assert (limits.max_hidden_units, limits.max_concurrent_trainings) == (32, 1)
    assert limits.max_upload_bytes == 2**19
    assert limits.upper_bound("hidden_units") == 32
    # A host cannot raise a limit past the app's own bounds.
    assert HostLimits.from_environment({"RNN_DEMO_MAX_HIDDEN": "100000"}).upper_bound("hidden_units") == 512


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RNN_DEMO_MAX_HIDDEN": "lots"}, "RNN_DEMO_MAX_HIDDEN='lots' is not a int"),
        ({"RNN_DEMO_MAX_TRAININGS": "0"}, "RNN_DEMO_MAX_TRAININGS='0' must be at least 1"),
        ({"RNN_DEMO_MAX_UPLOAD_MB": "-1"}, "RNN_DEMO_MAX_UPLOAD_MB='-1' must be more than 0"),
    ],
)
def test_bad_limits_are_named(environ, message):
    with pytest.raises(LimitsError, match=message):
        HostLimits.from_environment(environ)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (TrainConfig(hidden_units=300), "hidden_units 300 is over this server's limit of 256 .*RNN_DEMO_MAX_HIDDEN"),
        (TrainConfig(arch="deep", layers=6), "layers 6 is over this server's limit of 4"),
        (TrainConfig(iterations=5000), "iterations 5000 is over this server's limit of 2000"),
        (TrainConfig(batch_size=3000), "batch_size 3000 is over this server's limit of 2000"),
    ],
)
def test_each_cap_is_enforced_with_a_message(config, message):
    with pytest.raises(ConfigError, match=message):
        HostLimits().check(config)


def test_layers_only_count_for_the_deep_model():
    HostLimits().check(TrainConfig(arch="lstm", layers=8))


class FakeClock:
    """A clock the test advances by hand (time itself, not the queue, is faked)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_queue_grants_slots_then_queues_in_order_then_refuses():
    queue = TrainingQueue(capacity=2, max_waiting=2)
    assert queue.enter("a").position == 0
    assert queue.enter("b").position == 0
    c, d = queue.enter("c"), queue.enter("d")
    assert (c.position, d.position) == (1, 2)
    assert "number 1 in the queue" in c.message and "you are next" in c.message
    refused = queue.enter("e")
    assert refused.refused and "Try again in a moment" in refused.message
    queue.leave("a")
    assert queue.enter("d").position == 2  # c is still ahead
    assert queue.enter("c").position == 0  # c takes the freed slot
    assert queue.enter("d").position == 1
    assert queue.enter("c").position == 0  # asking again keeps the slot


def test_a_closed_tab_loses_its_place():
    clock = FakeClock()
    queue = TrainingQueue(capacity=1, max_waiting=3, stale_after=10, clock=clock)
    queue.enter("running")
    queue.enter("gone")
    queue.enter("here")
    clock.now = 8
    queue.enter("here")  # "here" keeps polling, "gone" does not
    clock.now = 12
    assert queue.enter("here").position == 1
    assert queue.state().waiting == 1


def test_queue_is_thread_safe():
    queue = TrainingQueue(capacity=3, max_waiting=100)
    granted = []

    def visitor(ticket):
        if queue.enter(ticket).position == 0:
            granted.append(ticket)

    threads = [threading.Thread(target=visitor, args=(number,)) for number in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 3 and queue.state().running == 3 and queue.state().waiting == 47


def test_one_training_per_visitor_and_the_others_pass_it():
    queue = TrainingQueue(capacity=2, max_waiting=4)
    assert queue.enter("first tab", owner="ann").position == 0
    second = queue.enter("second tab", owner="ann")
    assert second.position == 1 and second.behind_own and "one training per visitor" in second.message
    assert queue.enter("bob's", owner="bob").position == 0  # the free slot is not held for ann
    queue.leave("bob's")
    assert queue.enter("second tab", owner="ann").position == 1  # still ann's first one running
    queue.leave("first tab")
    assert queue.enter("second tab", owner="ann").position == 0


def test_the_time_budget_refuses_the_slot_hogging_link_with_its_estimate():
    hog = TrainConfig(arch="bilstm", hidden_units=256, batch_size=2000, iterations=2000)
    assert estimated_seconds(hog) > 30 * 60  # measured: about 53 min on the 2-core server
    with pytest.raises(ConfigError, match=r"would take about \d+ min on this server, over its budget of 5 min"):
        HostLimits().check(hog)
    assert HostLimits(max_training_seconds=5000).budget_refusal(hog) is None
    for arch in ("rnn", "birnn", "deep", "lstm", "gru", "bilstm"):
        assert estimated_seconds(TrainConfig(arch=arch)) < 60  # every recipe fits with room to spare
    assert HostLimits.from_environment({"RNN_DEMO_MAX_TRAINING_SECONDS": "30"}).max_training_seconds == 30
    with pytest.raises(LimitsError, match="RNN_DEMO_MAX_TRAINING_SECONDS"):
        HostLimits.from_environment({"RNN_DEMO_MAX_TRAINING_SECONDS": "0"})


def test_the_estimate_grows_with_every_knob():
    base = TrainConfig()
    for change in ({"iterations": 200}, {"batch_size": 1000}, {"hidden_units": 128}, {"arch": "bilstm"}):
        assert estimated_seconds(base.replace(**change)) > estimated_seconds(base)
    assert estimated_seconds(TrainConfig(arch="deep", layers=4)) > estimated_seconds(TrainConfig(arch="deep", layers=2))


def test_uploads_have_a_count_and_a_rate():
    clock = FakeClock()
    allowance = UploadAllowance(3, 5.0, clock=clock)
    assert allowance.take() is None
    clock.now = 2
    assert "try this file again in 3 s" in allowance.take()
    for now in (5, 10):
        clock.now = now
        assert allowance.take() is None
    clock.now = 100
    assert "used its 3 uploads" in allowance.take()


def test_a_training_past_its_time_budget_is_stopped_and_keeps_what_it_reached(worker_pool):
    training = LiveTraining([TrainConfig(arch="lstm", iterations=2000, batch_size=100)], worker_pool, 1,
                            queue=TrainingQueue(1, 1), owner="ann", budget_seconds=4.0).start()
    assert training.wait(120), "the budget did not stop the training"
    (model,) = training.snapshot().finished
    assert model.result.status == "stopped" and 0 < model.result.iterations_done < 2000
    assert "time budget of 4 s per training ran out" in model.result.message


class KilledMidRun:
    """A pool whose worker dies after one iteration (as a SIGKILLed one does)."""

    def run(self, name, config, *args, on_event=None, stop=None, **options):
        on_event(("progress", SimpleNamespace(iteration=1, train_loss=2.3, val_loss=None, val_accuracy=None)))
        raise WorkerFailed("the worker process stopped unexpectedly")


class SlowKeeper:
    """Storing a failed run waits (for a fresh worker, on a busy server) until ``release`` is set."""

    def __init__(self):
        self.release, self.keeping = threading.Event(), threading.Event()

    def failed(self, snapshot, message):
        self.keeping.set()
        self.release.wait(30)
        return None


def test_a_failed_training_frees_its_slot_before_it_is_stored():
    # Issue 21, point 9: the killed training held its slot while its run was stored, so the
    # next click waited behind it (measured: 16-29 s for a first point, one worker warming).
    queue, keeper = TrainingQueue(capacity=1, max_waiting=2), SlowKeeper()
    failed = LiveTraining([TrainConfig(arch="rnn")], KilledMidRun(), 1, queue=queue, owner="ann", keep=keeper).start()
    try:
        assert keeper.keeping.wait(30)
        assert failed.snapshot().error and not failed.done  # told, still storing
        assert queue.enter("the next click", owner="ann").position == 0
    finally:
        keeper.release.set()
        queue.leave("the next click")
    assert failed.wait(30)
