"""Limits a host sets for a shared server, and the queue for training slots.

A teacher's link on a projector can bring forty visitors to one small server
at once. The host caps what one visitor may ask for and how many trainings run
at the same time; everyone else waits in a short, fair (first come, first
served) queue or is told the server is busy.

Every limit comes from an environment variable (``RNN_DEMO_MAX_HIDDEN`` …, see
:data:`ENVIRONMENT`), read once at start-up; the defaults suit a 2-core machine.
Fair shares: one training per visitor at a time (a second one waits), a wall-time
budget per training (:func:`estimated_seconds` refuses what cannot fit it), and a
count and a rate of uploads per session (:class:`UploadAllowance`). See docs/hosting.md.
"""

from __future__ import annotations

import math
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
    "max_training_seconds": "RNN_DEMO_MAX_TRAINING_SECONDS",
    "max_uploads": "RNN_DEMO_MAX_UPLOADS",
    "upload_interval_seconds": "RNN_DEMO_UPLOAD_INTERVAL_SECONDS",
}
# Training cost per sample (µs) of one recurrent layer of 64 units, on a 2-core x86 server
# (keras 3, TensorFlow CPU, the embedded 5k sample; see docs/performance.md), and how it grows
# with the hidden units: measured 16…256 units, a little above the measurements on purpose.
SAMPLE_MICROSECONDS = {"rnn": 40.0, "birnn": 75.0, "deep": 130.0, "lstm": 115.0, "gru": 115.0, "bilstm": 170.0}
HIDDEN_EXPONENT = 1.25
START_SECONDS = 5.0  # building and compiling the model, the first validation


def estimated_seconds(config: TrainConfig) -> float:
    """About how long ``config`` trains on this server: iterations × batch × cost per sample."""
    per_sample = SAMPLE_MICROSECONDS[config.arch] * 1e-6 * config.recurrent_layers
    per_sample *= (max(config.hidden_units, 16) / 64) ** HIDDEN_EXPONENT
    return START_SECONDS + config.iterations * config.batch_size * per_sample


def duration_text(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


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
    max_training_seconds: float = 300.0
    max_uploads: int = 10  # per session
    upload_interval_seconds: float = 5.0  # between two uploads of a session

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
        refusal = self.budget_refusal(config)
        if refusal:
            raise ConfigError(refusal)

    def budget_refusal(self, config: TrainConfig) -> str | None:
        """The sentence that refuses ``config`` when its estimate is over the time budget, else None."""
        seconds = estimated_seconds(config)
        if seconds <= self.max_training_seconds:
            return None
        return (
            f"This training would take about {duration_text(seconds)} on this server, over its budget of "
            f"{duration_text(self.max_training_seconds)} per training (the host sets it with "
            f"{ENVIRONMENT['max_training_seconds']}). Fewer iterations, a smaller batch or fewer hidden "
            "units will fit."
        )


@dataclass(frozen=True)
class QueueState:
    """Where one visitor stands: ``position`` 0 means "your training may run now"."""

    position: int
    running: int
    waiting: int
    capacity: int
    refused: bool = False
    behind_own: bool = False  # waiting because the same visitor already has a training running

    @property
    def message(self) -> str:
        if self.refused:
            return (
                f"The server is busy: {self.running} trainings are running and {self.waiting} "
                "visitors are waiting. Try again in a moment."
            )
        if self.position == 0:
            return "Your training is running."
        if self.behind_own:
            return ("Your other training (in another tab) is still running: one training per visitor at a "
                    f"time, so this one waits. It is number {self.position} in the queue.")
        ahead = self.position - 1
        return (
            f"The server is busy ({self.running} of {self.capacity} training slots in use). "
            f"You are number {self.position} in the queue"
            + (f" ({ahead} ahead of you)." if ahead else ": you are next.")
        )


class TrainingQueue:
    """At most ``capacity`` trainings at once, one per owner; up to ``max_waiting`` wait in order.

    Visitors hold a ticket (any hashable, e.g. a session id) and may name its
    ``owner`` (the visitor): a ticket whose owner holds a slot waits, and lets
    the tickets behind it pass, until that slot is left. ``enter`` is
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
        self._owners: dict = {}  # ticket → owner, for tickets that named one

    def enter(self, ticket, owner: str | None = None) -> QueueState:
        """Ask for a slot: position 0 = granted (keep it until ``leave``)."""
        with self._lock:
            now = self._clock()
            self._forget_stale(now)
            if ticket in self._running:
                return self._state(0)
            if ticket not in self._waiting:
                if len(self._waiting) >= self.max_waiting and len(self._running) >= self.capacity:
                    return self._state(0, refused=True)
                if owner is not None:
                    self._owners[ticket] = owner
            self._waiting[ticket] = now
            busy = {self._owners.get(held) for held in self._running} - {None}
            eligible = [waiting for waiting in self._waiting if self._owners.get(waiting) not in busy]
            free = self.capacity - len(self._running)
            if ticket in eligible and eligible.index(ticket) < free:
                del self._waiting[ticket]
                self._running.add(ticket)
                return self._state(0)
            return self._state(list(self._waiting).index(ticket) + 1,
                               behind_own=self._owners.get(ticket) in busy)

    def leave(self, ticket) -> None:
        with self._lock:
            self._running.discard(ticket)
            self._waiting.pop(ticket, None)
            self._owners.pop(ticket, None)

    def state(self) -> QueueState:
        with self._lock:
            self._forget_stale(self._clock())
            return self._state(0)

    def _forget_stale(self, now: float) -> None:
        for ticket, seen in list(self._waiting.items()):
            if now - seen > self.stale_after:
                del self._waiting[ticket]
                self._owners.pop(ticket, None)

    def _state(self, position: int, refused: bool = False, behind_own: bool = False) -> QueueState:
        return QueueState(position, len(self._running), len(self._waiting), self.capacity, refused, behind_own)


class UploadAllowance:
    """One session's uploads: at most ``max_uploads``, at least ``interval`` seconds apart.

    ``take`` counts an upload and returns ``None``, or returns the sentence
    that refuses it (and counts nothing).
    """

    def __init__(self, max_uploads: int, interval: float, *, clock: Callable[[], float] = time.monotonic):
        self.max_uploads = max_uploads
        self.interval = interval
        self._clock = clock
        self._taken: list[float] = []

    def take(self) -> str | None:
        now = self._clock()
        if len(self._taken) >= self.max_uploads:
            return (f"This visit has used its {self.max_uploads} uploads, the most this server reads for "
                    f"one visit (the host sets it with {ENVIRONMENT['max_uploads']}).")
        if self._taken and now - self._taken[-1] < self.interval:
            wait = math.ceil(self.interval - (now - self._taken[-1]))
            return f"One upload every {self.interval:g} s on this server: try this file again in {wait} s."
        self._taken.append(now)
        return None
