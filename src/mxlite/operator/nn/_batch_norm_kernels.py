"""Numba kernels for BatchNorm on a C-contiguous ``(pre, C, post)`` view of the data.

Per channel ``c`` (``m = pre * post`` elements), accumulating in float64:

- :func:`forward_train`: one pass over the data for the statistics (shifted sums
  ``s1 = sum(x - K)``, ``s2 = sum((x - K)**2)`` with ``K`` the channel's first element, so that
  ``var = s2 / m - (s1 / m)**2`` suffers no cancellation for data far from zero), then, while the
  channel is still in cache, ``out = x * scale + shift`` with ``scale = gamma * invstd`` and
  ``shift = beta - mean * scale``, and the moving statistics updated in place
  (``moving = moving * momentum + batch * (1 - momentum)``).
- :func:`affine`: ``out = x * scale + shift`` (inference and ``use_global_stats``: the moving
  statistics in ``scale`` and ``shift``).
- :func:`backward`: one reduction pass for ``sum(dy)`` and ``sum(dy * xhat)`` and one
  elementwise pass ``dx = scale / m * (m dy - sum(dy) - xhat sum(dy xhat))`` (batch statistics,
  written as ``dx = a dy + b x + c`` per channel) or ``dx = scale * dy`` (global statistics).

BatchNorm + relu fused (:mod:`mxlite._fusion`): the forwards store ``max(x * scale + shift, 0)``
(the same float32 as relu of the rounded value); the backward takes the relu's head gradient and
masks it in both passes where ``x * scale + shift`` (the forward's float64 arithmetic, recomputed)
rounds to no positive value -- relu's backward without reading its output.

Layouts: with ``post > 1`` (NCHW, axis 1) each channel is a set of contiguous runs and the
drivers go channel by channel (``prange`` over channels); with ``post == 1`` (the channel axis
last, e.g. ``(N, C)`` data) they sweep rows and keep one accumulator per channel, so the inner
loop runs over contiguous channels.  Reductions are compiled with ``fastmath={"reassoc"}`` only
(several partial float64 sums, so that they vectorize); no other IEEE rule is relaxed.

Serial and ``parallel=True`` drivers are chosen by size with
:data:`mxlite.kernels.PARALLEL_THRESHOLD`.
"""

from __future__ import annotations

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD

_BODY = {"cache": True, "nogil": True, "inline": "always", "fastmath": {"reassoc"}}
_SER = {"cache": True, "nogil": True, "fastmath": {"reassoc"}}
_PAR = {"cache": True, "nogil": True, "parallel": True, "fastmath": {"reassoc"}}


# ------------------------------------------------------------------ one channel, post > 1
@numba.njit(**_BODY)
def _train_channel(x, c, gamma, beta, eps, momentum, mmean, mvar, out, mean, invstd,
                   relu):  # pragma: no cover - numba
    pre, _, post = x.shape
    k = np.float64(x[0, c, 0])
    s1 = 0.0
    s2 = 0.0
    for a in range(pre):
        for b in range(post):
            d = np.float64(x[a, c, b]) - k
            s1 += d
            s2 += d * d
    m = pre * post
    dm = s1 / m
    var = max(s2 / m - dm * dm, 0.0)
    mu = k + dm
    inv = 1.0 / np.sqrt(var + eps)
    sc = gamma[c] * inv
    sh = beta[c] - mu * sc
    _affine_body(x, c, sc, sh, out, relu)
    mean[c] = mu
    invstd[c] = inv
    mmean[c] = mmean[c] * momentum + mu * (1.0 - momentum)
    mvar[c] = mvar[c] * momentum + var * (1.0 - momentum)


@numba.njit(**_BODY)
def _affine_body(x, c, sc, sh, out, relu):  # pragma: no cover - numba
    pre, _, post = x.shape
    if relu:  # max(v, 0) before the store: the same float32 as rounding first
        for a in range(pre):
            for b in range(post):
                v = x[a, c, b] * sc + sh
                out[a, c, b] = v if v > 0 else 0.0
    else:
        for a in range(pre):
            for b in range(post):
                out[a, c, b] = x[a, c, b] * sc + sh


@numba.njit(**_BODY)
def _affine_channel(x, c, scale, shift, out, relu):  # pragma: no cover - numba
    _affine_body(x, c, scale[c], shift[c], out, relu)


