"""Hostile visitors against a real server (issue 21): `streamlit run app.py`, its real worker
processes, driven by Chromium; the attacks themselves are in ``tests/hostile_support.py``.

Here: the canvas that sends a 9000×9000 picture (attack 1), a link that would hold a training
slot for an hour (attack 5), a link that injects a link and an image into the app's own
warning box (attack 6), and a Train click after a worker was SIGKILLed mid-training (point 9);
the uploads (attacks 2–4) are in ``tests/test_hostile_uploads.py``. For each, the server
answers ``/_stcore/health`` throughout, the web process grows by under 150 MiB, and the
attacker reads a clear sentence and no exception box. How fast another visitor trains
meanwhile is a timing: ``bench/hostile.py``.
"""

from __future__ import annotations

import pytest

from tests.harness import Server
from tests.hostile_support import (
    evil_elements,
    hog_the_slots,
    huge_picture_url,
    inject_a_link,
    overlong_picture_url,
    send_a_huge_picture,
    train_after_a_killed_worker,
    unharmed,
)

pytestmark = pytest.mark.browser
VIEWPORT = {"width": 1400, "height": 1400}  # conftest's page fixture reads it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with Server(env={"RNN_DEMO_HOME": str(home)}) as running:
        yield running


@pytest.mark.parametrize(("picture", "sentence"), [
    (huge_picture_url, "The drawing could not be read: the picture is over 1,254,400 pixels"),
    (overlong_picture_url, "The drawing could not be read: 506,592 characters is over the 505,580"),
])
def test_a_huge_canvas_picture_is_refused_in_a_sentence(server, page, picture, sentence):
    assert sentence in unharmed(server, send_a_huge_picture, page, data_url=picture())


@pytest.mark.parametrize(("name", "parameter"), [("inside", "arch"), ("learn", "step"), ("train", "arch"),
                                                 ("train", "hidden")])
def test_a_link_cannot_inject_a_link_or_an_image(server, page, name, parameter):
    alert = unharmed(server, inject_a_link, page, name=name, parameter=parameter)
    assert evil_elements(page) == 0
    assert "[Log in again](https://evil.example/login)" in alert, "the visitor is not told what the link said"


def test_a_slot_hogging_link_is_refused_with_its_estimate(server, page):
    refusal = unharmed(server, hog_the_slots, page)
    assert "would take about" in refusal and "budget of 5 min" in refusal


def test_a_train_click_after_a_killed_worker_starts_a_training(server, page):
    told = unharmed(server, train_after_a_killed_worker, page)
    assert "the worker process stopped unexpectedly" in told
