"""``mx.util``: the NumPy-shape switch and small helpers MXNet 1.9.1 exposes there.

Under NumPy shape semantics (``np_shape(True)``) a ``0`` in a shape is a zero-size dimension
and ``()`` a scalar; outside it (MXNet 1.x's default) ``0`` means "unknown, to be inferred".
mxlite records the switch and writes it where MXNet does (``is_np_shape`` in symbol JSON).

>>> import mxlite as mx
>>> with mx.util.np_shape(True):
...     mx.util.is_np_shape()
True
>>> mx.util.is_np_shape()
False
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

__all__ = [
    "getenv", "is_np_array", "is_np_shape", "np_shape", "set_np_shape", "setenv", "use_np",
    "use_np_shape",
]

_state = threading.local()


def is_np_shape() -> bool:
    """Whether NumPy shape semantics are on in this thread."""
    return getattr(_state, "np_shape", False)


def set_np_shape(active) -> bool:
    """Turn NumPy shape semantics on or off for this thread; returns the previous setting."""
    if not isinstance(active, bool):
        raise TypeError(f"set_np_shape: active must be a bool, got {active!r}")
    prev = is_np_shape()
    _state.np_shape = active
    return prev


@contextlib.contextmanager
def np_shape(active: bool = True):
    """A block with NumPy shape semantics on (or off, ``np_shape(False)``)."""
    prev = set_np_shape(bool(active))
    try:
        yield
    finally:
        set_np_shape(prev)


def use_np_shape(func):
    """Decorate a function (or every method of a class) to run under ``np_shape(True)``."""
    if isinstance(func, type):
        for name, member in list(vars(func).items()):
            if callable(member) and not name.startswith("__"):
                setattr(func, name, use_np_shape(member))
        return func
    if not callable(func):
        raise TypeError(f"use_np_shape: expected a function or class, got {func!r}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np_shape(True):
            return func(*args, **kwargs)

    return wrapper


def is_np_array() -> bool:
    """mxlite has no ``mx.np`` array type: always False."""
    return False


def getenv(name: str):
    """The environment variable ``name`` or None."""
    return os.environ.get(name)


def setenv(name: str, value) -> None:
    """Set (or with ``None`` unset) the environment variable ``name``."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)


def use_np(func):
    """MXNet's ``use_np``: NumPy shape semantics for ``func``.

    MXNet also switches on its ``mx.np`` array type; mxlite has none, so only the shape
    semantics apply (see :func:`use_np_shape`).
    """
    return use_np_shape(func)