@numba.njit(**_BODY)
def _sums(x, dy, relu, c, mu, sc, sh, tiny):  # pragma: no cover - numba
    """``(sum(g), sum(g * (x - mu)))`` over channel ``c`` with ``g = dy``, or, for a fused
    relu, ``dy`` where the relu's output is positive: ``x * sc + sh > tiny``, the very float
    operations of the forward (:func:`_affine_body`), so the mask equals ``y > 0`` exactly
    without reading ``y`` (``tiny``: the largest value that rounds to 0 in the data's dtype)."""
    pre, _, post = x.shape
    sdy = 0.0
    sdyx = 0.0
    if relu:  # one loop each way: a select, so that both vectorize
        for a in range(pre):
            for b in range(post):
                g = np.float64(dy[a, c, b]) if x[a, c, b] * sc + sh > tiny else 0.0
                sdy += g
                sdyx += g * (np.float64(x[a, c, b]) - mu)
    else:
        for a in range(pre):
            for b in range(post):
                g = np.float64(dy[a, c, b])
                sdy += g
                sdyx += g * (np.float64(x[a, c, b]) - mu)
    return sdy, sdyx


@numba.njit(**_BODY)
def _backward_channel(x, dy, relu, shift, tiny, c, mean, invstd, scale, batch_stats, dx, dgamma,
                      dbeta, acc, prev):  # pragma: no cover - numba
    pre, _, post = x.shape
    mu = mean[c]
    inv = invstd[c]
    sc = scale[c]
    sh = shift[c]
    sdy, sdyx = _sums(x, dy, relu, c, mu, sc, sh, tiny)
    sdyx *= inv  # sum(dy * xhat)
    if batch_stats:
        m = pre * post
        # dx = sc / m * (m dy - sdy - (x - mu) inv sdyx) = ca dy + cb x + cc
        ca = sc
        cb = -sc / m * inv * sdyx
        cc = -sc / m * sdy - cb * mu
    else:  # global statistics: dx = sc * dy
        ca = sc
        cb = 0.0
        cc = 0.0
    if relu and batch_stats and acc:
        # + the gradient the value already has (the executor's sum of a value read twice):
        # rounded to dx's dtype first, then added in it, as the separate sum would
        for a in range(pre):
            for b in range(post):
                v = x[a, c, b]
                g = np.float64(dy[a, c, b]) if v * sc + sh > tiny else 0.0
                dx[a, c, b] = ca * g + cb * v + cc
                dx[a, c, b] += prev[a, c, b]
    elif relu and batch_stats:
        for a in range(pre):
            for b in range(post):
                v = x[a, c, b]
                g = np.float64(dy[a, c, b]) if v * sc + sh > tiny else 0.0
                dx[a, c, b] = ca * g + cb * v + cc
    elif relu:
        for a in range(pre):
            for b in range(post):
                dx[a, c, b] = sc * (np.float64(dy[a, c, b]) if x[a, c, b] * sc + sh > tiny
                                    else 0.0)
    elif batch_stats:
        for a in range(pre):
            for b in range(post):
                dx[a, c, b] = ca * dy[a, c, b] + cb * x[a, c, b] + cc
    else:
        for a in range(pre):
            for b in range(post):
                dx[a, c, b] = sc * dy[a, c, b]
    dbeta[c] = sdy
    dgamma[c] = sdyx


@numba.njit(**_SER)
def _train_ser(x, gamma, beta, eps, momentum, mmean, mvar, out, mean, invstd,
               relu):  # pragma: no cover - numba
    for c in range(x.shape[1]):
        _train_channel(x, c, gamma, beta, eps, momentum, mmean, mvar, out, mean, invstd, relu)


@numba.njit(**_PAR)
def _train_par(x, gamma, beta, eps, momentum, mmean, mvar, out, mean, invstd,
               relu):  # pragma: no cover - numba
    for c in numba.prange(x.shape[1]):
        _train_channel(x, c, gamma, beta, eps, momentum, mmean, mvar, out, mean, invstd, relu)


@numba.njit(**_SER)
def _affine_ser(x, scale, shift, out, relu):  # pragma: no cover - numba
    for c in range(x.shape[1]):
        _affine_channel(x, c, scale, shift, out, relu)


@numba.njit(**_PAR)
def _affine_par(x, scale, shift, out, relu):  # pragma: no cover - numba
    for c in numba.prange(x.shape[1]):
        _affine_channel(x, c, scale, shift, out, relu)


