"""Numba kernels for the elementwise activations (flat, C-contiguous arrays, one pass).

``kind``: 0 relu, 1 sigmoid, 2 tanh, 3 softrelu, 4 softsign, 5 leaky, 6 elu, 7 selu, 8 gelu.
``slope`` is the leaky / elu parameter.  Forward computes in float64 and stores in the output's
dtype; backward uses the input ``x`` and, where cheaper, the output ``y``.  A serial and a
``parallel=True`` driver are chosen by size with :data:`mxlite.kernels.PARALLEL_THRESHOLD`.
"""

from __future__ import annotations

import math

import numba

from ...kernels import PARALLEL_THRESHOLD

KINDS = {"relu": 0, "sigmoid": 1, "tanh": 2, "softrelu": 3, "softsign": 4,
         "leaky": 5, "elu": 6, "selu": 7, "gelu": 8}

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946
_INV_SQRT2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327

_BODY = {"cache": True, "nogil": True, "inline": "always"}
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
        return SELU_LAMBDA * (v if v > 0 else SELU_ALPHA * math.expm1(v))
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
        return g * SELU_LAMBDA if v > 0 else g * (y + SELU_LAMBDA * SELU_ALPHA)
    cdf = 0.5 * (1.0 + math.erf(v * _INV_SQRT2))
    return g * (cdf + v * _INV_SQRT_2PI * math.exp(-0.5 * v * v))


@numba.njit(**_SER)
def _forward_ser(kind, x, slope, out):  # pragma: no cover - numba
    for i in range(x.size):
        out[i] = _fwd(kind, float(x[i]), slope)


@numba.njit(**_PAR)
def _forward_par(kind, x, slope, out):  # pragma: no cover - numba
    for i in numba.prange(x.size):
        out[i] = _fwd(kind, float(x[i]), slope)


@numba.njit(**_SER)
def _backward_ser(kind, x, y, dy, slope, dx):  # pragma: no cover - numba
    for i in range(x.size):
        dx[i] = _bwd(kind, float(x[i]), float(y[i]), float(dy[i]), slope)


@numba.njit(**_PAR)
def _backward_par(kind, x, y, dy, slope, dx):  # pragma: no cover - numba
    for i in numba.prange(x.size):
        dx[i] = _bwd(kind, float(x[i]), float(y[i]), float(dy[i]), slope)


def forward(kind, x, slope, out):
    (_forward_par if x.size >= PARALLEL_THRESHOLD else _forward_ser)(kind, x, slope, out)


def backward(kind, x, y, dy, slope, dx):
    (_backward_par if x.size >= PARALLEL_THRESHOLD else _backward_ser)(kind, x, y, dy, slope, dx)
