"""The run store, for real: SQLite files here, the same tests on PostgreSQL in test_store_postgres.py.

:class:`StoreContract` holds the tests both databases must pass (each gets an
empty store from its subclass's ``store_url`` fixture); the rest are about
SQLite's file and its failures, and the ``runs`` command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, select, update

import rnn_demo
from rnn_demo.config import ConfigError, TrainConfig
from rnn_demo.errors import UserError
from rnn_demo.store import (
    NewRun,
    RunLimits,
    RunNotFound,
    StoreError,
    StoreFull,
    new_key,
    open_store,
    owner_from_key,
)
from rnn_demo.store.errors import store_failures
from rnn_demo.store.runs import new_run_id, twin_file_arrays
from rnn_demo.store.schema import (
    NAME_MAX,
    RUN_ID_PATTERN,
    SCHEMA_REVISION,
    metadata,
    run_blobs,
    runs,
)
from rnn_demo.store.settings import store_location
from rnn_demo.store.store import alembic_config
from rnn_demo.twins.twin_file import load_twin, twin_from_arrays

ROOT = Path(rnn_demo.__file__).parent.parent
SHIPPED = ROOT / "rnn_demo" / "assets" / "models"
IMAGES = np.random.default_rng(0).random((6, 16, 16)).astype(np.float32)
# Another process saving runs / reading one by id, against the store at argv[1].
WRITER = """
import json, sys
from rnn_demo.store import NewRun, RunLimits, open_store
url, owner, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_store(url, limits=RunLimits()) as store:
    ids = [store.save_run(owner, NewRun(kind="training", status="stopped", arch="gru", iterations=i,
                                        twin=bytes(range(256)) * 40)).id for i in range(count)]
print(json.dumps(ids))
"""
READER = """
import json, sys
from rnn_demo.store import open_store
with open_store(sys.argv[1]) as store:
    run = store.get_run(sys.argv[2])
    print(json.dumps({"name": run.name, "twin": len(store.twin_bytes(run.id))}))
"""


def visitor() -> str:
    return owner_from_key(new_key())


def shipped_run(arch: str = "rnn", **changes) -> NewRun:
    """The shipped ``arch`` model's files and record, as an upload."""
    record = load_twin(SHIPPED / f"{arch}.npz").metadata
    values = dict(
        kind="upload", status="finished", arch=arch, name=f"shipped {arch}", dataset=record["dataset"],
        iterations=record["iterations"], val_accuracy=record["val_accuracy"], val_loss=record["val_loss"],
        config=record["config"], data_source=record["data_source"], curves=record["history"],
        metrics={"params": record["params"]}, confusion=np.arange(100).reshape(10, 10),
        model=(SHIPPED / f"{arch}.keras").read_bytes(), twin=(SHIPPED / f"{arch}.npz").read_bytes(),
    )
    return NewRun(**{**values, **changes})


def small_run(**changes) -> NewRun:
    return NewRun(**{"kind": "training", "status": "finished", "arch": "lstm", "twin": b"t" * 1000, **changes})


def run_python(script: str, *args: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT)


def finished(process: subprocess.Popen):
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out.splitlines()[-1])


def age_run(url: str, run_id: str, days: float) -> None:
    """Move a run's creation ``days`` into the past, straight in the database."""
    engine = create_engine(store_location(url).url)
    with engine.begin() as connection:
        created = connection.scalar(select(runs.c.created_at).where(runs.c.id == run_id))
        connection.execute(update(runs).where(runs.c.id == run_id).values(created_at=created - timedelta(days=days)))
    engine.dispose()


def count_rows(url: str, table) -> int:
    engine = create_engine(store_location(url).url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(table))
    engine.dispose()
    return count


