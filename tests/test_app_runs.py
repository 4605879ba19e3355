"""The visitor's runs in the app (AppTest, a real store in a temporary RNN_DEMO_HOME).

A visitor is the owner hash their browser's key gives (``rnn_demo.ui.visitor``);
AppTest has no browser, so each test puts that hash in the session itself.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rnn_demo.app.links import PUBLIC_URL_VARIABLE
from rnn_demo.store import new_key, owner_from_key
from rnn_demo.ui.navigation import PAGE
from rnn_demo.ui.visitor import OWNER_STATE
from tests.test_app import APP, charts_on, metric
from tests.test_store import SHIPPED, shipped_run


@pytest.fixture
def store(app_store):
    return app_store


def visitor() -> str:
    return owner_from_key(new_key())


def open_page(page: str, owner: str | None, **query: str) -> AppTest:
    """A fresh session of the visitor ``owner`` on ``page``, with URL ``query``."""
    at = AppTest.from_file(APP, default_timeout=120)
    if owner is not None:
        at.session_state[OWNER_STATE] = owner
    at.query_params.update(query)
    at.run()
    at.switch_page(PAGE[page].script).run()
    assert not at.exception, [error.value for error in at.exception]
    return at


def texts(at: AppTest) -> str:
    return " ".join(str(element.value) for kind in ("markdown", "caption", "subheader", "info", "warning",
                                                    "success") for element in at.get(kind))


def button(at: AppTest, key: str):
    return at.button(key=key)


def model_switch(at: AppTest):
    return at.selectbox(key="model_choice_widget")


def test_a_run_is_listed_for_its_owner_only(store):
    owner = visitor()
    run_id = store.save_run(owner, shipped_run("gru", name="Ada's GRU")).id
    mine = open_page("runs", owner)
    assert "Ada's GRU" in texts(mine).replace("\\", "")
    assert button(mine, f"rename-{run_id}") and button(mine, f"delete-{run_id}")
    other = open_page("runs", visitor())
    assert "Ada" not in texts(other) and "No runs yet" in texts(other)


def test_a_runs_share_link_is_the_public_address(store, monkeypatch):
    owner = visitor()
    run_id = store.save_run(owner, shipped_run("gru", name="to share")).id
    monkeypatch.setenv(PUBLIC_URL_VARIABLE, "https://rnn.school.org")
    at = open_page("runs", owner)
    assert f"https://rnn.school.org/runs?id={run_id}" in [block.value for block in at.code]


def test_a_link_opens_the_run_read_only_for_anyone(store):
    owner = visitor()
    run_id = store.save_run(owner, shipped_run("gru", name="for the class")).id
    at = open_page("runs", visitor(), id=run_id)
    assert [header.value for header in at.subheader] == ["for the class"]
    assert "Shared with you by its link" in texts(at)
    assert not [item for item in at.button if item.key and item.key.startswith(("rename-", "delete-"))]
    assert at.get("download_button")
    assert charts_on(at)  # its curve


@pytest.mark.parametrize("run_id", ["a" * 22, "not an id", "<b>x</b>", "x" * 500])
def test_an_unknown_or_malformed_link_is_one_sentence(store, run_id):
    at = open_page("runs", visitor(), id=run_id)
    assert [warning.value for warning in at.warning] == [
        "This link names no run: it was deleted, has expired, or the address is incomplete."]


def test_a_deleted_runs_link_says_so(store):
    owner = visitor()
    run_id = store.save_run(owner, shipped_run("rnn")).id
    store.delete(owner, run_id)
    at = open_page("runs", owner, id=run_id)
    assert "This link names no run" in at.warning[0].value


def test_names_are_shown_as_plain_text(store):
    owner = visitor()
    store.save_run(owner, shipped_run("rnn", name="**bold** :red[x] <script>"))
    at = open_page("runs", owner)
    shown = [item.value for item in at.markdown if "bold" in item.value]
    assert shown and all("\\*\\*bold\\*\\*" in value and "\\:red\\[x\\]" in value and "\\<script\\>" in value
                         for value in shown)


def test_rename_delete_and_forget(store):
    owner = visitor()
    first = store.save_run(owner, shipped_run("rnn", name="first")).id
    second = store.save_run(owner, shipped_run("gru", name="second")).id
    other = visitor()
    theirs = store.save_run(other, shipped_run("rnn", name="theirs")).id
    at = open_page("runs", owner)
    at.text_input(key=f"rename-text-{first}").set_value("renamed one")
    button(at, f"rename-{first}").click().run()
    assert store.get_run(first).name == "renamed one" and "Renamed to" in texts(at)
    button(at, f"delete-{second}").click().run()
    assert [run.id for run in store.list_runs(owner)] == [first]
    button(at, "forget-confirm").click().run()
    assert store.list_runs(owner) == [] and "No runs yet" in texts(at)
    assert [run.id for run in store.list_runs(other)] == [theirs]


def test_two_runs_ticked_are_compared(store):
    owner = visitor()
    ids = [store.save_run(owner, shipped_run(arch)).id for arch in ("rnn", "lstm")]
    at = open_page("runs", owner)
    for run_id in ids:
        at.checkbox(key=f"compare-{run_id}").check().run()
    assert len(charts_on(at)) == 1


@pytest.mark.parametrize("page", ["draw", "inside"])
def test_a_run_link_opens_in_the_interactive_pages(store, page):
    run_id = store.save_run(visitor(), shipped_run("gru", name="shared gru")).id
    at = open_page(page, visitor(), run=run_id)  # someone else's run, by its link
    assert model_switch(at).value == f"run-{run_id}"
    assert "Shared with you by its link" in texts(at)
    if page == "inside":
        assert metric(at, "Prediction")


def test_the_pickers_list_the_visitors_runs(store):
    owner = visitor()
    run_id = store.save_run(owner, shipped_run("gru", name="kept gru")).id
    mine = open_page("draw", owner)
    assert any("kept gru" in label for label in model_switch(mine).options)
    model_switch(mine).set_value(f"run-{run_id}").run()
    assert "Yours, kept in the run store" in texts(mine)
    other = open_page("draw", visitor())
    assert not any("kept gru" in label for label in model_switch(other).options)


def test_an_upload_is_kept_as_the_visitors_run(store):
    owner = visitor()
    at = open_page("draw", owner)
    at.file_uploader[0].upload("uploaded_gru.keras", (SHIPPED / "gru.keras").read_bytes()).run()
    assert not at.exception, [error.value for error in at.exception]
    (run,) = store.list_runs(owner)
    assert (run.kind, run.name, run.arch) == ("upload", "uploaded_gru.keras", "gru")
    assert model_switch(at).value == f"run-{run.id}"
    assert store.model_bytes(run.id) == (SHIPPED / "gru.keras").read_bytes()


def test_a_broken_store_is_one_sentence_and_the_shipped_models_still_work(tmp_path, monkeypatch):
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("RNN_DEMO_DATABASE_URL", f"sqlite:///{broken}")
    at = open_page("draw", visitor())
    (warning,) = at.warning
    assert warning.value.startswith(f"Run store {broken}: could not open it:")
    assert model_switch(at).value == "shipped-lstm"
    runs = open_page("runs", visitor())
    assert "The run store is not available" in texts(runs)
