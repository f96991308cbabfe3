"""Errors, the registry shared by everything created by name, and small helpers."""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .serialization.atomic import atomic_write

__all__ = [
    "MXNetError", "NotImplementedForSymbol", "Registry", "atomic_write", "integer_types",
    "numeric_types", "py_str", "string_types",
]

numeric_types = (int, float, np.generic)
integer_types = (int, np.integer)
string_types = (str,)


class MXNetError(RuntimeError):
    """Raised where MXNet raises ``mxnet.base.MXNetError`` (operator-level failures)."""


class NotImplementedForSymbol(MXNetError, NotImplementedError):
    """An operation an NDArray supports that a Symbol cannot (``bool(sym)``, ``len`` of a graph)."""

    def __init__(self, function, alias=None, *args):
        super().__init__()
        self.function = getattr(function, "__name__", str(function))
        self.alias = alias
        self.args = tuple(str(type(a)) for a in args)

    def __str__(self):
        msg = f"Function {self.function}"
        if self.alias:
            msg += f" (namely operator \"{self.alias}\")"
        if self.args:
            msg += " with arguments (" + ", ".join(self.args) + ")"
        return msg + " is not implemented for Symbol and only available in NDArray."


def py_str(x) -> str:
    """``bytes`` decoded as UTF-8; a ``str`` passes through."""
    return x.decode("utf-8") if isinstance(x, (bytes, bytearray)) else str(x)


def _as_list(obj) -> list:
    """``obj`` itself when it is a list or tuple (as a list), else ``[obj]``."""
    return list(obj) if isinstance(obj, (list, tuple)) else [obj]


class Registry:
    """Name -> class registry with case-insensitive lookup.

    One mechanism serves optimizers, initializers and anything else created by name:
    ``register`` (a decorator), ``alias``, ``create(name | instance | JSON string, **kwargs)``
    and ``find``.  ``kind`` names the family in messages ("optimizer", "initializer").
    """

    def __init__(self, base: type, kind: str):
        self.base = base
        self.kind = kind
        self._classes: dict[str, type] = {}

    def register(self, klass: type | None = None, name: str | None = None):
        """Register ``klass`` under ``name`` (default: its class name); usable as a decorator."""
        if klass is None:
            return lambda k: self.register(k, name)
        if not (isinstance(klass, type) and issubclass(klass, self.base)):
            raise TypeError(
                f"can only register subclasses of {self.base.__name__}, got {klass!r}"
            )
        key = (name or klass.__name__).lower()
        old = self._classes.get(key)
        if old is not None and old is not klass:
            warnings.warn(
                f"New {self.kind} {klass.__module__}.{klass.__name__} is overriding existing "
                f"{self.kind} {old.__module__}.{old.__name__}",
                UserWarning,
                stacklevel=3,
            )
        self._classes[key] = klass
        return klass

    def alias(self, *aliases: str) -> Callable[[type], type]:
        """Decorator registering a class under extra names."""

        def deco(klass: type) -> type:
            for a in aliases:
                self.register(klass, a)
            return klass

        return deco

    def names(self) -> list[str]:
        return sorted(self._classes)

    def find(self, name: str) -> type:
        if not isinstance(name, str):
            raise TypeError(f"{self.kind} name must be a string, got {name!r}")
        try:
            return self._classes[name.lower()]
        except KeyError:
            raise ValueError(
                f"Cannot find {self.kind} {name!r}; known {self.kind}s: {', '.join(self.names())}"
            ) from None

    def create(self, spec: Any, *args: Any, **kwargs: Any) -> Any:
        """Create from a registered name, a ``dumps()`` JSON string, or pass an instance through."""
        if isinstance(spec, self.base):
            if args or kwargs:
                raise ValueError(
                    f"{self.kind} instance given together with extra arguments {args!r} {kwargs!r}"
                )
            return spec
        if not isinstance(spec, str):
            raise TypeError(
                f"{self.kind} must be a name, a JSON string or a {self.base.__name__}, "
                f"got {spec!r}"
            )
        text = spec.strip()
        if text.startswith("["):
            try:
                name, params = json.loads(text)
            except (ValueError, TypeError) as err:
                raise ValueError(f"malformed {self.kind} JSON {spec!r}: {err}") from None
            if not isinstance(params, dict):
                raise ValueError(f"malformed {self.kind} JSON {spec!r}: parameters not an object")
            params.update(kwargs)
            return self.find(name)(*args, **params)
        return self.find(text)(*args, **kwargs)


def check_count(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an int count ``>= minimum``: ints, NumPy integers and integral floats
    (``60000 / 32``) are counts, as in MXNet; bools, fractions, NaN and the rest are a
    ``ValueError`` naming ``name``, the value and what was expected."""
    if isinstance(value, (bool, np.bool_)):
        ok = False
    elif isinstance(value, (int, np.integer)):
        ok = True
    elif isinstance(value, (float, np.floating)):
        ok = bool(np.isfinite(value)) and float(value).is_integer()
    else:
        ok = False
    if not ok or int(value) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


_SWITCH_ON = ("1", "true", "on", "yes")
_SWITCH_OFF = ("0", "false", "off", "no")


def env_switch(name: str, default: bool = True) -> bool:
    """The on/off environment variable ``name`` (unset or empty: ``default``): ``1 true on
    yes`` and ``0 false off no`` in any case, or an integer (non-zero: on, as MXNet reads its
    switches); anything else is a ``ValueError`` naming the variable and the value."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in _SWITCH_ON:
        return True
    if value in _SWITCH_OFF:
        return False
    try:
        return int(value) != 0
    except ValueError:
        raise ValueError(f"environment variable {name} must be one of 1/0, true/false, on/off, "
                         f"yes/no or an integer, got {raw!r}") from None


def quiet_loggers(names=("numba",)) -> None:
    """Keep the internal loggers ``names`` at WARNING unless the user set their level.

    A script calling ``logging.basicConfig(level=logging.DEBUG)`` (as MXNet's examples do) then
    sees MXNet's few training lines, not Numba's compiler trace (16,000 lines for a first MLP).
    A logger whose level was set explicitly (``logging.getLogger("numba").setLevel(DEBUG)``)
    is left alone.  mxlite's own loggers (``mxlite.lr_scheduler``, ``mxlite.initializer``)
    carry only the messages MXNet logs too, at MXNet's levels, so they are not quieted.
    """
    for name in names:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
