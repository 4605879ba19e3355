"""The jobs on a Ray cluster: a real local head, real tasks, the app's pool and the CLI.

This module starts a one-node Ray head on 127.0.0.1 (offline, two CPUs, no
dashboard), trains the chapter's recipe through :class:`RayPool` with progress
and stop, hurts a worker or two, runs the CLI against the head with
``RNN_DEMO_RAY_ADDRESS`` set, and shuts the head down, checking that none of
its processes outlive it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

# Ray turns 127.0.0.1 into the machine's network address unless it believes
# it runs one node only; read when ray is imported, so set before that. Every
# connection of these tests then stays on loopback.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray", reason="Ray is optional: pip install -r requirements-ray.txt")

from rnn_demo.compute.jobs import JobError  # noqa: E402
from rnn_demo.compute.local_pool import process_runs  # noqa: E402
from rnn_demo.compute.pool import RAY_ADDRESS_VARIABLE, RAY_GPUS_VARIABLE, WorkerFailed, ray_gpus  # noqa: E402
from rnn_demo.compute.ray_pool import RayPool  # noqa: E402
from rnn_demo.config import ConfigError, TrainConfig  # noqa: E402
from rnn_demo.twins.twin_file import load_twin, twin_from_arrays  # noqa: E402
from tests.harness import wait_for  # noqa: E402

pytestmark = pytest.mark.slow
STOP_GRACE = 5.0  # the default; a busy 2-core machine can take seconds per iteration
REPOSITORY = Path(__file__).resolve().parent.parent
SHUTDOWN_SECONDS = 20.0
PROGRESS_LINE = re.compile(r"\[[#.]+\] \d+/100 ")


def _ray_processes_below(pid: int) -> set[int]:
    """Ray's processes among the descendants of ``pid`` (from ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            stack.append(child)
            try:
                command = (Path("/proc") / str(child) / "cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing.forkserver" in command:
                continue  # the local pool's fork server: its command names sys.path, ray's folders too
            if b"ray" in command.lower():
                found.add(child)
    return found


@pytest.fixture(scope="module")
def ray_head():
    """A local Ray head for this module; yields its address (``127.0.0.1:port``)."""
    # address="local": a new instance, even if another head on this machine left its address behind.
    ray.init(address="local", _node_ip_address="127.0.0.1", num_cpus=2, include_dashboard=False,
             log_to_driver=False)
    address = ray.get_runtime_context().gcs_address
    assert address.startswith("127.0.0.1:")
    yield address
    started = _ray_processes_below(os.getpid())
    ray.shutdown()
    wait_for(lambda: not any(process_runs(pid) for pid in started), SHUTDOWN_SECONDS, 0.2,
             message="Ray processes outlived ray.shutdown()")


@pytest.fixture(scope="module")
def pool(ray_head):
    """The app's pool on that head (it reuses this process's connection)."""
    cluster = RayPool(ray_head, 1, stop_grace=STOP_GRACE)
    yield cluster
    cluster.close()


def run_cli(*arguments, ray_address: str | None, timeout=300, **popen):
    environment = {**os.environ, "RNN_DEMO_OFFLINE": "1"}
    environment.pop(RAY_ADDRESS_VARIABLE, None)
    if ray_address:
        environment[RAY_ADDRESS_VARIABLE] = ray_address
    command = [sys.executable, "-m", "rnn_demo", *arguments]
    if popen:
        return subprocess.Popen(command, env=environment, cwd=REPOSITORY, text=True, **popen)
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPOSITORY,
                          timeout=timeout)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


# ------------------------------------------------------------- the app's pool


def test_the_chapter_recipe_trains_on_ray_with_progress(pool, embedded_digits):
    events = []
    record, arrays = pool.run("train", TrainConfig(), None, on_event=events.append)
    progress = [payload for kind, payload in events if kind == "progress"]
    assert [p.iteration for p in progress] == list(range(1, 101))
    assert record.status == "completed" and record.iterations_done == 100
    assert record.config.arch == "lstm" and record.val_accuracy > 0.85
    # The arrays are the trained model: its NumPy twin scores what the worker scored.
    predictions = twin_from_arrays(arrays).predict_logits(embedded_digits.valid_sequences).argmax(axis=1)
    assert np.mean(predictions == embedded_digits.y_valid) == pytest.approx(record.val_accuracy, abs=0.002)
    assert pool.status().busy == 0 and pool.status().jobs == {"train": 1}