@numba.njit(**_SER)
def _affine_inplace_ser(x, scale, shift, relu):  # pragma: no cover - numba
    # one array: no aliasing for the vectorizer to guard against (with ``out is x`` passed as
    # two arguments its overlap check sends the loop down the scalar path)
    pre, nc, post = x.shape
    for c in range(nc):
        sc = scale[c]
        sh = shift[c]
        if relu:
            for a in range(pre):
                for b in range(post):
                    v = x[a, c, b] * sc + sh
                    x[a, c, b] = v if v > 0 else 0.0
        else:
            for a in range(pre):
                for b in range(post):
                    x[a, c, b] = x[a, c, b] * sc + sh


@numba.njit(**_SER)
def _backward_ser(x, dy, relu, shift, tiny, mean, invstd, scale, batch_stats, dx, dgamma,
                  dbeta, acc, prev):  # pragma: no cover - numba
    for c in range(x.shape[1]):
        _backward_channel(x, dy, relu, shift, tiny, c, mean, invstd, scale, batch_stats, dx,
                          dgamma, dbeta, acc, prev)


@numba.njit(**_PAR)
def _backward_par(x, dy, relu, shift, tiny, mean, invstd, scale, batch_stats, dx, dgamma,
                  dbeta, acc, prev):  # pragma: no cover - numba
    for c in numba.prange(x.shape[1]):
        _backward_channel(x, dy, relu, shift, tiny, c, mean, invstd, scale, batch_stats, dx,
                          dgamma, dbeta, acc, prev)


# ------------------------------------------------------------------ channels last (post == 1)
@numba.njit(**_SER)
def _train_rows(x, gamma, beta, eps, momentum, mmean, mvar, out, mean, invstd,
                relu):  # pragma: no cover - numba
    pre, nc = x.shape
    k = np.empty(nc)
    s1 = np.zeros(nc)
    s2 = np.zeros(nc)
    for c in range(nc):
        k[c] = x[0, c]
    for a in range(pre):
        for c in range(nc):
            d = np.float64(x[a, c]) - k[c]
            s1[c] += d
            s2[c] += d * d
    sc = np.empty(nc)
    sh = np.empty(nc)
    for c in range(nc):
        dm = s1[c] / pre
        var = max(s2[c] / pre - dm * dm, 0.0)
        mu = k[c] + dm
        inv = 1.0 / np.sqrt(var + eps)
        sc[c] = gamma[c] * inv
        sh[c] = beta[c] - mu * sc[c]
        mean[c] = mu
        invstd[c] = inv
        mmean[c] = mmean[c] * momentum + mu * (1.0 - momentum)
        mvar[c] = mvar[c] * momentum + var * (1.0 - momentum)
    _affine_rows(x, sc, sh, out, relu)


@numba.njit(**_SER)
def _affine_rows(x, scale, shift, out, relu):  # pragma: no cover - numba
    pre, nc = x.shape
    for a in range(pre):
        if relu:
            for c in range(nc):
                v = x[a, c] * scale[c] + shift[c]
                out[a, c] = v if v > 0 else 0.0
        else:
            for c in range(nc):
                out[a, c] = x[a, c] * scale[c] + shift[c]


@numba.njit(**_SER)
def _backward_rows(x, dy, relu, shift, tiny, mean, invstd, scale, batch_stats, dx, dgamma,
                   dbeta):  # pragma: no cover - numba
    pre, nc = x.shape
    sdy = np.zeros(nc)
    sdyx = np.zeros(nc)
    for a in range(pre):
        for c in range(nc):
            g = 0.0 if relu and not x[a, c] * scale[c] + shift[c] > tiny else np.float64(dy[a, c])
            sdy[c] += g
            sdyx[c] += g * (np.float64(x[a, c]) - mean[c])
    ca = np.empty(nc)
    cb = np.empty(nc)
    cc = np.empty(nc)
    for c in range(nc):
        sdyx[c] *= invstd[c]
        ca[c] = scale[c]
        if batch_stats:
            cb[c] = -scale[c] / pre * invstd[c] * sdyx[c]
            cc[c] = -scale[c] / pre * sdy[c] - cb[c] * mean[c]
        else:
            cb[c] = 0.0
            cc[c] = 0.0
    for a in range(pre):
        for c in range(nc):
            g = 0.0 if relu and not x[a, c] * scale[c] + shift[c] > tiny else np.float64(dy[a, c])
            dx[a, c] = ca[c] * g + cb[c] * x[a, c] + cc[c]
    for c in range(nc):
        dgamma[c] = sdyx[c]
        dbeta[c] = sdy[c]


