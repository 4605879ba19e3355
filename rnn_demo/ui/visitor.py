"""Who the visitor is: an anonymous random key their browser keeps, never an account.

The browser keeps the key in ``localStorage`` and in the cookie
:data:`COOKIE` (``SameSite=Lax``, one year). The server reads the cookie
(``st.context.cookies``, sent when the page connects); when there is none, a
tiny Components v2 element (:data:`KEY_JS`) reads the key from
``localStorage``, or makes one with ``crypto.getRandomValues``, stores it in
both places and hands it to this session. Only :func:`owner_from_key`'s hash
of the key is kept in the session and sent to the store; the key itself never
appears in a URL or a log.
"""

from __future__ import annotations

import functools

import streamlit as st

from rnn_demo.store import RunStore, owner_from_key

COOKIE = "rnn_demo_visitor"
OWNER_STATE = "visitor_owner"  # session_state: the owner hash, once known
COMPONENT_KEY = "visitor_key"
COOKIE_SECONDS = 365 * 24 * 3600

# 32 random bytes as URL-safe base64 (43 characters, what store.new_key makes).
# The value is sent once per mount; a mount that already sent it stays quiet.
KEY_JS = """
const SENT = new WeakSet();

function freshKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (SENT.has(parentElement)) return;
  SENT.add(parentElement);
  let key = null;
  try { key = window.localStorage.getItem(data.name); } catch (error) { key = null; }
  if (!key || !/^[A-Za-z0-9_-]{16,128}$/.test(key)) key = freshKey();
  try { window.localStorage.setItem(data.name, key); } catch (error) { /* private mode: the cookie is left */ }
  document.cookie = `${data.name}=${key}; Max-Age=${data.maxAge}; Path=/; SameSite=Lax`;
  setStateValue("key", key);
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
    """Learn this session's owner if it is not known yet (the frame calls it once per run).

    Mounts the key element (in the sidebar, where it takes no room) until the
    browser has answered; its answer re-runs the page.
    """
    if st.session_state.get(OWNER_STATE):
        return
    owner = _owner_or_none(st.context.cookies.get(COOKIE))
    if owner is None:
        with st.sidebar:
            result = _key_component()(
                data={"name": COOKIE, "maxAge": COOKIE_SECONDS}, key=COMPONENT_KEY,
                default={"key": None}, on_key_change=lambda: None, width="content", height="content",
            )
        owner = _owner_or_none((result or {}).get("key"))
    if owner is not None:
        st.session_state[OWNER_STATE] = owner


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
