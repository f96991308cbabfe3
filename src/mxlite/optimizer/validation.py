"""Checks of optimizer hyperparameters and of the arrays handed to an update.

Every check raises early, naming the argument, the value and what was expected
(``ValueError`` for a value out of range, ``TypeError`` for a value of the wrong kind), and
accepts what MXNet 1.9.1 accepts and what works: NumPy scalars, integral floats where a count is
expected, ``clip_gradient`` below zero (no clipping) or infinite.  NaN is never a valid
hyperparameter, and infinity only where it means "no bound".
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..ndarray import NDArray

__all__ = [
    "check_arrays", "check_bool", "check_clip", "check_count", "check_decays", "check_finite",
    "check_momentum", "check_nonnegative", "check_unit_interval", "check_update_arrays",
]

_ABSENT = object()


def _number(name: str, value, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return value


def check_finite(name: str, value, *, allow_none: bool = False):
    """TypeError unless ``value`` is a real number; ValueError when it is NaN or infinite."""
    value = _number(name, value, allow_none=allow_none)
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def check_nonnegative(name: str, value, *, allow_none: bool = False, finite: bool = True):
    """ValueError unless ``value`` is a number >= 0 (NaN rejected; infinity too unless
    ``finite=False``, for bounds where it means "none")."""
    value = _number(name, value, allow_none=allow_none)
    if value is not None:
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value!r}")
        if finite and not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def check_unit_interval(name: str, value):
    """ValueError unless ``0 <= value < 1`` (so NaN and infinity are rejected)."""
    value = _number(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def check_momentum(value, name: str = "momentum"):
    """ValueError unless ``0 <= momentum < 1`` (a momentum of 1 or more never forgets a
    gradient: the steps grow without bound)."""
    value = _number(name, value)
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if not value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def check_decays(epsilon=_ABSENT, **decays) -> None:
    """ValueError unless each decay rate is in ``[0, 1)`` and ``epsilon`` (if given) is a
    finite number >= 0.  The decays are checked in the order given, then ``epsilon``."""
    for name, value in decays.items():
        check_unit_interval(name, value)
    if epsilon is not _ABSENT:
        check_nonnegative("epsilon", epsilon)


def check_clip(name: str, value):
    """A clip bound: None, any number below 0 (no clipping) or >= 0, infinity included; NaN
    is rejected (it would turn every gradient into NaN)."""
    value = _number(name, value, allow_none=True)
    if value is not None and math.isnan(value):
        raise ValueError(
            f"{name} must be a number (< 0 or None: no clipping), got {value!r}"
        )
    return value


def check_count(name: str, value, minimum: int = 0) -> int:
    """An integer count >= ``minimum``: ints, NumPy integers and integral floats (``5.0``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if not (math.isfinite(value) and float(value).is_integer()):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_bool(name: str, value) -> bool:
    """A flag: ``True``/``False`` (NumPy bools and the integers 0 and 1 too); TypeError for
    anything else, such as the string ``'yes'``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and value in (0, 1):
        return bool(value)
    raise TypeError(f"{name} must be a bool, got {value!r}")


def check_arrays(weight, grad) -> None:
    """TypeError/ValueError unless ``weight`` and ``grad`` are NDArrays of equal shape and dtype."""
    if type(weight) is NDArray and type(grad) is NDArray:  # the fast, common case
        wd, gd = weight._data, grad._data
        if wd.shape == gd.shape and wd.dtype == gd.dtype:
            return
    if not isinstance(weight, NDArray):
        raise TypeError(f"weight must be an NDArray, got {type(weight).__name__}")
    if not isinstance(grad, NDArray):
        raise TypeError(f"grad must be an NDArray, got {type(grad).__name__}")
    if weight.shape != grad.shape:
        raise ValueError(
            f"weight and grad shapes differ: weight {weight.shape}, grad {grad.shape}"
        )
    if np.dtype(weight.dtype) != np.dtype(grad.dtype):  # .dtype: a sparse grad stays sparse
        raise TypeError(
            f"weight and grad dtypes differ: weight {np.dtype(weight.dtype)}, "
            f"grad {np.dtype(grad.dtype)}"
        )


def check_update_arrays(weight, grad) -> None:
    """:func:`check_arrays`, and a floating-point weight: the built-in optimizers would turn
    integer or bool weights into garbage (TypeError naming the dtype)."""
    if type(weight) is NDArray and type(grad) is NDArray:  # the fast, common case
        wd, gd = weight._data, grad._data
        if wd.shape == gd.shape and wd.dtype == gd.dtype and wd.dtype.kind == "f":
            return
    check_arrays(weight, grad)
    dtype = weight._data.dtype
    if dtype.kind != "f":
        raise TypeError(
            f"weight dtype must be floating point (float16, float32 or float64), got {dtype}"
        )
