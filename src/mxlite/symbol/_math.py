"""``mx.sym.maximum``/``minimum``/``pow``/``power``/``hypot``: a Symbol or a number on either
side, dispatched to the elementwise or the scalar operator as MXNet 1.9.1 does.

>>> import mxlite as mx
>>> a = mx.sym.var("a")
>>> mx.sym.maximum(a, 1.0).eval(a=mx.nd.array([0.5, 2.0]))[0].asnumpy()
array([1., 2.], dtype=float32)
"""

from __future__ import annotations

import numbers

import numpy as np

from .symbol import Symbol, _create

__all__ = ["hypot", "maximum", "minimum", "pow", "power"]


def _is_number(x) -> bool:
    return (isinstance(x, numbers.Number) and not isinstance(x, bool)) or isinstance(x, np.generic)


def _dispatch(fname, left, right, sym_op, scalar_op, rscalar_op, py):
    if isinstance(left, Symbol) and isinstance(right, Symbol):
        return _create(sym_op, sym_op.strip("_").lower(), (left, right), {})
    if isinstance(left, Symbol) and _is_number(right):
        return _create(scalar_op, scalar_op.strip("_").lower(), (left,), {"scalar": right})
    if _is_number(left) and isinstance(right, Symbol):
        return _create(rscalar_op, rscalar_op.strip("_").lower(), (right,), {"scalar": left})
    if _is_number(left) and _is_number(right):
        return py(left, right)
    raise TypeError(f"{fname}: types ({type(left).__name__}, {type(right).__name__}) not "
                    "supported; expected Symbols or numbers")


def maximum(left, right):
    """Elementwise maximum of two Symbols, or of a Symbol and a number."""
    return _dispatch("maximum", left, right, "_Maximum", "_MaximumScalar", "_MaximumScalar",
                     max)


def minimum(left, right):
    """Elementwise minimum of two Symbols, or of a Symbol and a number."""
    return _dispatch("minimum", left, right, "_Minimum", "_MinimumScalar", "_MinimumScalar",
                     min)


def power(base, exp):
    """``base ** exp`` elementwise; either side may be a number."""
    return _dispatch("power", base, exp, "_Power", "_PowerScalar", "_RPowerScalar",
                     lambda a, b: a ** b)


pow = power


def hypot(left, right):
    """``sqrt(left**2 + right**2)`` of two Symbols."""
    if not (isinstance(left, Symbol) and isinstance(right, Symbol)):
        if _is_number(left) and _is_number(right):
            return float(np.hypot(left, right))
        raise TypeError("hypot: both arguments must be Symbols (or both numbers)")
    return _create("_hypot", "hypot", (left, right), {})
