"""The run store's tests again, against a real PostgreSQL server the tests start themselves.

Debian's ``postgresql`` binaries (``make test`` installs them) run a throwaway
server on a loopback port (tests/postgres_server.py); every test gets an
empty database. Missing binaries fail the tests with what to install.
"""

from __future__ import annotations

import pytest

from rnn_demo.store import StoreError, open_store
from tests.postgres_server import PostgresServer
from tests.test_store import READER, WRITER, StoreContract, finished, run_python, small_run, visitor


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store_url(self, postgres):
        return postgres.create_database()


def test_two_processes_sharing_the_store_see_each_others_runs_by_id(postgres):
    url = postgres.create_database()
    writers = [run_python(WRITER, url, visitor(), "1") for _ in range(2)]
    (first,), (second,) = (finished(process) for process in writers)
    readers = [run_python(READER, url, second), run_python(READER, url, first)]  # each reads the other's
    assert [finished(process) for process in readers] == [{"name": "GRU · 0 it", "twin": 10240}] * 2


def test_a_server_that_goes_away_is_one_store_error_naming_it():
    with PostgresServer() as server:
        url = server.create_database()
        store = open_store(url)
        owner = visitor()
        store.save_run(owner, small_run())
    with pytest.raises(StoreError, match="could not list runs: the database server cannot be reached") as caught:
        store.list_runs(owner)
    assert f"127.0.0.1:{server.port}" in str(caught.value) and "\n" not in str(caught.value)
    store.close()
