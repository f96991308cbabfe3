"""Numba kernels for BatchNorm on a C-contiguous ``(pre, C, post)`` view of the data.

Per channel ``c`` (``m = pre * post`` elements), accumulating in float64:

- :func:`stats`: ``mean[c]`` and the biased ``var[c]`` (two passes, for accuracy).
- :func:`normalize`: ``out = x * scale[c] + shift[c]`` with ``scale = gamma * invstd`` and
  ``shift = beta - mean * scale``.
- :func:`backward`: ``sum(dy)`` and ``sum(dy * xhat)`` per channel, then
  ``dx = scale / m * (m dy - sum(dy) - xhat sum(dy xhat))`` (batch statistics) or
  ``dx = scale * dy`` (global statistics).

Serial and ``parallel=True`` drivers (``prange`` over channels) are chosen by size with
:data:`mxlite.kernels.PARALLEL_THRESHOLD`.
"""

from __future__ import annotations

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD

_BODY = {"cache": True, "nogil": True, "inline": "always"}
_SER = {"cache": True, "nogil": True}
_PAR = {"cache": True, "nogil": True, "parallel": True}


@numba.njit(**_BODY)
def _stats_channel(x, c, mean, var):  # pragma: no cover - numba
    pre, _, post = x.shape
    s = 0.0
    for a in range(pre):
        for b in range(post):
            s += x[a, c, b]
    mu = s / (pre * post)
    v = 0.0
    for a in range(pre):
        for b in range(post):
            d = x[a, c, b] - mu
            v += d * d
    mean[c] = mu
    var[c] = v / (pre * post)


@numba.njit(**_BODY)
def _normalize_channel(x, c, scale, shift, out):  # pragma: no cover - numba
    pre, _, post = x.shape
    sc = scale[c]
    sh = shift[c]
    for a in range(pre):
        for b in range(post):
            out[a, c, b] = x[a, c, b] * sc + sh


@numba.njit(**_BODY)
def _backward_channel(x, dy, c, mean, invstd, scale, batch_stats, dx, dgamma,
                      dbeta):  # pragma: no cover - numba
    pre, _, post = x.shape
    mu = mean[c]
    inv = invstd[c]
    sdy = 0.0
    sdyx = 0.0
    for a in range(pre):
        for b in range(post):
            g = dy[a, c, b]
            sdy += g
            sdyx += g * (x[a, c, b] - mu) * inv
    dbeta[c] = sdy
    dgamma[c] = sdyx
    sc = scale[c]
    if batch_stats:
        m = pre * post
        k = sc / m
        for a in range(pre):
            for b in range(post):
                xhat = (x[a, c, b] - mu) * inv
                dx[a, c, b] = k * (m * dy[a, c, b] - sdy - xhat * sdyx)
    else:
        for a in range(pre):
            for b in range(post):
                dx[a, c, b] = sc * dy[a, c, b]


@numba.njit(**_SER)
def _stats_ser(x, mean, var):  # pragma: no cover - numba
    for c in range(x.shape[1]):
        _stats_channel(x, c, mean, var)


@numba.njit(**_PAR)
def _stats_par(x, mean, var):  # pragma: no cover - numba
    for c in numba.prange(x.shape[1]):
        _stats_channel(x, c, mean, var)


@numba.njit(**_SER)
def _normalize_ser(x, scale, shift, out):  # pragma: no cover - numba
    for c in range(x.shape[1]):
        _normalize_channel(x, c, scale, shift, out)


@numba.njit(**_PAR)
def _normalize_par(x, scale, shift, out):  # pragma: no cover - numba
    for c in numba.prange(x.shape[1]):
        _normalize_channel(x, c, scale, shift, out)


@numba.njit(**_SER)
def _backward_ser(x, dy, mean, invstd, scale, batch_stats, dx, dgamma,
                  dbeta):  # pragma: no cover - numba
    for c in range(x.shape[1]):
        _backward_channel(x, dy, c, mean, invstd, scale, batch_stats, dx, dgamma, dbeta)


@numba.njit(**_PAR)
def _backward_par(x, dy, mean, invstd, scale, batch_stats, dx, dgamma,
                  dbeta):  # pragma: no cover - numba
    for c in numba.prange(x.shape[1]):
        _backward_channel(x, dy, c, mean, invstd, scale, batch_stats, dx, dgamma, dbeta)


def _parallel(x) -> bool:
    return x.size >= PARALLEL_THRESHOLD and x.shape[1] > 1


def stats(x):
    """Per-channel mean and biased variance (float64) of ``x`` (pre, C, post)."""
    mean = np.empty(x.shape[1])
    var = np.empty(x.shape[1])
    (_stats_par if _parallel(x) else _stats_ser)(x, mean, var)
    return mean, var


def normalize(x, scale, shift, out):
    (_normalize_par if _parallel(x) else _normalize_ser)(x, scale, shift, out)


def backward(x, dy, mean, invstd, scale, batch_stats, dx):
    """Fill ``dx``; return per-channel ``(sum(dy * xhat), sum(dy))`` in float64."""
    dgamma = np.empty(x.shape[1])
    dbeta = np.empty(x.shape[1])
    (_backward_par if _parallel(x) else _backward_ser)(x, dy, mean, invstd, scale, batch_stats,
                                                       dx, dgamma, dbeta)
    return dgamma, dbeta