# ------------------------------------------------------------------ drivers
def _parallel(x) -> bool:
    return x.size >= PARALLEL_THRESHOLD and x.shape[1] > 1


def forward_train(x, gamma, beta, eps, momentum, moving_mean, moving_var, out, relu=False):
    """Normalize ``x`` (pre, C, post) with its batch statistics into ``out`` and update the
    moving statistics (float64 arrays of ``C``, updated in place); return ``(mean, invstd)``
    (float64).  ``gamma``/``beta``: float64 arrays of ``C``.  ``relu``: store
    ``max(normalized, 0)`` (BatchNorm + relu fused)."""
    nc = x.shape[1]
    if x.shape[0] * x.shape[2] == 0:  # the kernels read each channel's first element
        raise ValueError(f"BatchNorm: no elements per channel to take batch statistics of "
                         f"(data viewed as {x.shape})")
    mean = np.empty(nc)
    invstd = np.empty(nc)
    if x.shape[2] == 1:
        _train_rows(x.reshape(x.shape[0], nc), gamma, beta, eps, momentum, moving_mean,
                    moving_var, out.reshape(x.shape[0], nc), mean, invstd, relu)
    else:
        (_train_par if _parallel(x) else _train_ser)(x, gamma, beta, eps, momentum,
                                                     moving_mean, moving_var, out, mean, invstd,
                                                     relu)
    return mean, invstd


def affine(x, scale, shift, out, relu=False, serial=False):
    """``out = x * scale[c] + shift[c]`` on (pre, C, post) arrays (``max(.., 0)`` with
    ``relu``); ``serial``: one thread (a caller that runs on several threads already).  ``out``
    may be ``x`` (a C-contiguous array: in place)."""
    if out is x and x.shape[2] > 1 and x.flags.c_contiguous and (serial or not _parallel(x)):
        _affine_inplace_ser(x, scale, shift, relu)
        return
    if x.shape[2] == 1:
        _affine_rows(x.reshape(x.shape[0], x.shape[1]), scale, shift,
                     out.reshape(x.shape[0], x.shape[1]), relu)
    else:
        (_affine_par if _parallel(x) and not serial else _affine_ser)(x, scale, shift, out,
                                                                       relu)


#: per data dtype, the largest positive float64 that rounds to 0 (the relu mask's threshold)
_ROUNDS_TO_ZERO = {np.dtype(np.float32): 2.0 ** -150, np.dtype(np.float64): 0.0}


def backward(x, dy, mean, invstd, scale, batch_stats, dx, shift=None, prev=None):
    """Fill ``dx``; return per-channel ``(sum(dy * xhat), sum(dy))`` in float64.  With ``shift``
    (the forward's per-channel float64 ``shift``, beside ``scale``) the forward was fused with a
    relu and ``dy`` is the relu's head gradient: it is masked on the fly where the relu's
    output is not positive, recomputed from ``x`` (the forward's own arithmetic) rather than
    read.  ``prev`` (shaped as ``x``, not ``dx`` itself): ``dx`` gets ``prev + dx`` (in the
    second pass with a fused relu and batch statistics, else by one more pass)."""
    nc = x.shape[1]
    dgamma = np.empty(nc)
    dbeta = np.empty(nc)
    relu = shift is not None
    if not relu:
        shift = scale
    tiny = _ROUNDS_TO_ZERO[x.dtype]
    if x.shape[2] == 1:
        two = (x.shape[0], nc)
        _backward_rows(x.reshape(two), dy.reshape(two), relu, shift, tiny, mean, invstd,
                       scale, batch_stats, dx.reshape(two), dgamma, dbeta)
    else:
        acc = prev is not None and relu and batch_stats
        (_backward_par if _parallel(x) else _backward_ser)(x, dy, relu, shift, tiny, mean,
                                                           invstd, scale, batch_stats, dx,
                                                           dgamma, dbeta, acc,
                                                           prev if acc else dx)
        if acc:
            return dgamma, dbeta
    if prev is not None:
        from ..tensor._elemwise_kernels import binary

        binary(0, dx, prev, dx)
    return dgamma, dbeta
