"""Links to share: the app's public address of a page, and the training configuration in a URL.

:func:`public_link` is the one place a shared address is built (a class's join
link, a lesson step, a run): from ``RNN_DEMO_PUBLIC_URL`` when the host sets a
usable one, else from the visitor's own browser location, never from the
server's bind address.

A teacher copies the Train page's address to share a set-up: every field of
:class:`~rnn_demo.config.TrainConfig` has a short query name
(:data:`QUERY_FIELDS`). :func:`config_from_query` never fails: a malformed,
out-of-range or over-the-host's-limit value falls back to the chapter's default
with a sentence saying so, so a mistyped link still opens a working page.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from rnn_demo.app.limits import HostLimits
from rnn_demo.config import ConfigError, TrainConfig

PUBLIC_URL_VARIABLE = "RNN_DEMO_PUBLIC_URL"  # the address visitors reach the app at (behind a proxy, say)
MAX_BASE_CHARACTERS = 300  # a longer address is not one a person would type under a QR code


def _address_base(url: str | None) -> str | None:
    """``url`` (an ``http(s)`` address of a host, with a path at most) without its trailing ``/``; else ``None``."""
    url = (url or "").strip()
    if not url or len(url) > MAX_BASE_CHARACTERS or not url.isprintable() or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "?" in url or "#" in url or "@" in parts.netloc:
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


def public_link(page: str, query: Mapping[str, str] | None = None, *, browser_url: str | None,
                on_page: str, environ: Mapping[str, str] = os.environ) -> str:
    """The address of the app's ``page`` (its URL path; ``""`` for Home) with ``query``, to share.

    The base is ``$RNN_DEMO_PUBLIC_URL`` when it is a plain ``http(s)`` address
    (no query, no fragment, no user name, at most :data:`MAX_BASE_CHARACTERS`);
    otherwise the browser's own address ``browser_url`` of the page ``on_page``,
    less that page's path; otherwise none, and the link is relative (``/page?…``).
    """
    base = _address_base(environ.get(PUBLIC_URL_VARIABLE))
    if base is None and browser_url:
        here = _address_base(browser_url.split("#")[0].split("?")[0])
        base = here.removesuffix(f"/{on_page}") if here and on_page else here
    text = f"/{page}" + (f"?{urlencode(dict(query))}" if query else "")
    return f"{base or ''}{text}"


# Query-parameter name → (TrainConfig field, parser). Short names keep shared links readable.
QUERY_FIELDS: dict[str, tuple[str, type]] = {
    "arch": ("arch", str),
    "hidden": ("hidden_units", int),
    "layers": ("layers", int),
    "lr": ("learning_rate", float),
    "batch": ("batch_size", int),
    "iterations": ("iterations", int),
    "seed": ("seed", int),
    "device": ("device", str),
    "dataset": ("dataset", str),
    "augment": ("augment", bool),
}


def _query_text(value, kind: type) -> str:
    if kind is float:
        return f"{value:g}"
    if kind is bool:
        return "1" if value else "0"
    return str(value)


def _parse_query(name: str, raw: str, kind: type):
    """``raw`` as ``kind``; a :class:`ConfigError` naming the field when it is not one."""
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be 1 or 0")
    try:
        return kind(raw)
    except ValueError:
        wanted = {float: "a number", int: "a whole number"}.get(kind, "text")
        raise ConfigError(f"{name} must be {wanted}") from None


def _reason(error: ConfigError) -> str:
    """The error without its echo of the value ("…; got 'x'"): the message quotes the value once."""
    return str(error).split("; got ")[0]


def _backticks(text: str) -> str:
    return f"`{text}`"


def config_to_query(config: TrainConfig) -> dict[str, str]:
    """Query parameters for ``config`` (all fields, short names)."""
    values = config.to_dict()
    return {key: _query_text(values[name], kind) for key, (name, kind) in QUERY_FIELDS.items()}


def config_from_query(
    params: Mapping[str, str], *, gpus_available: bool = True, limits: HostLimits | None = None,
    quote: Callable[[str], str] = _backticks,
) -> tuple[TrainConfig, list[str]]:
    """A config from URL query parameters, and one message per value that was refused.

    Every refused value (malformed, out of range, over the host's ``limits``,
    or a GPU on a server without one) falls back to the chapter's default for
    that field, so a mistyped link still opens a working page. Unknown
    parameters are ignored. The message shows the link's text only through
    ``quote`` (the page passes one that no text can break out of, see
    :func:`rnn_demo.ui.plain.code`).
    """
    limits = limits or HostLimits()
    config = TrainConfig()
    problems: list[str] = []
    for key, (name, kind) in QUERY_FIELDS.items():
        if key not in params:
            continue
        raw = params[key]
        default = getattr(TrainConfig(), name)
        try:
            value = _parse_query(name, raw, kind)
            if name == "device" and value == "gpu" and not gpus_available:
                raise ConfigError("device gpu was requested but this server has no GPU")
            candidate = config.replace(**{name: value})  # validates the value
            if kind is int and name != "seed" and value > limits.upper_bound(name):
                raise ConfigError(f"{name} {value} is over this server's limit of {limits.upper_bound(name)}")
            config = candidate
        except ConfigError as error:
            problems.append(f"The link's {quote(f'{key}={raw}')} was not used: {_reason(error)}. "
                            f"Using the default, {default}.")
    return config, problems
