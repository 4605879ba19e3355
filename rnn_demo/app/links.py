"""The training configuration in a shareable URL, and back, with a message per refused value.

A teacher copies the Train page's address to share a set-up: every field of
:class:`~rnn_demo.config.TrainConfig` has a short query name
(:data:`QUERY_FIELDS`). :func:`config_from_query` never fails: a malformed,
out-of-range or over-the-host's-limit value falls back to the chapter's default
with a sentence saying so, so a mistyped link still opens a working page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rnn_demo.app.limits import HostLimits
from rnn_demo.config import ConfigError, TrainConfig

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
