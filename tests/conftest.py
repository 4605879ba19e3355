"""Shared fixtures: the embedded MNIST sample and models trained on it for real.

Training happens once per test session (session-scoped fixtures) so that the
parity, trace and canvas tests share the same few seconds of ``model.fit``.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

# Tests never download: the data layer falls back to the embedded sample at
# once (tests of the downloader itself point it at a closed loopback port).
os.environ["RNN_DEMO_OFFLINE"] = "1"
# Every run store the suite opens (the app's, a server's, the CLI's) lives in a
# folder of its own, never in the user's ~/.rnn-demo or a configured PostgreSQL;
# a test that needs its own store sets RNN_DEMO_HOME itself.
os.environ["RNN_DEMO_HOME"] = tempfile.mkdtemp(prefix="rnn-demo-tests-")
os.environ["RNN_DEMO_DATABASE_URL"] = ""

from rnn_demo.config import TrainConfig
from rnn_demo.data.reduction import reduce_images
from rnn_demo.data.sources import Dataset, load_embedded
from rnn_demo.engine.models import build_model, compile_model

DEFAULT_VIEWPORT = {"width": 1400, "height": 1200}  # a browser test module may set VIEWPORT


def pytest_unconfigure(config):
    shutil.rmtree(os.environ["RNN_DEMO_HOME"], ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (``tests/harness.py``), one per browser-test module."""
    from playwright.sync_api import sync_playwright

    from tests.harness import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A new visitor: a fresh browser context, as large as the module's ``VIEWPORT``."""
    context = browser.new_context(viewport=getattr(request.module, "VIEWPORT", DEFAULT_VIEWPORT))
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def worker_pool():
    """One real, warm worker process (the app's local pool), shared by the tests that train through it."""
    from rnn_demo.compute.local_pool import WorkerPool

    pool = WorkerPool(1)
    pool.wait_until_warm()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def embedded_digits() -> Dataset:
    """The embedded 5,000-digit sample: 4,000 training / 1,000 validation digits."""
    return load_embedded()


def _fit(config: TrainConfig, digits: Dataset, epochs: int):
    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    compile_model(model, config.learning_rate)
    model.fit(
        reduce_images(digits.x_train),
        digits.y_train,
        batch_size=config.batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
    )
    return model


@pytest.fixture(scope="session")
def train_for_real(embedded_digits):
    """``train(config, epochs) -> keras.Model``: build ``config``'s model and fit it
    on the 4,000 training digits reduced to 16×16 (batch 500: 8 Adam steps an epoch)."""

    def train(config: TrainConfig, epochs: int):
        return _fit(config, embedded_digits, epochs)

    return train


@pytest.fixture(scope="session")
def trained_lstm(train_for_real):
    """The chapter's LSTM recipe (hidden 64, lr 0.01, batch 500), 96 Adam steps."""
    return train_for_real(TrainConfig(arch="lstm"), epochs=12)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server on a loopback port (tests/postgres_server.py), one for the session."""
    from tests.postgres_server import PostgresServer

    try:
        server = PostgresServer()
    except RuntimeError as error:  # no server binaries: say what to install
        pytest.fail(str(error))
    with server:
        yield server


@pytest.fixture
def app_store(tmp_path, monkeypatch):
    """The run store the app opens: a SQLite file in this test's own RNN_DEMO_HOME."""
    from rnn_demo.store import open_store

    monkeypatch.setenv("RNN_DEMO_HOME", str(tmp_path))
    monkeypatch.delenv("RNN_DEMO_DATABASE_URL", raising=False)
    with open_store() as opened:
        yield opened