def test_stop_ends_a_ray_training_after_the_current_iteration(pool):
    events = []
    progress = lambda: [payload for kind, payload in events if kind == "progress"]  # noqa: E731
    # Weight snapshots (watch it learn) travel too: count the progress events alone.
    record, _ = pool.run("train", TrainConfig(), None, on_event=events.append, stop=lambda: len(progress()) >= 3)
    assert record.status == "stopped"
    assert 3 <= record.iterations_done < 100 and len(progress()) == record.iterations_done


def test_a_refused_input_comes_back_as_a_job_error(pool):
    with pytest.raises(JobError, match="a GPU was requested but the .* backend sees none"):
        pool.run("train", TrainConfig(device="gpu"))


def test_a_dead_or_hung_worker_fails_only_its_job(pool):
    lost_before = pool.status().replaced
    with pytest.raises(WorkerFailed, match="stopped unexpectedly"):
        pool.run("crash", "abort")
    asked = time.monotonic()
    with pytest.raises(WorkerFailed, match="did not stop within"):
        pool.run("crash", "hang", stop=lambda: time.monotonic() - asked > 0.5)
    assert time.monotonic() - asked < 0.5 + STOP_GRACE + 5
    assert pool.status().replaced == lost_before + 2
    assert pool.run("warm_up")["backend"] == "tensorflow"  # the next job finds a worker


def test_a_pool_made_from_the_variable_keeps_keras_out_of_its_process(ray_head):
    # A process of its own, as a web server: make_pool connects (shipping the
    # package with the job), runs a job, and never imports Keras itself.
    script = textwrap.dedent("""
        import json, sys
        from rnn_demo.compute.pool import make_pool
        pool = make_pool(1)
        info = pool.run("warm_up")
        pool.close()
        print(json.dumps({"executor": pool.executor_name, "backend": info["backend"],
                          "keras_here": "keras" in sys.modules or "tensorflow" in sys.modules}))
    """)
    environment = {**os.environ, RAY_ADDRESS_VARIABLE: ray_head}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env=environment, cwd=REPOSITORY, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert last_json(completed.stdout) == {"executor": "ray", "backend": "tensorflow", "keras_here": False}


def test_a_gpu_share_outside_0_to_1_is_refused(monkeypatch):
    monkeypatch.setenv(RAY_GPUS_VARIABLE, "0.25")
    assert ray_gpus() == 0.25
    for bad in ("2", "-0.5", "half"):
        monkeypatch.setenv(RAY_GPUS_VARIABLE, bad)
        with pytest.raises(ConfigError, match=RAY_GPUS_VARIABLE):
            ray_gpus()


# -------------------------------------------------------------------- the CLI


def test_cli_trains_on_ray_and_saves_the_model(ray_head, tmp_path):
    out = tmp_path / "lstm.keras"
    completed = run_cli("train", "--iterations", "30", "--json", "--out", str(out), ray_address=ray_head)
    assert completed.returncode == 0, completed.stderr
    summary = last_json(completed.stdout)
    assert summary["executor"] == "ray" and summary["status"] == "completed"
    assert summary["iterations"] == 30 and summary["arch"] == "lstm"
    assert "30/30" in completed.stderr  # the progress bar, fed by the cluster
    twin = load_twin(out.with_suffix(".npz"))
    assert twin.metadata["iterations"] == 30
    from rnn_demo.engine.persistence import load_model

    loaded = load_model(out)
    images = np.random.default_rng(0).random((4, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(
        twin.numpy_model.predict_logits(images), loaded.model.predict_on_batch(images), atol=1e-4
    )


def test_ctrl_c_stops_a_cli_training_on_ray(ray_head):
    process = run_cli("train", "--json", ray_address=ray_head, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in process.stderr:
            if PROGRESS_LINE.match(line):  # training has started
                process.send_signal(signal.SIGINT)
                break
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    summary = last_json(stdout)
    assert summary["executor"] == "ray" and summary["status"] == "stopped"
    assert 1 <= summary["iterations"] < 100


def test_cli_without_the_variable_trains_here(tmp_path):
    completed = run_cli("train", "--iterations", "30", "--json", ray_address=None)
    assert completed.returncode == 0, completed.stderr
    assert last_json(completed.stdout)["executor"] == "local"


def test_an_unreachable_cluster_is_a_one_line_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    completed = run_cli("train", "--iterations", "1", ray_address=address, timeout=60)
    assert completed.returncode == 1
    assert completed.stderr.strip().splitlines()[-1].startswith(
        f"rnn_demo train: error: cannot reach the Ray cluster at {address}"
    )
    assert "Traceback" not in completed.stderr
