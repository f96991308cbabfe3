"""Numba kernels for same-shape float binary arithmetic (flat, C-contiguous arrays, one pass).

``kind``: 0 add, 1 subtract, 2 multiply, 3 divide (true division).  Each computes in the arrays'
dtype, exactly as the NumPy ufunc does (one IEEE operation per element), so results equal
``np.add`` & co. bit for bit; ``out`` may be one of the inputs (in place).  Large arrays run on
the ``parallel=True`` driver (:data:`mxlite.kernels.PARALLEL_THRESHOLD`): NumPy's ufuncs use one
core, the two-core machine streams memory about 1.6x faster with two.
"""

from __future__ import annotations

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD, serial_parallel

KINDS = {"add": 0, "sub": 1, "mul": 2, "div": 3}
_UFUNCS = (np.add, np.subtract, np.multiply, np.true_divide)

_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


def _binary_loop(kind, a, b, out):  # pragma: no cover - numba
    # one loop per kind: each compiles to a branch-free vector loop
    if kind == 0:
        for i in numba.prange(a.size):
            out[i] = a[i] + b[i]
    elif kind == 1:
        for i in numba.prange(a.size):
            out[i] = a[i] - b[i]
    elif kind == 2:
        for i in numba.prange(a.size):
            out[i] = a[i] * b[i]
    else:
        for i in numba.prange(a.size):
            out[i] = a[i] / b[i]


def _binary_inplace_loop(kind, a, b):  # pragma: no cover - numba
    # ``a = a <op> b``: with ``out`` a second argument aliasing ``a`` the vectorizer's overlap
    # check would send the loop down its scalar path
    if kind == 0:
        for i in numba.prange(a.size):
            a[i] = a[i] + b[i]
    elif kind == 1:
        for i in numba.prange(a.size):
            a[i] = a[i] - b[i]
    elif kind == 2:
        for i in numba.prange(a.size):
            a[i] = a[i] * b[i]
    else:
        for i in numba.prange(a.size):
            a[i] = a[i] / b[i]


_binary_ser, _binary_par = serial_parallel(_binary_loop, _SER, _PAR)
_binary_inplace_ser, _binary_inplace_par = serial_parallel(_binary_inplace_loop, _SER, _PAR)


def applies(a, b, out) -> bool:
    """Whether :func:`binary` takes these arrays: one float32/float64 dtype, one shape,
    C-contiguous, large enough for two threads to pay."""
    return (a.size >= PARALLEL_THRESHOLD and a.dtype == b.dtype == out.dtype
            and a.dtype in (np.float32, np.float64) and a.shape == b.shape == out.shape
            and a.flags.c_contiguous and b.flags.c_contiguous and out.flags.c_contiguous)


def binary(kind: int, a, b, out) -> None:
    """``out = a <op> b`` elementwise (see :func:`applies`; smaller or other arrays go to the
    NumPy ufunc)."""
    if not applies(a, b, out):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            _UFUNCS[kind](a, b, out=out)
        return
    if out.ctypes.data == a.ctypes.data:  # in place over the lhs
        _binary_inplace_par(kind, a.reshape(-1), b.reshape(-1))
        return
    _binary_par(kind, a.reshape(-1), b.reshape(-1), out.reshape(-1))
