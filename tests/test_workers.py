"""The worker pool with real processes: training, faults, stops and recycling.

Every test here runs real Keras jobs in real worker processes and
hurts them for real (SIGKILL, a hang, a native abort), then checks that the
pool answers the next job as if nothing had happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rnn_demo.app.live_training import LiveTraining
from rnn_demo.compute.jobs import JobError
from rnn_demo.compute.local_pool import WorkerPool, process_runs
from rnn_demo.compute.pool import WorkerFailed, WorkersBusy
from rnn_demo.compute.worker_process import WORKER_NICENESS, cores, default_threads
from rnn_demo.config import TrainConfig
from rnn_demo.engine.model_file import UPLOAD_FOLDER_PREFIX
from rnn_demo.twins.twin_file import twin_from_arrays
from tests.harness import maps_library, wait_for

pytestmark = pytest.mark.slow
STOP_GRACE = 3.0
QUICK = TrainConfig(arch="rnn", hidden_units=16, iterations=20, batch_size=100)


@pytest.fixture(scope="module")
def pool():
    workers = WorkerPool(1, max_jobs=50, stop_grace=STOP_GRACE)
    workers.wait_until_warm()
    yield workers
    workers.close()


def busy_pid(pool: WorkerPool) -> int:
    (pid,) = pool.status().pids
    return pid


def test_training_streams_progress_and_returns_arrays(pool, embedded_digits):
    events = []
    record, arrays = pool.run("train", TrainConfig(arch="lstm", iterations=40), None, on_event=events.append)
    progress = [payload for kind, payload in events if kind == "progress"]
    assert [p.iteration for p in progress] == list(range(1, 41))
    assert record.status == "completed" and record.iterations_done == 40
    assert record.history.train_loss == [p.train_loss for p in progress]
    # The arrays are the trained model: its NumPy twin scores what the worker scored.
    twin = twin_from_arrays(arrays)
    predictions = twin.predict_logits(embedded_digits.valid_sequences).argmax(axis=1)
    assert np.mean(predictions == embedded_digits.y_valid) == pytest.approx(record.val_accuracy, abs=0.002)
    assert record.val_accuracy > 0.5


def test_stop_is_answered_after_the_current_iteration(pool):
    events = []
    record, _ = pool.run(
        "train", TrainConfig(arch="gru", iterations=500), None, on_event=events.append,
        stop=lambda: len(events) >= 5,
    )
    assert record.status == "stopped"
    assert 5 <= record.iterations_done < 500


def test_a_killed_worker_fails_its_job_only_and_is_replaced(pool):
    events = []

    def kill_after_five(event):
        events.append(event)
        if len(events) == 5:
            os.kill(busy_pid(pool), signal.SIGKILL)

    killed = None
    with pytest.raises(WorkerFailed, match="stopped unexpectedly"):
        killed = busy_pid(pool)
        pool.run("train", TrainConfig(arch="lstm", iterations=2000), None, on_event=kill_after_five)
    assert len(events) >= 5
    record, _ = pool.run("train", QUICK, None)
    assert record.status == "completed"
    assert busy_pid(pool) != killed
    assert pool.status().replaced >= 1


def test_a_stop_that_is_not_answered_ends_the_worker(pool):
    hung = busy_pid(pool)
    asked = time.monotonic()
    with pytest.raises(WorkerFailed, match="did not stop"):
        pool.run("crash", "hang", stop=lambda: True)
    assert STOP_GRACE <= time.monotonic() - asked < STOP_GRACE + 10
    assert not process_runs(hung), (hung, pool.status(), os.popen(f"ps -o pid,stat,lstart,cmd -p {hung}").read())
    assert pool.run("train", QUICK, None)[0].status == "completed"


def test_a_native_crash_costs_only_that_worker(pool):
    with pytest.raises(WorkerFailed, match="stopped unexpectedly"):
        pool.run("crash", "abort")
    assert pool.run("train", QUICK, None)[0].status == "completed"


def test_a_worker_found_dead_while_idle_is_replaced_before_the_job(pool):
    os.kill(busy_pid(pool), signal.SIGKILL)
    time.sleep(0.5)  # let the kernel reap nothing: the pool must notice on its own
    assert pool.run("train", QUICK, None)[0].status == "completed"


def test_refused_input_comes_back_as_a_message(pool):
    with pytest.raises(JobError, match="not a Keras .keras model file"):
        pool.run("read_upload", b"just some bytes", "notes.keras", 2**20, np.zeros((2, 16, 16)))
    with pytest.raises(JobError, match="GPU"):
        pool.run("train", QUICK.replace(device="gpu"), None)
    # Each cost only a fresh worker in its place.
    assert pool.status().busy == 0 and pool.run("train", QUICK, None)[0].status == "completed"


def test_a_failed_job_leaves_a_fresh_worker_and_the_next_job_runs(pool, tmp_path):
    """A worker that failed a job may still hold what it read (one stayed at 1.8 GB): replaced."""
    for failing in (("read_upload", b"just some bytes", "notes.keras", 2**20, np.zeros((2, 16, 16))),
                    ("crash", "no such crash")):
        pool.wait_until_warm()
        before, replaced = busy_pid(pool), pool.status().replaced
        with pytest.raises((JobError, ValueError)):
            pool.run(*failing)
        assert pool.run("train", QUICK, None)[0].status == "completed"
        assert busy_pid(pool) != before and pool.status().replaced == replaced + 1
        assert not process_runs(before)


def test_a_dead_workers_upload_folder_is_removed_when_a_worker_is_replaced(pool):
    """A worker killed mid-read cannot remove its own folder; the pool does, by the pid in its name."""
    dead = subprocess.Popen(["true"])  # a process id that no longer runs
    dead.wait()
    orphan = Path(tempfile.gettempdir()) / f"{UPLOAD_FOLDER_PREFIX}{dead.pid}_left"
    orphan.mkdir()
    (orphan / "upload.keras").write_bytes(b"x")
    alive = Path(tempfile.mkdtemp(prefix=f"{UPLOAD_FOLDER_PREFIX}{os.getpid()}_"))
    try:
        with pytest.raises(JobError):
            pool.run("read_upload", b"just some bytes", "notes.keras", 2**20, np.zeros((2, 16, 16)))
        assert not orphan.exists() and alive.exists()  # a running process's folder is its own
    finally:
        shutil.rmtree(alive, ignore_errors=True)
        shutil.rmtree(orphan, ignore_errors=True)


def test_five_kills_in_a_row_and_the_next_training_completes_after_each(pool):
    for kill in range(5):
        events = []

        def kill_after_three(event, events=events):
            events.append(event)
            if len(events) == 3:
                os.kill(busy_pid(pool), signal.SIGKILL)

        pool.wait_until_warm()
        killed = busy_pid(pool)
        with pytest.raises(WorkerFailed, match="stopped unexpectedly"):
            pool.run("train", TrainConfig(arch="lstm", iterations=2000), None, on_event=kill_after_three)
        assert len(events) >= 3, f"kill {kill + 1}"
        record, _ = pool.run("train", QUICK, None)
        assert record.status == "completed", f"after kill {kill + 1}"
        assert busy_pid(pool) != killed


def test_a_hanging_upload_is_ended_by_its_timeout(pool):
    started = time.monotonic()
    with pytest.raises(WorkerFailed, match="did not finish within 2 s"):
        pool.run("crash", "hang", timeout=2)
    assert time.monotonic() - started < 15
    assert pool.run("train", QUICK, None)[0].status == "completed"


def test_each_worker_gets_its_share_of_the_cores(pool):
    assert pool.backend_info()["threads"] == default_threads(1) == cores()
    assert default_threads(2 * cores()) == 1  # never none


def test_workers_are_forked_from_a_fork_server_that_has_imported_tensorflow(pool):
    """A new worker starts with TensorFlow in memory: multiprocessing's fork server, its parent,
    imported it once (rnn_demo.compute.fork_server), so no worker pays for the import again."""
    worker = busy_pid(pool)
    fork_server = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
    command = Path(f"/proc/{fork_server}/cmdline").read_bytes().decode(errors="replace")
    assert fork_server != os.getpid()
    assert "multiprocessing.forkserver" in command and "rnn_demo.compute.fork_server" in command
    assert maps_library(fork_server, "tensorflow") and maps_library(worker, "tensorflow")


def test_workers_run_below_the_web_process_priority():
    expected = min(19, os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS)
    pool = WorkerPool(1, max_jobs=1)
    try:
        pool.wait_until_warm()
        first = busy_pid(pool)
        assert os.getpriority(os.PRIO_PROCESS, first) == expected
        # A scheduler group of its own, below the server's and a browser's (Linux autogroups).
        assert os.getsid(first) != os.getsid(0)
        autogroup = Path(f"/proc/{first}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().split()[-1] == str(WORKER_NICENESS)
        pool.run("warm_up")  # its one job: the worker is replaced
        pool.wait_until_warm()
        assert busy_pid(pool) != first
        assert os.getpriority(os.PRIO_PROCESS, busy_pid(pool)) == expected
    finally:
        pool.close()


def test_workers_are_recycled_after_max_jobs_and_above_the_memory_ceiling():
    pool = WorkerPool(1, max_jobs=2, threads=3)
    try:
        pool.wait_until_warm()
        assert pool.backend_info()["threads"] == 3  # what the pool was told, not its default
        first = busy_pid(pool)
        pool.run("warm_up")
        assert busy_pid(pool) == first
        pool.run("warm_up")  # the second job: replaced afterwards
        pool.wait_until_warm()
        assert busy_pid(pool) != first
    finally:
        pool.close()
    tiny = WorkerPool(1, max_memory_mb=1.0)
    try:
        tiny.wait_until_warm()
        first = busy_pid(tiny)
        tiny.run("warm_up")
        tiny.wait_until_warm()
        assert busy_pid(tiny) != first and tiny.status().replaced == 1
    finally:
        tiny.close()


def test_a_short_job_is_told_when_every_worker_is_busy(pool):
    release, training = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=lambda: pool.run("train", TrainConfig(arch="lstm", iterations=2000), None,
                                on_event=lambda event: training.set(), stop=release.is_set),
    )
    thread.start()
    try:
        assert training.wait(60)
        with pytest.raises(WorkersBusy, match="every worker is busy"):
            pool.run("warm_up", wait_for_worker=0.5)
    finally:
        release.set()
        thread.join(60)


def test_a_session_job_keeps_the_curve_when_its_worker_dies(pool):
    job = LiveTraining([TrainConfig(arch="lstm", iterations=2000)], pool, 1).start()
    wait_for(lambda: len(job.snapshot().train_loss) >= 5, 60, message="no 5 losses within 60 s")
    os.kill(busy_pid(pool), signal.SIGKILL)
    assert job.wait(60)
    snapshot = job.snapshot()
    assert snapshot.error.startswith("Training failed: the worker process stopped unexpectedly")
    assert len(snapshot.train_loss) >= 5 and not snapshot.finished
    assert pool.run("train", QUICK, None)[0].status == "completed"


def hostile_upload(tmp_path) -> bytes:
    """A real ``.keras`` file whose model is harmless in shape but huge inside: an
    LSTM of 6,000 units, whose orthogonal initialiser alone would keep a loader
    busy for many seconds."""
    import json
    import zipfile

    from rnn_demo.engine.models import build_model
    from rnn_demo.engine.persistence import save_model

    honest = save_model(build_model(TrainConfig(hidden_units=4)), tmp_path / "honest.keras", {},
                        with_twin=False)
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(honest) as source, zipfile.ZipFile(hostile, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if layer["class_name"] == "LSTM":
                        layer["config"]["units"] = 6000
                data = json.dumps(config).encode()
            target.writestr(item, data)
    return hostile.read_bytes()


def test_a_hostile_upload_is_refused_before_it_costs_a_worker(pool, tmp_path):
    """Loading it once held a worker until its timeout; its config is now read first."""
    data = hostile_upload(tmp_path)
    assert len(data) < 100_000  # small on the wire, within any upload cap
    started = time.monotonic()
    with pytest.raises(JobError, match="its LSTM layer has 6000 units; this server reads 1 to 512"):
        pool.run("read_upload", data, "hostile.keras", 2**20, np.zeros((2, 16, 16)), timeout=3)
    assert time.monotonic() - started < 3
    assert pool.run("train", QUICK, None)[0].status == "completed"


def test_workers_end_when_their_server_is_killed():
    """A server killed outright (SIGKILL, the OOM killer) leaves no worker behind."""
    script = ("import sys\nfrom rnn_demo.compute.local_pool import WorkerPool\n"
              "pool = WorkerPool(2)\npool.wait_until_warm()\n"
              "print(*pool.worker_pids(), flush=True)\nsys.stdin.read()\n")
    server = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        workers = [int(pid) for pid in server.stdout.readline().split()]
        assert len(workers) == 2 and all(process_runs(pid) for pid in workers)
        server.kill()
        server.wait()
        wait_for(lambda: not any(process_runs(pid) for pid in workers), 30, 0.2,
                 message=lambda: f"workers left running after their server was killed: {workers}")
    finally:
        server.kill()
