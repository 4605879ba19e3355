"""Which Keras backend runs and on what device (CPU or GPU), per backend.

The training code places work with ``keras.device(...)``, which every Keras 3
backend understands; this module only answers "is there a GPU?" and turns the
user's ``auto | cpu | gpu`` into a device name.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from rnn_demo.errors import UserError


class DeviceError(UserError, RuntimeError):
    """The requested device is not available."""


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "gpu"
    keras_name: str  # e.g. "cpu:0", for keras.device(...)
    description: str  # for people, e.g. "GPU gpu:0 (jax backend)"


def backend_name() -> str:
    return keras.backend.backend()


def gpu_names() -> list[str]:
    """Names of the GPUs the current backend can use (empty when none)."""
    try:
        return list(keras.distribution.list_devices("gpu"))
    except (RuntimeError, ValueError):
        # JAX raises when it has no GPU platform at all.
        return []


def resolve_device(requested: str = "auto") -> Device:
    """``auto`` takes the first GPU if there is one; ``gpu`` insists on one."""
    backend = backend_name()
    gpus = gpu_names()
    if requested == "gpu" and not gpus:
        raise DeviceError(
            f"a GPU was requested but the {backend} backend sees none; "
            "use --device cpu or auto (README: GPU training)"
        )
    if requested in ("auto", "gpu") and gpus:
        return Device("gpu", "gpu:0", f"GPU {gpus[0]} ({backend} backend)")
    if requested not in ("auto", "cpu", "gpu"):
        raise DeviceError(f"device must be auto, cpu or gpu; got {requested!r}")
    return Device("cpu", "cpu:0", f"CPU ({backend} backend)")
