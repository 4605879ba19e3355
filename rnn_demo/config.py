"""Training configuration: the chapter's defaults, validated in one place.

Every entry point (CLI, app, tests) builds a :class:`TrainConfig`; its
constructor checks each field and raises :class:`ConfigError` with a message
naming the field, the value received and the allowed range, so a bad value
never reaches Keras.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from rnn_demo.errors import UserError

ARCHITECTURES: dict[str, str] = {
    "rnn": "Recipe 1 — one layer of basic tanh RNN cells reads the 16 rows top to bottom.",
    "birnn": "Recipe 2 — two basic RNNs, one reading down and one reading up; the head sees both (128 → 10).",
    "deep": "Recipe 3 — a stack of GRU layers (3 by default), each with its own weights, each feeding the next.",
    "lstm": "Recipe 4 — one LSTM layer whose input, forget and output gates control a cell state.",
    "gru": "Extra — one GRU layer: the LSTM's gating idea with two gates and no separate cell state.",
    "bilstm": "Extra — a bidirectional LSTM: recipe 2's two reading directions with recipe 4's cells.",
}
# Display names, for menus, legends and tables.
ARCHITECTURE_NAMES = {
    "rnn": "Basic RNN",
    "birnn": "Bidirectional RNN",
    "deep": "Deep GRU (stacked)",
    "lstm": "LSTM",
    "gru": "GRU",
    "bilstm": "Bidirectional LSTM",
}
DATASETS: dict[str, str] = {
    "mnist": "MNIST handwritten digits",
    "fashion": "Fashion-MNIST clothing images",
}
DEVICES = ("auto", "cpu", "gpu")

# Bounds a hosted demo can live with: large enough to explore, small enough
# that one visitor cannot occupy a server for long.
BOUNDS: dict[str, tuple[float, float]] = {
    "hidden_units": (1, 512),
    "layers": (1, 8),
    "learning_rate": (1e-5, 1.0),
    "batch_size": (1, 5000),
    "iterations": (1, 20000),
    "seed": (0, 2**31 - 1),
}


class ConfigError(UserError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Defaults are the chapter's recipe.

    ``layers`` counts stacked recurrent layers and is used by the ``deep``
    architecture only; the other architectures have one recurrent layer
    (bidirectional ones: one per direction). ``augment`` draws every training
    batch as fresh random variants of its digits (:mod:`rnn_demo.data.augment`);
    off by default, so the chapter's recipe stays the chapter's.
    """

    arch: str = "lstm"
    hidden_units: int = 64
    layers: int = 3
    learning_rate: float = 0.01
    batch_size: int = 500
    iterations: int = 100
    seed: int = 0
    device: str = "auto"
    dataset: str = "mnist"
    augment: bool = False
    lr_decay: bool = False

    def __post_init__(self) -> None:
        _check_choice("arch", self.arch, ARCHITECTURES)
        _check_choice("device", self.device, DEVICES)
        _check_choice("dataset", self.dataset, DATASETS)
        for name in ("hidden_units", "layers", "batch_size", "iterations", "seed"):
            _check_int(name, getattr(self, name))
        _check_float("learning_rate", self.learning_rate)
        for name in ("augment", "lr_decay"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false; got {getattr(self, name)!r}")

    @property
    def recurrent_layers(self) -> int:
        """How many recurrent layers this architecture stacks."""
        return self.layers if self.arch == "deep" else 1

    def replace(self, **changes) -> TrainConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a mapping, ignoring unknown keys (e.g. from saved metadata)."""
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


def _shown(value: object) -> str:
    """``value`` as a message quotes it: at most 40 characters (a link can carry a 5,000-digit number)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for str()
        return "a number too long to show"
    return text if len(text) <= 40 else f"{text[:37]}..."


def _check_choice(name: str, value: object, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {_shown(value)}")


def _check_int(name: str, value: object) -> None:
    low, high = BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number; got {_shown(value)}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {int(low)} and {int(high)}; got {_shown(value)}")


def _check_float(name: str, value: object) -> None:
    low, high = BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number; got {_shown(value)}")
    # Compared exactly, so a huge int is out of range rather than an OverflowError; NaN fails too.
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}; got {_shown(value)}")


def positive_setting(variable: str, kind: type, default):
    """A host's setting: the positive ``kind`` (int or float) in ``$variable``, or ``default`` when unset."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if not value > 0:
        raise ConfigError(f"{variable} must be a {'whole ' if kind is int else ''}number above 0; got {raw!r}")
    return value
