"""The run store's tables, as SQLAlchemy Core metadata (one definition for SQLite and PostgreSQL).

``runs`` holds what a listing or a read-only view shows; ``run_blobs`` holds
the files (the ``.keras`` bytes and the NumPy twin's ``.npz`` bytes), so that
listing never loads them. ``store_lock`` has one row that every save locks, so
the per-visitor limits hold across processes. The migrations in
``migrations/versions`` build exactly this (a test compares them).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
)

SCHEMA_REVISION = "0002_classes"  # the newest file in migrations/versions (a test checks)
KINDS = ("training", "upload", "compare")
STATUSES = ("finished", "stopped", "failed", "diverged")
RUN_ID_LENGTH = 22  # runs.new_run_id: secrets.token_urlsafe(16), 128 random bits
RUN_ID_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{{RUN_ID_LENGTH}}}")
NAME_MAX = 80
SHORT_TEXT = 32
DATA_SOURCE_MAX = 200


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC time, stored as a plain timestamp on every dialect."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

runs = Table(
    "runs", metadata,
    Column("id", String(RUN_ID_LENGTH), primary_key=True),
    Column("owner", String(64), nullable=False),  # settings.owner_from_key's hash
    Column("name", String(NAME_MAX), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("arch", String(SHORT_TEXT), nullable=False),
    Column("dataset", String(SHORT_TEXT), nullable=False),
    Column("iterations", Integer, nullable=False),
    Column("val_accuracy", Float),  # null: not scored, or not a finite number
    Column("val_loss", Float),
    Column("config", JSON, nullable=False),  # TrainConfig.to_dict(), or a Compare set's run ids
    Column("data_source", String(DATA_SOURCE_MAX), nullable=False),
    Column("curves", JSON, nullable=False),  # History.to_dict()
    Column("metrics", JSON, nullable=False),  # params, timings, device, message, …
    Column("confusion", JSON),  # confusion[true][predicted], 10 × 10 counts
    Column("size_bytes", BigInteger, nullable=False),  # what the run holds, blobs included
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(_one_of("kind", KINDS), name="kind"),
    CheckConstraint(_one_of("status", STATUSES), name="status"),
    Index(None, "owner", "created_at"),
)

run_blobs = Table(
    "run_blobs", metadata,
    Column("run_id", String(RUN_ID_LENGTH), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("model", LargeBinary),  # the .keras file
    Column("twin", LargeBinary),  # the NumPy twin's .npz file
)

store_lock = Table("store_lock", metadata, Column("id", Integer, primary_key=True, autoincrement=False))

# A class (rnn_demo.store.classes): a teacher's join code, its students and the runs they posted.
CLASS_CODE_LENGTH = 6
NICKNAME_MAX = 24
POST_STATES = ("posted", "unposted", "removed")  # removed: by the teacher; unposted: by the student

classes = Table(
    "classes", metadata,
    Column("code", String(CLASS_CODE_LENGTH), primary_key=True),
    Column("teacher", String(64), nullable=False),  # the owner hash of the visitor who created it
    Column("assignment", JSON),  # an optional preset of recipe and hyperparameters
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),  # set: no more joins or posts
    Index(None, "teacher"),
)

students = Table(
    "students", metadata,
    Column("class_code", String(CLASS_CODE_LENGTH), ForeignKey("classes.code", ondelete="CASCADE"),
           primary_key=True),
    Column("owner", String(64), primary_key=True),
    Column("nickname", String(NICKNAME_MAX), nullable=False),
    Column("joined_at", UTCDateTime, nullable=False),
    Index(None, "owner"),
)

posts = Table(
    "posts", metadata,
    Column("class_code", String(CLASS_CODE_LENGTH), ForeignKey("classes.code", ondelete="CASCADE"),
           primary_key=True),
    Column("run_id", String(RUN_ID_LENGTH), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("posted_at", UTCDateTime, nullable=False),
    CheckConstraint(_one_of("state", POST_STATES), name="state"),
    Index(None, "class_code", "posted_at"),
)
