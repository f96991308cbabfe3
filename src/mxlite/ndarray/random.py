"""``mx.nd.random``: draws from the global generator of :mod:`mxlite.random`, float32 by default."""

from __future__ import annotations

import numpy as np

from .. import random as _random
from .ndarray import NDArray, _arr, _ctx, _dtype, _finish, _shape

__all__ = ["exponential", "gamma", "normal", "poisson", "randint", "randn", "shuffle", "uniform"]


def _size(shape, out):
    if shape is None or shape == ():
        return out.shape if out is not None else (1,)
    return _shape(shape)


def _float_dtype(dtype):
    dtype = _dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type, got {dtype}")
    return dtype


def uniform(low=0.0, high=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high), drawn directly in ``dtype`` (float32 by default)."""
    if low > high:
        raise ValueError(f"uniform: low ({low}) must not exceed high ({high})")
    size, dtype = _size(shape, out), _float_dtype(dtype or (out.dtype if out else None))
    gen = _random.generator()
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float32
    u = gen.random(size, dtype=draw_dtype)
    if low != 0.0 or high != 1.0:
        u *= draw_dtype.type(high - low)
        u += draw_dtype.type(low)
    return _finish(u, out, _ctx(ctx), dtype)


def normal(loc=0.0, scale=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale^2), drawn directly in ``dtype`` (float32 by default)."""
    if scale < 0:
        raise ValueError(f"normal: scale must be non-negative, got {scale!r}")
    size, dtype = _size(shape, out), _float_dtype(dtype or (out.dtype if out else None))
    gen = _random.generator()
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)
    z = gen.standard_normal(size, dtype=draw_dtype)
    if scale != 1.0:
        z *= draw_dtype.type(scale)
    if loc != 0.0:
        z += draw_dtype.type(loc)
    return _finish(z, out, _ctx(ctx), dtype)


def randn(*shape, loc=0.0, scale=1.0, dtype=None, ctx=None, out=None, **kwargs):
    return normal(loc, scale, shape or None, dtype, ctx, out)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers from [low, high), int32 by default."""
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    dtype = _dtype(dtype, np.int32)
    if dtype.kind not in "iu":
        raise TypeError(f"randint: dtype must be an integer type, got {dtype}")
    values = _random.generator().integers(low, high, size=_size(shape, out), dtype=dtype)
    return _finish(values, out, _ctx(ctx), dtype)


def exponential(scale=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    size, dtype = _size(shape, out), _float_dtype(dtype)
    return _finish(_random.generator().exponential(scale, size), out, _ctx(ctx), dtype)


def gamma(alpha=1.0, beta=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    size, dtype = _size(shape, out), _float_dtype(dtype)
    return _finish(_random.generator().gamma(alpha, beta, size), out, _ctx(ctx), dtype)


def poisson(lam=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    size, dtype = _size(shape, out), _float_dtype(dtype)
    return _finish(_random.generator().poisson(lam, size), out, _ctx(ctx), dtype)


def shuffle(data, out=None, **kwargs) -> NDArray:
    """A copy of ``data`` with its first axis randomly permuted."""
    data = _arr(data)
    perm = _random.generator().permutation(data.shape[0]) if data.ndim else None
    result = data._data[perm] if perm is not None else data._data.copy()
    return _finish(result, out, data._ctx)
