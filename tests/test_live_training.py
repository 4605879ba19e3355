"""A visitor's live training without Streamlit: its thread, the shared queue, links."""

from rnn_demo.app.compare import comparison_rows
from rnn_demo.app.limits import HostLimits, TrainingQueue
from rnn_demo.app.links import config_from_query, config_to_query
from rnn_demo.app.live_training import LiveTraining
from rnn_demo.config import TrainConfig
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


def test_a_closed_session_stops_its_training(worker_pool):
    alive = {"open": True}
    training = LiveTraining(
        [TrainConfig(arch="lstm", iterations=2000, batch_size=100)], worker_pool, 1,
        session_alive=lambda: alive["open"],
    ).start()
    wait_for(lambda: training.snapshot().train_loss, 60, message=None)  # closed mid-training if it can be
    alive["open"] = False
    assert training.wait(60)
    trained = training.snapshot().finished
    assert trained and trained[0].result.status == "stopped"
    assert trained[0].result.iterations_done < 2000


def test_stop_before_the_slot_is_granted_gives_up_waiting(worker_pool):
    queue = TrainingQueue(capacity=1, max_waiting=2)
    queue.enter("busy")
    training = LiveTraining([TrainConfig(arch="rnn", iterations=5)], worker_pool, 1, queue=queue).start()
    training.stop()
    assert training.wait(30)
    assert training.snapshot().finished == [] and queue.state().waiting == 0
