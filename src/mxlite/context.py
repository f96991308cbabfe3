"""Devices.  mxlite computes on the CPU; ``gpu()`` exists so code naming it gets a clear error."""

from __future__ import annotations

import threading
import warnings

import numpy as np

from .base import MXNetError

__all__ = ["Context", "cpu", "cpu_pinned", "current_context", "gpu", "num_gpus"]


class _ContextMeta(type):
    """Gives :class:`Context` MXNet 1.x's deprecated class attribute ``default_ctx``."""

    @property
    def default_ctx(cls):
        """Deprecated (as in MXNet 1.9.1): :func:`current_context`."""
        warnings.warn("Context.default_ctx has been deprecated. Please use "
                      "Context.current_context() instead.", DeprecationWarning, stacklevel=2)
        return current_context()


class Context(metaclass=_ContextMeta):
    """A device: ``Context('cpu', 0)``.  Usable as ``with mx.cpu(): ...`` to set the default."""

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {v: k for k, v in devtype2str.items()}
    _local = threading.local()

    def __init__(self, device_type, device_id: int = 0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if isinstance(device_type, (int, np.integer)) and not isinstance(device_type, bool):
            if device_type not in self.devtype2str:
                raise ValueError(f"unknown device_type {device_type!r}")
            device_type = self.devtype2str[int(device_type)]
        if device_type not in self.devstr2type:
            raise ValueError(
                f"device_type must be one of {sorted(self.devstr2type)}, got {device_type!r}"
            )
        if isinstance(device_id, (bool, np.bool_)) or not isinstance(device_id, (int, np.integer)) \
                or device_id < 0:
            raise ValueError(f"device_id must be a non-negative int, got {device_id!r}")
        self.device_type = device_type
        self.device_id = int(device_id)

    @property
    def device_typeid(self) -> int:
        return self.devstr2type[self.device_type]

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __eq__(self, other):
        return (
            isinstance(other, Context)
            and self.device_type == other.device_type
            and self.device_id == other.device_id
        )

    def __str__(self):
        return f"{self.device_type}({self.device_id})"

    __repr__ = __str__

    def __enter__(self):
        stack = getattr(Context._local, "stack", None)
        if stack is None:
            stack = Context._local.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc):
        Context._local.stack.pop()
        return False

    def empty_cache(self):
        """Nothing is cached on the CPU; kept for API compatibility."""


def check_usable(ctx: Context) -> Context:
    """Return ``ctx`` if arrays can live there, else raise MXNetError (mxlite has no GPU)."""
    if ctx.device_type == "gpu":
        raise MXNetError(
            f"{ctx} is not available: mxlite has no GPU backend yet; use mx.cpu()"
        )
    return ctx


def cpu(device_id: int = 0) -> Context:
    return Context("cpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    return Context("cpu_pinned", device_id)


def gpu(device_id: int = 0) -> Context:
    """A GPU context.  Creating it works; placing arrays on it raises MXNetError."""
    return Context("gpu", device_id)


def num_gpus() -> int:
    return 0


def current_context() -> Context:
    """The innermost ``with ctx:`` context of this thread, else ``cpu(0)``."""
    stack = getattr(Context._local, "stack", None)
    return stack[-1] if stack else Context("cpu", 0)
