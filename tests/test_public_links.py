"""The shared addresses (app.links.public_link): the host's public URL when usable, else the browser's own."""

from __future__ import annotations

import pytest

from rnn_demo.app.links import MAX_BASE_CHARACTERS, PUBLIC_URL_VARIABLE, public_link

BROWSER = "http://rnn.lab.example:8501/learn?step=3#top"  # what st.context.url gives on the lesson


def lesson_link(public_url: str | None, browser_url: str | None = BROWSER) -> str:
    environ = {} if public_url is None else {PUBLIC_URL_VARIABLE: public_url}
    return public_link("learn", {"step": "4"}, browser_url=browser_url, on_page="learn", environ=environ)


def test_the_public_url_is_the_base_with_or_without_a_path():
    assert lesson_link("https://rnn.school.org") == "https://rnn.school.org/learn?step=4"
    assert lesson_link("https://rnn.school.org/app/") == "https://rnn.school.org/app/learn?step=4"
    assert lesson_link("  HTTP://10.1.2.3:8080/rnn  ") == "http://10.1.2.3:8080/rnn/learn?step=4"


def test_without_one_the_browser_location_less_its_page_query_and_fragment():
    assert lesson_link(None) == "http://rnn.lab.example:8501/learn?step=4"
    assert lesson_link("") == "http://rnn.lab.example:8501/learn?step=4"
    assert lesson_link(None, "https://proxy.example/base/learn/") == "https://proxy.example/base/learn?step=4"
    # Another page's address keeps its path: only the page named as on_page is taken off.
    assert public_link("runs", {"id": "r1"}, browser_url="http://h/myruns", on_page="runs",
                       environ={}) == "http://h/myruns/runs?id=r1"
    assert public_link("", None, browser_url="http://h:8501/", on_page="", environ={}) == "http://h:8501/"


def test_with_neither_the_link_is_relative():
    assert lesson_link(None, None) == "/learn?step=4"
    assert lesson_link(None, "") == "/learn?step=4"


@pytest.mark.parametrize("hostile", [
    "javascript:alert(1)",
    "ftp://files.example/app",
    "file:///etc/passwd",
    "rnn.school.org",  # no scheme
    "https://",  # no host
    "https://rnn.school.org/?next=https://evil.example",
    "https://rnn.school.org/app#fragment",
    "https://rnn.school.org@evil.example/",  # a user name that makes the host read as another
    "https://rnn.school.org/a b",
    "https://rnn.school.org/\n<script>",
    "https://[::1/app",  # an unclosed IPv6 bracket
    "https://rnn.school.org/" + "a" * MAX_BASE_CHARACTERS,
])
def test_a_hostile_public_url_falls_back_to_the_browser_location(hostile):
    assert lesson_link(hostile) == "http://rnn.lab.example:8501/learn?step=4"


@pytest.mark.parametrize("hostile", ["javascript:alert(1)//learn", "http://" + "a" * 400 + "/learn",
                                     "data:text/html,<b>x</b>"])
def test_a_hostile_browser_location_gives_a_relative_link(hostile):
    assert lesson_link(None, hostile) == "/learn?step=4"


def test_query_values_are_escaped():
    link = public_link("class", {"code": "A&B=C D"}, browser_url=None, on_page="class", environ={})
    assert link == "/class?code=A%26B%3DC+D"


def test_the_lesson_shows_the_public_address_when_the_host_sets_one(monkeypatch):
    from tests.test_app import open_page

    monkeypatch.setenv(PUBLIC_URL_VARIABLE, "https://rnn.school.org/lab/")
    at = open_page("learn", step="2")
    assert "https://rnn.school.org/lab/learn?step=2" in [block.value for block in at.code]
    monkeypatch.delenv(PUBLIC_URL_VARIABLE)
    at.run()  # AppTest's browser sends no location: the link is then relative, never the bind address
    assert "/learn?step=2" in [block.value for block in at.code]
