"""Hostile uploads against a real server (issue 21, attacks 2–4): `streamlit run app.py` and its
real workers, a file sent through /draw's model uploader in Chromium.

The files are the reported ones (``tests/hostile_support.py``): a 250 KB file of an 8,000-unit
SimpleRNN with zero weights, a 1.1 MB file whose ``rnn_demo.json`` inflates to 1 GiB, and a file
whose config says a 12,000-unit LSTM. Each is refused in a sentence that names the file and what
is over the cap, while the server answers ``/_stcore/health`` throughout and the web process
grows by under 150 MiB; no worker holds on to it (the next training is
``tests/test_hostile_visitors.py``'s). Another visitor's pace meanwhile: ``bench/hostile.py``.
"""

from __future__ import annotations

import pytest

from tests.harness import Server
from tests.hostile_support import (
    metadata_bomb_file,
    slow_model_file,
    unharmed,
    upload,
    wide_model_file,
)

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1400, "height": 1400}  # conftest's page fixture reads it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with Server(env={"RNN_DEMO_HOME": str(home)}) as running:
        yield running


@pytest.mark.parametrize(("name", "build", "sentence"), [
    ("wide.keras", wide_model_file, "wide.keras: 'model.weights.h5' inside is 256,"),
    ("bomb.keras", metadata_bomb_file, "bomb.keras: 'rnn_demo.json' inside is 1,073,741,824 bytes; "
                                       "this server reads at most"),
    ("slow.keras", slow_model_file, "its LSTM layer has 12000 units; this server reads 1 to 256"),
])
def test_a_hostile_upload_is_refused_in_a_sentence(server, page, name, build, sentence):
    def send(page, server, begin):
        return upload(page, server, name, build(), begin)

    send.__name__ = f"upload {name}"
    said = unharmed(server, send, page)
    assert sentence in said
    assert "\n" not in said.strip(), "more than one sentence"
