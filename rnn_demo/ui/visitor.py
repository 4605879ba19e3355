"""Who the visitor is: an anonymous random key their browser keeps, never an account.

The browser keeps the key in ``localStorage`` and in the cookie
:data:`COOKIE` (``SameSite=Lax``, one year). The server reads the cookie
(``st.context.cookies``, sent when the page connects). When there is none, the
session makes a key itself (``store.new_key``), so its owner is known from the
first run, and a tiny Components v2 element (:data:`KEY_JS`) stores it in both
places; only if ``localStorage`` already holds a key (a cleared cookie, a second
tab) does the element send that one back, and the page runs again as its owner.
The key is kept in the session only to hand to the element; the store and the
session's owner see only :func:`owner_from_key`'s hash of it, and the key
itself never appears in a URL or a log.
"""

from __future__ import annotations

import functools

import streamlit as st

from rnn_demo.store import RunStore, new_key, owner_from_key

COOKIE = "rnn_demo_visitor"
OWNER_STATE = "visitor_owner"  # session_state: the owner hash, once known
OFFERED_STATE = "visitor_offered_key"  # session_state: the key this session made, for the element
COMPONENT_KEY = "visitor_key"
COOKIE_SECONDS = 365 * 24 * 3600

# The element keeps the browser's own key if it has one (and sends it back), else the
# session's offer; once per mount, so a re-run with the same element stays quiet.
KEY_JS = """
const DONE = new WeakSet();
const KEY = /^[A-Za-z0-9_-]{16,128}$/;

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (DONE.has(parentElement)) return;
  DONE.add(parentElement);
  let kept = null;
  try { kept = window.localStorage.getItem(data.name); } catch (error) { kept = null; }
  const key = kept && KEY.test(kept) ? kept : data.offered;
  try { window.localStorage.setItem(data.name, key); } catch (error) { /* private mode: the cookie is left */ }
  document.cookie = `${data.name}=${key}; Max-Age=${data.maxAge}; Path=/; SameSite=Lax`;
  if (key !== data.offered) setStateValue("kept", key);
}
"""


@functools.cache
def _key_component():
    return st.components.v2.component("rnn_demo.visitor_key", js=KEY_JS)


def _owner_or_none(key: object) -> str | None:
    try:
        return owner_from_key(key)
    except ValueError:
        return None


def remember_visitor() -> None:
    """Know this session's owner from its first run (the frame calls it once per run).

    With the cookie, its key. Without, the key this session offers, until the
    element (mounted in the sidebar, where it takes no room, on every run of such a
    session) says the browser keeps another.
    """
    owner = _owner_or_none(st.context.cookies.get(COOKIE))
    if owner is not None:
        st.session_state[OWNER_STATE] = owner
        return
    if OFFERED_STATE not in st.session_state:  # made once per session, not once per run
        st.session_state[OFFERED_STATE] = new_key()
    offered = st.session_state[OFFERED_STATE]
    with st.sidebar:
        result = _key_component()(
            data={"name": COOKIE, "maxAge": COOKIE_SECONDS, "offered": offered}, key=COMPONENT_KEY,
            default={"kept": None}, on_kept_change=lambda: None, width="content", height="content",
        )
    kept = _owner_or_none((result or {}).get("kept"))
    if kept is not None:
        st.session_state[OWNER_STATE] = kept
    elif OWNER_STATE not in st.session_state:
        st.session_state[OWNER_STATE] = owner_from_key(offered)


def visitor_owner() -> str | None:
    """The store's owner id for this browser, or ``None`` until the browser has said it."""
    return st.session_state.get(OWNER_STATE)


def forget_visitor(store: RunStore) -> int:
    """Delete all of this visitor's runs ("Forget my runs"); how many went.

    The key stays in the browser: it names no one, and the runs it owned are gone.
    """
    owner = visitor_owner()
    if owner is None:
        return 0
    return store.forget_owner(owner)
