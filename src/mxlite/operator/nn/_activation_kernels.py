"""Numba kernels for the elementwise activations (flat, C-contiguous arrays, one pass).

``kind``: 0 relu, 1 sigmoid, 2 tanh, 3 softrelu, 4 softsign, 5 leaky, 6 elu, 7 selu, 8 gelu.
``slope`` is the leaky / elu parameter.  The loops compute in the array's dtype (Numba's
``float()`` keeps float32 a float32) and store in the output's; backward uses the input ``x``
and, where cheaper, the output ``y``.  Each driver has one loop per kind, so that the hot ones
compile to branch-free vector code.  A serial and a ``parallel=True`` driver are chosen by size
with :data:`mxlite.kernels.PARALLEL_THRESHOLD`.

For FullyConnected -> relu: :func:`bias_relu` (the bias and the relu in one pass over the GEMM's
output) and :func:`relu_grad_bias` (relu's gradient and the bias gradient in one pass).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ...kernels import PARALLEL_THRESHOLD, serial_parallel

KINDS = {"relu": 0, "sigmoid": 1, "tanh": 2, "softrelu": 3, "softsign": 4,
         "leaky": 5, "elu": 6, "selu": 7, "gelu": 8}

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946
_INV_SQRT2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327

_BODY = {"cache": True, "nogil": True, "inline": "always"}


def _selu_constants(v):
    """``(lambda, alpha, lambda * alpha)`` in the dtype of ``v`` (compiled code only)."""
    raise TypeError("_selu_constants is for Numba-compiled code")  # pragma: no cover


@overload(_selu_constants, inline="always")
def _selu_constants_impl(v):  # pragma: no cover - numba typing
    # as MXNet, SELU of float32 computes in float32 with float32 constants (float64 rounded
    # afterwards is 1 ulp off on many inputs: 0.1050701 for 0.10507011 at 0.1)
    dtype = np.float32 if v == types.float32 else np.float64
    lam, alpha = dtype(SELU_LAMBDA), dtype(SELU_ALPHA)
    lam_alpha = dtype(SELU_LAMBDA * SELU_ALPHA)

    def impl(v):
        return lam, alpha, lam_alpha

    return impl
_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


@numba.njit(**_BODY)
def _sigmoid(v):  # pragma: no cover - numba
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


@numba.njit(**_BODY)
def _fwd(kind, v, slope):  # pragma: no cover - numba
    if kind == 0:
        return v if v > 0 else 0.0
    if kind == 1:
        return _sigmoid(v)
    if kind == 2:
        return math.tanh(v)
    if kind == 3:
        return v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v))
    if kind == 4:
        return v / (1.0 + abs(v))
    if kind == 5:
        return v if v > 0 else slope * v
    if kind == 6:
        return v if v > 0 else slope * math.expm1(v)
    if kind == 7:
        lam, alpha, _ = _selu_constants(v)
        return lam * (v if v > 0 else alpha * math.expm1(v))
    return 0.5 * v * (1.0 + math.erf(v * _INV_SQRT2))


@numba.njit(**_BODY)
def _bwd(kind, v, y, g, slope):  # pragma: no cover - numba
    if kind == 0:
        return g if v > 0 else 0.0
    if kind == 1:
        return g * y * (1.0 - y)
    if kind == 2:
        return g * (1.0 - y * y)
    if kind == 3:
        return g * _sigmoid(v)
    if kind == 4:
        d = 1.0 + abs(v)
        return g / (d * d)
    if kind == 5:
        return g if v > 0 else g * slope
    if kind == 6:
        return g if v > 0 else g * (y + slope)
    if kind == 7:
        lam, _, lam_alpha = _selu_constants(y)
        return g * lam if v > 0 else g * (y + lam_alpha)
    cdf = 0.5 * (1.0 + math.erf(v * _INV_SQRT2))
    return g * (cdf + v * _INV_SQRT_2PI * math.exp(-0.5 * v * v))


def _forward_loop(kind, x, slope, out):  # pragma: no cover - numba
    # one loop per kind, so that each compiles to a branch-free (vectorizable) loop
    if kind == 0:
        for i in numba.prange(x.size):
            v = x[i]
            out[i] = v if v > 0 else 0
    elif kind == 2:
        for i in numba.prange(x.size):
            out[i] = math.tanh(float(x[i]))
    elif kind == 4:
        for i in numba.prange(x.size):
            v = float(x[i])
            out[i] = v / (1.0 + abs(v))
    elif kind == 5:
        for i in numba.prange(x.size):
            v = float(x[i])
            out[i] = v if v > 0 else slope * v
    else:
        for i in numba.prange(x.size):
            out[i] = _fwd(kind, float(x[i]), slope)


def _backward_loop(kind, x, y, dy, slope, dx):  # pragma: no cover - numba
    if kind == 0:
        for i in numba.prange(x.size):
            dx[i] = dy[i] if x[i] > 0 else 0
    elif kind == 1:
        for i in numba.prange(x.size):
            v = float(y[i])
            dx[i] = float(dy[i]) * v * (1.0 - v)
    elif kind == 2:
        for i in numba.prange(x.size):
            v = float(y[i])
            dx[i] = float(dy[i]) * (1.0 - v * v)
    elif kind == 5:
        for i in numba.prange(x.size):
            dx[i] = dy[i] if x[i] > 0 else float(dy[i]) * slope
    else:
        for i in numba.prange(x.size):
            dx[i] = _bwd(kind, float(x[i]), float(y[i]), float(dy[i]), slope)


def _forward_inplace_loop(kind, x, slope):  # pragma: no cover - numba
    # ``x = act(x)`` on one array: passed twice, the vectorizer's overlap check would send
    # the loop down its scalar path
    if kind == 0:
        for i in numba.prange(x.size):
            v = x[i]
            x[i] = v if v > 0 else 0
    else:
        for i in numba.prange(x.size):
            x[i] = _fwd(kind, float(x[i]), slope)


def _bias_relu_loop(y, b):  # pragma: no cover - numba
    # ``y = max(y + b, 0)`` in place, ``b`` broadcast over the rows of ``y`` (rows, k)
    n, k = y.shape
    for r in numba.prange(n):
        for j in range(k):
            v = y[r, j] + b[j]
            y[r, j] = v if v > 0 else 0


@numba.njit(**_SER)
def _relu_grad_bias(y, dy, dx, db):  # pragma: no cover - numba
    # row 0 assigned, the others added in row order: NumPy's ``add.reduce(axis=0)`` of a
    # C-contiguous array, so ``db`` has its bits (the sign of a zero included)
    n, k = y.shape
    for j in range(k):
        g = dy[0, j] if y[0, j] > 0 else 0
        dx[0, j] = g
        db[j] = g
    for r in range(1, n):
        for j in range(k):
            g = dy[r, j] if y[r, j] > 0 else 0
            dx[r, j] = g
            db[j] += g


_forward_ser, _forward_par = serial_parallel(_forward_loop, _SER, _PAR)
_bias_relu_ser, _bias_relu_par = serial_parallel(_bias_relu_loop, _SER, _PAR)
_forward_inplace_ser, _forward_inplace_par = serial_parallel(_forward_inplace_loop, _SER, _PAR)
_backward_ser, _backward_par = serial_parallel(_backward_loop, _SER, _PAR)


def _sigmoid_np(x, out):
    """``1 / (1 + exp(-x))`` in NumPy's SIMD ufuncs (0 and 1 at the ends, no overflow)."""
    with np.errstate(over="ignore"):
        np.negative(x, out=out)
        np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)


