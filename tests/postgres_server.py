"""A real PostgreSQL server for tests: Debian's binaries, a temporary folder, a loopback port.

``with PostgresServer() as server:`` runs ``initdb`` and ``pg_ctl start`` (as
the unprivileged ``postgres`` user when the tests run as root, since the
server refuses root), and ``server.create_database()`` gives each test an
empty database's URL. Missing binaries fail with a message saying what to
install (``make test`` installs Debian's ``postgresql``); nothing is skipped.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

BINARIES = "/usr/lib/postgresql/*/bin"
USER = "rnn"
# A throwaway server: durability is not needed, start-up and commits should be quick.
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def postgres_binaries() -> Path:
    """The newest installed PostgreSQL's ``bin`` folder, or ``RuntimeError`` saying what to install."""
    found = sorted(glob.glob(BINARIES), key=lambda path: int(Path(path).parent.name)
                   if Path(path).parent.name.isdigit() else 0)
    for folder in reversed(found):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise RuntimeError(f"no PostgreSQL server binaries (initdb, pg_ctl) in {BINARIES}: install Debian's "
                       "postgresql (`apt-get install postgresql`; `make test` does it)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One PostgreSQL server in its own temporary folder, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        self.binaries = postgres_binaries()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="rnn_demo_pg_"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres")

    @property
    def admin_url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def start(self) -> PostgresServer:
        data = self.folder / "db"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", USER, "--no-sync", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "log"), "-w", "-t", "60", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.folder} {SERVER_OPTIONS}", "start")
        return self

    def stop(self) -> None:
        if (self.folder / "db" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.folder / "db"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database on this server; its URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def log(self) -> str:
        path = self.folder / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc) -> None:
        self.stop()

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
                               f"\n{self.log()[-2000:]}")