class StoreContract:
    """Tests every database must pass; a subclass provides ``store_url``."""

    @pytest.fixture
    def store(self, store_url):
        with open_store(store_url, limits=RunLimits()) as store:
            yield store

    def test_a_run_comes_back_whole(self, store):
        owner = visitor()
        saved = store.save_run(owner, shipped_run("rnn"))
        assert saved.removed == () and saved.notice is None
        run = store.get_run(saved.id, viewer=owner)
        record = load_twin(SHIPPED / "rnn.npz").metadata
        assert (run.name, run.kind, run.status, run.arch, run.iterations) == ("shipped rnn", "upload", "finished",
                                                                             "rnn", record["iterations"])
        assert run.mine and run.val_accuracy == record["val_accuracy"]
        assert run.config == record["config"] and run.curves == record["history"]
        np.testing.assert_array_equal(run.confusion, np.arange(100).reshape(10, 10))
        assert store.model_bytes(saved.id) == (SHIPPED / "rnn.keras").read_bytes()
        arrays, record = twin_file_arrays(store.twin_bytes(saved.id))
        assert record["arch"] == "rnn"
        np.testing.assert_array_equal(twin_from_arrays(arrays).predict_logits(IMAGES),
                                      load_twin(SHIPPED / "rnn.npz").numpy_model.predict_logits(IMAGES))

    def test_listing_is_per_visitor_and_a_link_opens_for_anyone(self, store):
        alice, bob = visitor(), visitor()
        first = store.save_run(alice, small_run(name="first")).id
        second = store.save_run(alice, small_run(name="second", kind="compare", config={"runs": [first]},
                                                 twin=None)).id
        assert [run.id for run in store.list_runs(alice)] == [second, first]
        assert store.list_runs(bob) == []
        shared = store.get_run(first, viewer=bob)
        assert shared.name == "first" and not shared.mine and shared.link == f"/runs?id={first}"
        assert store.twin_bytes(first) == b"t" * 1000 and store.model_bytes(second) is None

    def test_only_the_owner_renames_or_deletes(self, store, store_url):
        alice, bob = visitor(), visitor()
        run_id = store.save_run(alice, small_run()).id
        with pytest.raises(RunNotFound, match="None of your runs"):
            store.rename(bob, run_id, "mine now")
        with pytest.raises(RunNotFound):
            store.delete(bob, run_id)
        assert store.rename(alice, run_id, "  a\tnew\nname " + "x" * 200) == ("a new name " + "x" * 200)[:NAME_MAX]
        with pytest.raises(UserError, match="printable"):
            store.rename(alice, run_id, " \n\x07 ")
        store.delete(alice, run_id)
        with pytest.raises(RunNotFound, match="deleted or has expired"):
            store.get_run(run_id)
        assert count_rows(store_url, run_blobs) == 0  # the files went with it (foreign keys on)

    def test_forget_deletes_every_run_of_that_visitor_only(self, store, store_url):
        alice, bob = visitor(), visitor()
        for _ in range(3):
            store.save_run(alice, small_run())
        kept = store.save_run(bob, small_run()).id
        assert store.forget_owner(alice) == 3
        assert store.list_runs(alice) == [] and [run.id for run in store.list_runs(bob)] == [kept]
        assert count_rows(store_url, run_blobs) == 1

    def test_past_the_run_limit_the_oldest_goes_and_the_save_says_so(self, store_url):
        owner = visitor()
        with open_store(store_url, limits=RunLimits(max_runs_per_visitor=2)) as store:
            ids = [store.save_run(owner, small_run(name=f"run {n}")).id for n in range(2)]
            saved = store.save_run(owner, small_run(name="run 2"))
            assert [(run.id, run.reason) for run in saved.removed] == [(ids[0], "over the limit of 2 runs")]
            assert "“run 0”" in saved.notice
            assert [run.name for run in store.list_runs(owner)] == ["run 2", "run 1"]

    def test_a_full_store_removes_the_visitors_oldest_or_refuses_changing_nothing(self, store_url):
        alice, bob = visitor(), visitor()
        blob = np.random.default_rng(1).bytes(400_000)
        with open_store(store_url, limits=RunLimits(max_store_mb=1)) as store:
            oldest = store.save_run(alice, small_run(twin=blob)).id
            store.save_run(alice, small_run(twin=blob))
            saved = store.save_run(alice, small_run(twin=blob))
            assert [run.id for run in saved.removed] == [oldest] and "1 MB" in saved.removed[0].reason
            kept = store.save_run(bob, small_run(twin=blob[:100_000])).id
            with pytest.raises(StoreFull, match="none of your older runs"):
                store.save_run(bob, small_run(twin=blob))  # removing bob's run is not enough: all undone
            assert [run.id for run in store.list_runs(bob)] == [kept] and len(store.list_runs(alice)) == 2
            with pytest.raises(StoreFull, match="more than the store's limit"):
                store.save_run(bob, small_run(twin=blob * 3))

    def test_runs_past_their_days_are_hidden_then_removed(self, store, store_url):
        owner = visitor()
        old = store.save_run(owner, small_run(name="old")).id
        age_run(store_url, old, days=31)
        assert store.list_runs(owner) == []
        with pytest.raises(RunNotFound):
            store.model_bytes(old)
        saved = store.save_run(owner, small_run())
        assert [(run.id, run.reason) for run in saved.removed] == [(old, "older than 30 days")]
        other = store.save_run(visitor(), small_run()).id
        age_run(store_url, other, days=40)
        assert store.purge_expired() == 1

    def test_a_diverged_runs_non_finite_numbers_are_stored_as_none(self, store):
        run = store.get_run(store.save_run(visitor(), small_run(
            status="diverged", val_loss=float("nan"), curves={"train_loss": [2.3, float("inf")]})).id)
        assert run.val_loss is None and run.curves == {"train_loss": [2.3, None]}

    def test_ids_and_names_are_bounded(self, store):
        for bad in ("../../etc/passwd", "x" * 5000, "' OR 1=1 --", 42):
            with pytest.raises(RunNotFound, match="not a run id"):
                store.get_run(bad)
        with pytest.raises(ValueError, match="hash"):
            store.list_runs(new_key())  # a raw key is never an owner
        with pytest.raises(ValueError, match="kind"):
            small_run(kind="download")
        run = store.get_run(store.save_run(visitor(), small_run(name="\x00" + "é" * 500)).id)
        assert run.name == "é" * NAME_MAX

    def test_the_migrations_build_the_schema_the_code_uses(self, store, store_url):
        engine = create_engine(store_location(store_url).url)
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        engine.dispose()
        assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION
        with open_store(store_url) as again:  # opening an up-to-date store migrates nothing
            assert again.list_runs(visitor()) == []

    def test_concurrent_writers_in_separate_processes_all_land(self, store_url):
        owners = [visitor() for _ in range(3)]
        writers = [run_python(WRITER, store_url, owner, "6") for owner in owners]  # racing to create it, too
        written = [finished(process) for process in writers]
        with open_store(store_url) as store:
            for owner, ids in zip(owners, written, strict=True):
                assert sorted(run.id for run in store.list_runs(owner)) == sorted(ids)
        reader = finished(run_python(READER, store_url, written[0][0]))
        assert reader == {"name": "GRU · 0 it", "twin": 10240}


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store_url(self, tmp_path):
        return f"sqlite:///{tmp_path}/runs.sqlite"