def forward(kind, x, slope, out, serial=False):
    """``out = act(x)`` for flat contiguous ``x`` and ``out`` of one dtype (``out`` may be
    ``x``); ``serial``: one thread (a caller running on several threads already, as a
    convolution's epilogue).

    tanh and sigmoid of float32 run on NumPy's SIMD ufuncs (a few ulp from correctly rounded,
    as MXNet's ``tanhf`` / ``expf``); everything else on the Numba loops."""
    if x.dtype == np.float32 and kind in (1, 2):
        if kind == 2:
            np.tanh(x, out=out)
        else:
            _sigmoid_np(x, out)
        return
    parallel = x.size >= PARALLEL_THRESHOLD and not serial
    if out is x or out.ctypes.data == x.ctypes.data:  # (views of one buffer: in place)
        (_forward_inplace_par if parallel else _forward_inplace_ser)(kind, x, slope)
        return
    (_forward_par if parallel else _forward_ser)(kind, x, slope, out)

def backward(kind, x, y, dy, slope, dx):
    (_backward_par if x.size >= PARALLEL_THRESHOLD else _backward_ser)(kind, x, y, dy, slope, dx)


def bias_relu(y, b) -> None:
    """``y = max(y + b, 0)`` in place in one pass: ``y`` a C-contiguous ``(rows, k)`` array,
    ``b`` a contiguous ``(k,)`` one of its dtype (float32/float64); the bits of ``y += b``
    followed by relu."""
    (_bias_relu_par if y.size >= PARALLEL_THRESHOLD else _bias_relu_ser)(y, b)


def relu_grad_bias(y, dy, dx, db) -> None:
    """Relu's input gradient ``dx = dy * (y > 0)`` from its output ``y`` and, in the same
    pass, ``db = dx.sum(axis=0)`` (with NumPy's bits): C-contiguous ``(rows, k)`` arrays
    (``rows >= 1``) and a ``(k,)`` one, all of one dtype (float32/float64)."""
    _relu_grad_bias(y, dy, dx, db)
