"""Where the run store lives, the limits a host sets on it, and who owns a run.

* The store is a SQLite file, ``$RNN_DEMO_HOME/runs.sqlite`` (``RNN_DEMO_HOME``
  defaults to ``~/.rnn-demo``), unless ``RNN_DEMO_DATABASE_URL`` names a
  PostgreSQL server (``postgresql://user:password@host:port/database``), which
  several app replicas, the CLI and Ray workers can then share.
* :class:`RunLimits` reads ``RNN_DEMO_MAX_RUNS_PER_VISITOR``,
  ``RNN_DEMO_MAX_STORE_MB`` and ``RNN_DEMO_RUN_DAYS``.
* A visitor is an anonymous random key their browser (or this machine's CLI)
  keeps; the store only ever sees :func:`owner_from_key`'s hash of it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from rnn_demo.config import ConfigError, positive_setting

HOME_VARIABLE = "RNN_DEMO_HOME"
URL_VARIABLE = "RNN_DEMO_DATABASE_URL"
DEFAULT_HOME = Path("~") / ".rnn-demo"
STORE_FILE = "runs.sqlite"
# SQLAlchemy drivers for the schemes a host may write; plain postgresql:// means psycopg 3.
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "sqlite": "sqlite+pysqlite",
}
BYTES_PER_MB = 1_000_000
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,128}")
OWNER_PATTERN = re.compile(r"[0-9a-f]{64}")


def home() -> Path:
    """The folder that holds this machine's store and CLI key (created on first use)."""
    folder = Path(os.environ.get(HOME_VARIABLE) or DEFAULT_HOME).expanduser()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


@dataclass(frozen=True)
class StoreLocation:
    """The engine URL of a store and how to name it to people (no password)."""

    url: URL
    shown: str

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


def store_location(url: str | os.PathLike | None = None) -> StoreLocation:
    """Resolve ``url``, else ``$RNN_DEMO_DATABASE_URL``, else the default SQLite file.

    ``url`` may be a database URL (``postgresql://…``, ``sqlite:///path``) or a
    file path, which means a SQLite file there.
    """
    if url is None:
        url = os.environ.get(URL_VARIABLE) or None
    if url is None:
        url = home() / STORE_FILE
    if isinstance(url, os.PathLike) or "://" not in url:
        path = Path(url).expanduser().absolute()
        return StoreLocation(URL.create("sqlite+pysqlite", database=str(path)), str(path))
    try:
        given = make_url(url)
    except ArgumentError as error:
        raise ConfigError(f"{URL_VARIABLE} or the store URL is not a database URL: {error}") from error
    shown = given.render_as_string(hide_password=True)
    if given.drivername not in DRIVERS:
        raise ConfigError(
            f"the run store URL {shown} must start with postgresql:// or sqlite:///; "
            f"got the scheme {given.drivername!r}"
        )
    engine_url = given.set(drivername=DRIVERS[given.drivername])
    if engine_url.get_backend_name() == "sqlite":
        if not engine_url.database or engine_url.database == ":memory:":
            raise ConfigError(f"the run store URL {shown} must name a SQLite file")
        shown = engine_url.database
    return StoreLocation(engine_url, shown)


@dataclass(frozen=True)
class RunLimits:
    """What one host lets its visitors keep. Past a limit the visitor's oldest runs go."""

    max_runs_per_visitor: int = 50
    max_store_mb: float = 2048.0
    run_days: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.max_runs_per_visitor, bool) or not isinstance(self.max_runs_per_visitor, int) \
                or self.max_runs_per_visitor < 1:
            raise ConfigError(f"the runs kept per visitor must be at least 1; got {self.max_runs_per_visitor!r}")
        for name in ("max_store_mb", "run_days"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{name} must be a number above 0; got {value!r}")

    @property
    def max_store_bytes(self) -> int:
        return int(self.max_store_mb * BYTES_PER_MB)

    @classmethod
    def from_env(cls) -> RunLimits:
        """Read the three ``RNN_DEMO_…`` variables; an unset one keeps its default."""
        defaults = cls()
        return cls(
            max_runs_per_visitor=positive_setting("RNN_DEMO_MAX_RUNS_PER_VISITOR", int, defaults.max_runs_per_visitor),
            max_store_mb=positive_setting("RNN_DEMO_MAX_STORE_MB", float, defaults.max_store_mb),
            run_days=positive_setting("RNN_DEMO_RUN_DAYS", float, defaults.run_days),
        )


def new_key() -> str:
    """A fresh anonymous visitor key (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def owner_from_key(key: str) -> str:
    """The owner a store records for ``key``: a SHA-256 hash, so the key itself is never stored."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError("a visitor key is 16 to 128 letters, digits, - or _; got something else")
    return hashlib.sha256(f"rnn-demo-owner:{key}".encode()).hexdigest()


def check_owner(owner: str) -> str:
    """``owner`` if it is an :func:`owner_from_key` hash (never a raw key)."""
    if not isinstance(owner, str) or not OWNER_PATTERN.fullmatch(owner):
        raise ValueError("an owner is the 64-hex-digit hash owner_from_key returns, not a raw key")
    return owner
