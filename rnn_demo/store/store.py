"""The run store: every visitor's runs in SQLite or PostgreSQL, through SQLAlchemy Core.

:func:`open_store` connects, brings the schema up to date (the Alembic
migrations in ``migrations/``, applied in one locked transaction) and returns
a :class:`RunStore`. Every write is one transaction, so a run is stored whole
or not at all; a save also applies the host's :class:`RunLimits` and says
which of the visitor's older runs it removed. Database failures become one
:class:`StoreError` naming the store and what failed.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)

from rnn_demo.errors import UserError
from rnn_demo.store.errors import RunNotFound, StoreError, StoreFull, describe, store_failures
from rnn_demo.store.runs import (
    NewRun,
    RemovedRun,
    Run,
    RunSummary,
    SaveResult,
    check_run_id,
    clean_name,
    new_run_id,
)
from rnn_demo.store.schema import SCHEMA_REVISION, run_blobs, runs, store_lock
from rnn_demo.store.settings import (
    BYTES_PER_MB,
    RunLimits,
    StoreLocation,
    check_owner,
    store_location,
)

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_SECONDS = 10.0  # how long a SQLite writer waits for another one before giving up
CONNECT_SECONDS = 10  # how long a PostgreSQL connection attempt may take
MIGRATION_LOCK = 0x726E6E  # PostgreSQL advisory lock key ("rnn") held while migrating
# Alembic's own record of the revision a database is at (read without importing Alembic).
alembic_version = Table("alembic_version", MetaData(), Column("version_num", String(32)))

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the store's migrations (no ``alembic.ini``)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def open_store(url: str | os.PathLike | None = None, *, limits: RunLimits | None = None,
               busy_seconds: float = BUSY_SECONDS) -> RunStore:
    """Open (creating or migrating as needed) the store at ``url``.

    ``url``: a ``postgresql://`` or ``sqlite:///`` URL or a file path; ``None``
    means ``$RNN_DEMO_DATABASE_URL``, else ``$RNN_DEMO_HOME/runs.sqlite``.
    ``limits`` default to :meth:`RunLimits.from_env`. Raises :class:`StoreError`.
    """
    location, limits = store_location(url), limits or RunLimits.from_env()
    engine = _engine(location, busy_seconds)
    store = RunStore(engine, location.shown, limits)
    try:
        with store_failures(location.shown, "open it"):
            _migrate(engine, location.shown)
    except BaseException:
        store.close()
        raise
    return store


def _migrate(engine: Engine, where: str) -> None:
    """Bring the schema to :data:`SCHEMA_REVISION`, under a lock, unless it is there already."""
    with engine.execution_options(store_reads=True).connect() as connection:
        if inspect(connection).has_table(alembic_version.name) and \
                connection.scalar(select(alembic_version.c.version_num)) == SCHEMA_REVISION:
            return
    from alembic import command
    from alembic.util import CommandError

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as error:  # e.g. a revision this version does not know
            raise StoreError(describe(where, "open it", error)) from error


def _engine(location: StoreLocation, busy_seconds: float) -> Engine:
    if not location.is_sqlite:
        return create_engine(location.url, pool_pre_ping=True,
                             connect_args={"connect_timeout": CONNECT_SECONDS})
    with store_failures(location.shown, "create its folder"):
        Path(location.url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(location.url, connect_args={"timeout": busy_seconds, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below emits BEGIN itself
        cursor = dbapi_connection.cursor()
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new file: deletions shrink it
            cursor.execute("PRAGMA auto_vacuum = FULL")
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON",
                       f"busy_timeout = {int(busy_seconds * 1000)}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the write lock at once, so it waits (busy timeout) instead of failing
        # when another process commits between its read and its write.
        reads = connection.get_execution_options().get("store_reads", False)
        connection.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")

    return engine


class RunStore:
    """The runs of every visitor. Owners are :func:`~rnn_demo.store.settings.owner_from_key` hashes."""

    def __init__(self, engine: Engine, where: str, limits: RunLimits):
        self._engine = engine
        self._reader = engine.execution_options(store_reads=True)
        self.where = where
        self.limits = limits

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's connections."""
        self._engine.dispose()

    def save_run(self, owner: str, run: NewRun) -> SaveResult:
        """Store ``run`` for ``owner`` in one transaction; its id and what the limits removed.

        Raises :class:`StoreFull` (nothing changed) when the run cannot fit the store.
        """
        owner = check_owner(owner)
        values = run.row()
        limit = self.limits.max_store_bytes
        if values["size_bytes"] > limit:
            raise StoreFull(f"Run store {self.where}: could not save the run: it holds "
                            f"{values['size_bytes'] / BYTES_PER_MB:.1f} MB, more than the store's "
                            f"limit of {self.limits.max_store_mb:g} MB.")
        run_id, now = new_run_id(), _now()
        with self._write("save a run") as connection:
            connection.execute(select(store_lock.c.id).with_for_update())  # one save at a time
            connection.execute(insert(runs).values(
                id=run_id, owner=owner, created_at=now, updated_at=now, **values))
            if run.model is not None or run.twin is not None:
                connection.execute(insert(run_blobs).values(run_id=run_id, model=run.model, twin=run.twin))
            removed = self._apply_limits(connection, owner, run_id, now)
        return SaveResult(run_id, tuple(removed))

    def _apply_limits(self, connection: Connection, owner: str, run_id: str, now: datetime) -> list[RemovedRun]:
        """Remove the owner's expired runs, then the oldest past the count and size limits."""
        limits = self.limits
        older = connection.execute(
            select(runs.c.id, runs.c.name, runs.c.created_at, runs.c.size_bytes)
            .where(runs.c.owner == owner, runs.c.id != run_id)
            .order_by(runs.c.created_at, runs.c.id)
        ).all()
        cutoff = now - timedelta(days=limits.run_days)
        expired = [row for row in older if row.created_at < cutoff]
        kept = [row for row in older if row.created_at >= cutoff]
        over_count = max(0, len(kept) + 1 - limits.max_runs_per_visitor)
        removed = [RemovedRun(row.id, row.name, f"older than {limits.run_days:g} days") for row in expired]
        removed += [RemovedRun(row.id, row.name, f"over the limit of {limits.max_runs_per_visitor} runs")
                    for row in kept[:over_count]]
        kept = kept[over_count:]
        gone = {run.id for run in removed}
        total = connection.scalar(select(func.coalesce(func.sum(runs.c.size_bytes), 0))) - sum(
            row.size_bytes for row in older if row.id in gone)
        while total > limits.max_store_bytes and kept:
            row = kept.pop(0)
            removed.append(RemovedRun(row.id, row.name, f"the store is over its {limits.max_store_mb:g} MB"))
            total -= row.size_bytes
        if total > limits.max_store_bytes:
            raise StoreFull(f"Run store {self.where}: could not save the run: the store holds "
                            f"{total / BYTES_PER_MB:.1f} MB with it, over its limit of "
                            f"{limits.max_store_mb:g} MB, and none of your older runs is left to remove.")
        if removed:
            connection.execute(delete(runs).where(runs.c.id.in_([run.id for run in removed])))
        return removed

    def get_run(self, run_id: str, viewer: str | None = None) -> Run:
        """The read-only view of a run, for anyone with its id; ``mine`` says whether ``viewer`` owns it."""
        run_id = check_run_id(run_id)
        with self._read("read a run") as connection:
            row = connection.execute(select(runs).where(runs.c.id == run_id, self._current())).first()
        if row is None:
            raise _not_found(run_id)
        confusion = None if row.confusion is None else np.array(row.confusion, dtype=np.int64)
        return Run(**_summary_values(row, viewer), curves=row.curves, metrics=row.metrics, confusion=confusion)

    def list_runs(self, owner: str) -> list[RunSummary]:
        """``owner``'s runs, newest first (no curves, no files loaded)."""
        owner = check_owner(owner)
        columns = [runs.c[name] for name in RunSummary.__dataclass_fields__ if name not in ("mine", "created",
                                                                                          "updated")]
        with self._read("list runs") as connection:
            rows = connection.execute(
                select(*columns, runs.c.owner, runs.c.created_at, runs.c.updated_at)
                .where(runs.c.owner == owner, self._current())
                .order_by(runs.c.created_at.desc(), runs.c.id)
            ).all()
        return [RunSummary(**_summary_values(row, owner)) for row in rows]

    def rename(self, owner: str, run_id: str, name: str) -> str:
        """Rename one of ``owner``'s runs; the name as stored (one line, capped)."""
        owner, run_id, name = check_owner(owner), check_run_id(run_id), clean_name(name)
        if not name:
            raise UserError("A run's name needs at least one printable character.")
        with self._write("rename a run") as connection:
            changed = connection.execute(
                update(runs).where(runs.c.id == run_id, runs.c.owner == owner)
                .values(name=name, updated_at=_now())
            ).rowcount
        if not changed:
            raise _not_found(run_id, yours=True)
        return name

    def delete(self, owner: str, run_id: str) -> None:
        """Delete one of ``owner``'s runs and its files."""
        owner, run_id = check_owner(owner), check_run_id(run_id)
        with self._write("delete a run") as connection:
            deleted = connection.execute(delete(runs).where(runs.c.id == run_id, runs.c.owner == owner)).rowcount
        if not deleted:
            raise _not_found(run_id, yours=True)

    def forget_owner(self, owner: str) -> int:
        """Delete all of ``owner``'s runs ("Forget my runs"); how many there were."""
        owner = check_owner(owner)
        with self._write("forget your runs") as connection:
            return connection.execute(delete(runs).where(runs.c.owner == owner)).rowcount

    def purge_expired(self) -> int:
        """Delete every visitor's runs older than the host's ``run_days``; how many went."""
        with self._write("remove expired runs") as connection:
            return connection.execute(delete(runs).where(~self._current())).rowcount

    def model_bytes(self, run_id: str) -> bytes | None:
        """The run's ``.keras`` file (``None`` if it has none, as a Compare set)."""
        return self._blob(run_id, run_blobs.c.model)

    def twin_bytes(self, run_id: str) -> bytes | None:
        """The run's NumPy twin ``.npz`` file (``None`` if it has none)."""
        return self._blob(run_id, run_blobs.c.twin)

    def _blob(self, run_id: str, column) -> bytes | None:
        run_id = check_run_id(run_id)
        with self._read("read a run's files") as connection:
            row = connection.execute(
                select(runs.c.id, column).select_from(runs.outerjoin(run_blobs))
                .where(runs.c.id == run_id, self._current())
            ).first()
        if row is None:
            raise _not_found(run_id)
        return None if row[1] is None else bytes(row[1])

    def _current(self):
        """The runs still within the host's ``run_days``."""
        return runs.c.created_at >= _now() - timedelta(days=self.limits.run_days)

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        with store_failures(self.where, action), self._engine.begin() as connection:
            yield connection

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[Connection]:
        with store_failures(self.where, action), self._reader.connect() as connection:
            yield connection


def _summary_values(row, viewer: str | None) -> dict:
    values = {name: getattr(row, name) for name in RunSummary.__dataclass_fields__
              if name not in ("mine", "created", "updated")}
    return {**values, "created": row.created_at, "updated": row.updated_at, "mine": row.owner == viewer}


def _not_found(run_id: str, yours: bool = False) -> RunNotFound:
    if yours:
        return RunNotFound(f"None of your runs has the id {run_id}: it was deleted, has expired, "
                           "or belongs to someone else (their link opens it read-only).")
    return RunNotFound(f"There is no run {run_id}: it was deleted or has expired, or the link is mistyped.")


def _now() -> datetime:
    return datetime.now(timezone.utc)