def test_the_default_store_is_a_wal_file_in_rnn_demo_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_DEMO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RNN_DEMO_DATABASE_URL", raising=False)
    with open_store() as store:
        store.save_run(visitor(), small_run())
        assert store.where == str(tmp_path / "home" / "runs.sqlite")
    with sqlite3.connect(tmp_path / "home" / "runs.sqlite") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA auto_vacuum").fetchone() == (1,)  # freed pages go back


def test_a_corrupt_file_is_one_store_error_naming_it(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database " * 200)
    with pytest.raises(StoreError) as caught:
        open_store(path)
    message = str(caught.value)
    assert message.startswith(f"Run store {path}: could not open it: the file is damaged") and "\n" not in message


def test_a_locked_database_is_one_store_error(tmp_path):
    path = tmp_path / "runs.sqlite"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with open_store(path, busy_seconds=0.2) as store, pytest.raises(StoreError, match="locked"):
            store.save_run(visitor(), small_run())
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_full_database_says_the_disk_is_full(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/tiny.sqlite")
    event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA max_page_count = 2"))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE filler (data BLOB)")
    with pytest.raises(StoreError, match=r"^Run store tiny: could not save a run: the disk is full \("):
        with store_failures("tiny", "save a run"), engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO filler VALUES (?)", (bytes(100_000),))
    engine.dispose()


def test_an_unreachable_server_is_named_without_its_password():
    from tests.postgres_server import free_port

    url = f"postgresql://rnn:secret@127.0.0.1:{free_port()}/runs"
    with pytest.raises(StoreError, match="the database server cannot be reached") as caught:
        open_store(url)
    assert "secret" not in str(caught.value) and "rnn:***@127.0.0.1" in str(caught.value)


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "runs.sqlite"
    open_store(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099_future'")
    with pytest.raises(StoreError, match="newer version of rnn_demo"):
        open_store(path)


def test_limits_and_url_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RNN_DEMO_MAX_RUNS_PER_VISITOR", "7")
    monkeypatch.setenv("RNN_DEMO_RUN_DAYS", "0.5")
    assert RunLimits.from_env() == RunLimits(max_runs_per_visitor=7, max_store_mb=2048, run_days=0.5)
    monkeypatch.setenv("RNN_DEMO_MAX_STORE_MB", "lots")
    with pytest.raises(ConfigError, match="RNN_DEMO_MAX_STORE_MB must be a number above 0; got 'lots'"):
        RunLimits.from_env()
    monkeypatch.setenv("RNN_DEMO_DATABASE_URL", "mysql://someone@db/runs")
    with pytest.raises(ConfigError, match="must start with postgresql://"):
        store_location()
    monkeypatch.setenv("RNN_DEMO_DATABASE_URL", "postgres://rnn:pw@db:5433/runs")
    location = store_location()
    assert location.url.drivername == "postgresql+psycopg" and location.shown == "postgres://rnn:***@db:5433/runs"


def runs_command(*argv: str) -> int:
    from rnn_demo.cli import runs as runs_cli

    parser = argparse.ArgumentParser()
    runs_cli.register(parser.add_subparsers(dest="command"))
    return runs_cli.run(parser.parse_args(["runs", *argv]))


def test_run_ids_never_start_with_a_dash_which_the_cli_would_read_as_an_option():
    # One token in 64 starts with "-": 5,000 ids would hold about 78 such if the retry were gone.
    ids = [new_run_id() for _ in range(5000)]
    assert not [run_id for run_id in ids if run_id.startswith("-")]
    assert len(set(ids)) == len(ids) and all(RUN_ID_PATTERN.fullmatch(run_id) for run_id in ids)
    assert sum(run_id.startswith("_") for run_id in ids) > 0  # the rest of the alphabet is kept


def test_a_cli_training_is_saved_listed_exported_and_deleted(tmp_path, monkeypatch, capsys, embedded_digits):
    from rnn_demo.cli.runs import save_training
    from rnn_demo.engine.persistence import load_model
    from rnn_demo.engine.training import train

    monkeypatch.setenv("RNN_DEMO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RNN_DEMO_DATABASE_URL", raising=False)
    result = train(TrainConfig(arch="gru", hidden_units=8, batch_size=100, iterations=3), embedded_digits)
    saved = save_training(result, name="for the class")
    assert saved["link"] == f"/runs?id={saved['run_id']}" and saved["removed"] == []
    assert (tmp_path / "home" / "cli-key").stat().st_mode & 0o077 == 0
    capsys.readouterr()

    assert runs_command("list", "--json") == 0
    (listed,) = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {key: listed[key] for key in ("id", "arch", "iterations", "status")} == {
        "id": saved["run_id"], "arch": "gru", "iterations": 3, "status": "finished"}
    assert listed["val_accuracy"] == pytest.approx(result.val_accuracy) and listed["created"]
    assert runs_command("show", saved["run_id"]) == 0
    assert "name: for the class" in capsys.readouterr().out

    out = tmp_path / "exported.keras"
    assert runs_command("export", saved["run_id"], "--out", str(out)) == 0
    loaded, twin = load_model(out), load_twin(tmp_path / "exported.npz")
    assert loaded.metadata["iterations"] == 3 and twin.metadata["arch"] == "gru"
    np.testing.assert_allclose(twin.numpy_model.predict_logits(IMAGES), loaded.model.predict_on_batch(IMAGES),
                               atol=1e-5)

    assert runs_command("delete", saved["run_id"]) == 0
    with pytest.raises(RunNotFound):
        runs_command("show", saved["run_id"])
