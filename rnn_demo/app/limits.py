"""Limits a host sets for a shared server, and the queue for training slots.

A teacher's link on a projector can bring forty visitors to one small server
at once. The host caps what one visitor may ask for and how many trainings run
at the same time; everyone else waits in a short, fair (first come, first
served) queue or is told the server is busy.

Every limit comes from an environment variable (``RNN_DEMO_MAX_HIDDEN`` …, see
:data:`ENVIRONMENT`), read once at start-up; the defaults suit a 2-core machine.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from rnn_demo.config import BOUNDS, ConfigError, TrainConfig
from rnn_demo.errors import UserError

# field name → environment variable
ENVIRONMENT = {
    "max_hidden_units": "RNN_DEMO_MAX_HIDDEN",
    "max_layers": "RNN_DEMO_MAX_LAYERS",
    "max_iterations": "RNN_DEMO_MAX_ITERATIONS",
    "max_batch_size": "RNN_DEMO_MAX_BATCH",
    "max_concurrent_trainings": "RNN_DEMO_MAX_TRAININGS",
    "max_waiting": "RNN_DEMO_MAX_WAITING",
    "max_upload_mb": "RNN_DEMO_MAX_UPLOAD_MB",
}


class LimitsError(UserError, ValueError):
    """A limit in the environment is not a valid number."""


@dataclass(frozen=True)
class HostLimits:
    """What this server allows one visitor, and how many trainings run at once.

    The defaults suit a 2-core machine: one training per core, a queue of
    four, and models large enough for every recipe in the chapter.
    """

    max_hidden_units: int = 256
    max_layers: int = 4
    max_iterations: int = 2000
    max_batch_size: int = 2000
    max_concurrent_trainings: int = 2
    max_waiting: int = 4
    max_upload_mb: float = 20.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> HostLimits:
        values = {}
        for item in fields(cls):
            variable = ENVIRONMENT[item.name]
            text = environ.get(variable, "").strip()
            if not text:
                continue
            kind = float if item.type in ("float", float) else int
            try:
                value = kind(text)
            except ValueError:
                raise LimitsError(f"{variable}={text!r} is not a {kind.__name__}") from None
            if kind is float and value <= 0:
                raise LimitsError(f"{variable}={text!r} must be more than 0")
            minimum = 0 if item.name == "max_waiting" else 1
            if kind is int and value < minimum:
                raise LimitsError(f"{variable}={text!r} must be at least {minimum}")
            values[item.name] = value
        return cls(**values)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    def upper_bound(self, field_name: str) -> int:
        """The largest value a visitor may choose for a TrainConfig field."""
        own = {
            "hidden_units": self.max_hidden_units,
            "layers": self.max_layers,
            "iterations": self.max_iterations,
            "batch_size": self.max_batch_size,
        }
        upper = int(BOUNDS[field_name][1])
        return min(upper, own[field_name]) if field_name in own else upper

    def check(self, config: TrainConfig) -> None:
        """Raise :class:`ConfigError` if ``config`` asks for more than this server allows."""
        for field_name, variable_field in (
            ("hidden_units", "max_hidden_units"),
            ("layers", "max_layers"),
            ("iterations", "max_iterations"),
            ("batch_size", "max_batch_size"),
        ):
            value, limit = getattr(config, field_name), self.upper_bound(field_name)
            if field_name == "layers" and config.arch != "deep":
                continue
            if value > limit:
                raise ConfigError(
                    f"{field_name} {value} is over this server's limit of {limit} "
                    f"(the host sets it with {ENVIRONMENT[variable_field]})"
                )


@dataclass(frozen=True)
class QueueState:
    """Where one visitor stands: ``position`` 0 means "your training may run now"."""

    position: int
    running: int
    waiting: int
    capacity: int
    refused: bool = False

    @property
    def message(self) -> str:
        if self.refused:
            return (
                f"The server is busy: {self.running} trainings are running and {self.waiting} "
                "visitors are waiting. Try again in a moment."
            )
        if self.position == 0:
            return "Your training is running."
        ahead = self.position - 1
        return (
            f"The server is busy ({self.running} of {self.capacity} training slots in use). "
            f"You are number {self.position} in the queue"
            + (f" ({ahead} ahead of you)." if ahead else ": you are next.")
        )


class TrainingQueue:
    """At most ``capacity`` trainings at once; up to ``max_waiting`` wait in order.

    Visitors hold a ticket (any hashable, e.g. a session id). ``enter`` is
    called again and again by a waiting page (it is how a visitor keeps their
    place); a waiting ticket not seen for ``stale_after`` seconds (its tab was
    closed) loses its place. ``leave`` frees a slot or a place in the queue.
    Thread-safe: pages and training threads of all sessions share one queue.
    """

    def __init__(
        self,
        capacity: int,
        max_waiting: int,
        *,
        stale_after: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.capacity = capacity
        self.max_waiting = max_waiting
        self.stale_after = stale_after
        self._clock = clock
        self._lock = threading.Lock()
        self._running: set = set()
        self._waiting: dict = {}  # ticket → last seen; insertion order is queue order

    def enter(self, ticket) -> QueueState:
        """Ask for a slot: position 0 = granted (keep it until ``leave``)."""
        with self._lock:
            now = self._clock()
            self._forget_stale(now)
            if ticket in self._running:
                return self._state(0)
            if ticket not in self._waiting:
                if len(self._waiting) >= self.max_waiting and len(self._running) >= self.capacity:
                    return self._state(0, refused=True)
            self._waiting[ticket] = now
            order = list(self._waiting)
            free = self.capacity - len(self._running)
            if order.index(ticket) < free:
                del self._waiting[ticket]
                self._running.add(ticket)
                return self._state(0)
            return self._state(order.index(ticket) + 1)

    def leave(self, ticket) -> None:
        with self._lock:
            self._running.discard(ticket)
            self._waiting.pop(ticket, None)

    def state(self) -> QueueState:
        with self._lock:
            self._forget_stale(self._clock())
            return self._state(0)

    def _forget_stale(self, now: float) -> None:
        for ticket, seen in list(self._waiting.items()):
            if now - seen > self.stale_after:
                del self._waiting[ticket]

    def _state(self, position: int, refused: bool = False) -> QueueState:
        return QueueState(position, len(self._running), len(self._waiting), self.capacity, refused)
