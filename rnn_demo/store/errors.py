"""The run store's two errors meant for people, and the sentence a database failure becomes.

:class:`StoreError`: the store itself is in a bad state (corrupt, locked,
full, unreachable, from a newer version); the app then still serves the
shipped models. :class:`RunNotFound`: an id names no run (deleted, expired,
mistyped, or not the visitor's to change).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from rnn_demo.errors import UserError

# What a driver's message means, for the sentence (first match wins; lower case).
REASONS = (
    (("file is not a database", "malformed", "corrupt"), "the file is damaged or is not a SQLite database"),
    (("database is locked", "database table is locked"),
     "another process kept the database locked past the busy timeout"),
    (("disk is full", "no space left", "could not extend file", "disk quota"), "the disk is full"),
    (("unable to open database file",), "the file cannot be opened (does its folder exist, and is it writable?)"),
    (("readonly database", "read-only"), "the database is read-only"),
    (("connection refused", "could not connect", "timeout expired", "could not translate host",
      "name or service not known", "no route to host", "server closed the connection",
      "connection is closed", "terminating connection"), "the database server cannot be reached"),
    (("password authentication failed", "no pg_hba.conf entry", "role \""), "the server refused the login"),
    (("can't locate revision",), "its schema was written by a newer version of rnn_demo"),
)


class StoreError(UserError, RuntimeError):
    """The run store cannot do what was asked; the message names the store and what failed."""


class StoreFull(StoreError):
    """A run does not fit within the host's store size, even after removing the visitor's older runs."""


class RunNotFound(UserError, LookupError):
    """No run has this id (or none of the visitor's own, for a change)."""


def describe(where: str, action: str, error: BaseException) -> str:
    """One sentence: which store, what it was doing, what failed (and the driver's own words)."""
    detail = _first_line(error.orig if isinstance(error, DBAPIError) and error.orig else error)
    lowered = detail.lower()
    reason = next((text for needles, text in REASONS if any(needle in lowered for needle in needles)), None)
    said = f"{reason} ({detail})" if reason else detail
    return f"Run store {where}: could not {action}: {said}."


@contextlib.contextmanager
def store_failures(where: str, action: str) -> Iterator[None]:
    """Turn a database or file-system failure inside the block into a :class:`StoreError`."""
    try:
        yield
    except (SQLAlchemyError, OSError) as error:
        raise StoreError(describe(where, action, error)) from error


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0].rstrip(".")
