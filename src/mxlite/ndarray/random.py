"""``mx.nd.random``: draws from the global generator of :mod:`mxlite.random`.

Float samplers return float32 by default (``randint`` int32), take ``shape``, ``dtype``, ``ctx``
and ``out`` (whose shape and dtype are used when ``shape``/``dtype`` are not given).
``uniform`` and ``normal`` also accept NDArray parameters: then each parameter element gets
``shape`` samples and the result has shape ``param.shape + shape``, as MXNet's ``_sample_*``.
``mx.random.seed(n)`` makes every draw reproducible.  Scalar-parameter float32/float64
``uniform``/``normal`` draws go through the fast fills of :mod:`mxlite.kernels.random`.
"""

from __future__ import annotations

import numpy as np

from .. import random as _random
from ..base import MXNetError
from .ndarray import NDArray, _arr, _ctx, _dtype, _finish, _shape

__all__ = ["exponential", "gamma", "normal", "poisson", "randint", "randn", "shuffle", "uniform"]

_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_INTS = (np.dtype(np.int32), np.dtype(np.int64))


def _size(shape, out) -> tuple[int, ...]:
    if shape is None or shape == ():
        return out.shape if out is not None else (1,)
    return _shape(shape)


def _float_dtype(dtype, out, name) -> np.dtype:
    if dtype is None and out is not None:
        dtype = out._data.dtype
    dtype = _dtype(dtype)
    if dtype not in _FLOATS:
        raise MXNetError(f"{name}: dtype must be float16, float32 or float64, got {dtype}")
    return dtype


def _place(ctx, out):
    if out is not None:
        _arr(out, "out")
        return out._ctx
    return _ctx(ctx)


def _draw(kind: str, size, dtype: np.dtype) -> np.ndarray:
    """Standard uniform [0, 1) or standard normal samples drawn directly in ``dtype``."""
    gen = _random.generator()
    draw = dtype if dtype != np.float16 else np.dtype(np.float32)
    if kind == "uniform":
        x = gen.random(size, dtype=draw)
    else:
        x = gen.standard_normal(size, dtype=draw)
    return x if draw == dtype else x.astype(dtype)


def _params(a, b, names, name):
    """Parameter arrays for the NDArray form (``a`` and ``b`` broadcast to one shape)."""
    arrays = [x._data if isinstance(x, NDArray) else np.asarray(x) for x in (a, b)]
    try:
        shape = np.broadcast_shapes(arrays[0].shape, arrays[1].shape)
    except ValueError:
        raise MXNetError(
            f"{name}: {names[0]} {arrays[0].shape} and {names[1]} {arrays[1].shape} differ"
        ) from None
    return [np.broadcast_to(x.astype(np.float64), shape) for x in arrays], shape


def _sample(kind, a, b, names, shape, dtype, ctx, out, name):
    ctx = _place(ctx, out)
    dtype = _float_dtype(dtype, out, name)
    if isinstance(a, NDArray) or isinstance(b, NDArray):
        (pa, pb), pshape = _params(a, b, names, name)
        extra = () if shape is None or shape == () else _shape(shape)
        x = _draw(kind, pshape + extra, np.dtype(np.float64))
        index = (...,) + (None,) * len(extra)
        pa, pb = pa[index], pb[index]
        return _finish(_scale(kind, x, pa, pb, name), out, ctx, dtype)
    if kind == "uniform" and a > b:
        raise MXNetError(f"uniform: low ({a}) must not exceed high ({b})")
    if kind == "normal" and b < 0:
        raise MXNetError(f"normal: scale must be non-negative, got {b!r}")
    if dtype != np.float16:  # float32/float64: the fast in-place fill (Numba, loaded lazily)
        from ..kernels.random import fill_normal, fill_uniform

        x = np.empty(_size(shape, out), dtype=dtype)
        if kind == "uniform":
            fill_uniform(x, float(a), float(b))
        else:
            fill_normal(x, float(a), float(b))
        return _finish(x, out, ctx, dtype)
    x = _draw(kind, _size(shape, out), dtype)
    if kind == "uniform":
        if a != 0.0 or b != 1.0:
            x *= x.dtype.type(b - a)
            x += x.dtype.type(a)
    else:
        if b != 1.0:
            x *= x.dtype.type(b)
        if a != 0.0:
            x += x.dtype.type(a)
    return _finish(x, out, ctx, dtype)


def _scale(kind, x, a, b, name):
    if kind == "uniform":
        if np.any(a > b):
            raise MXNetError(f"{name}: low must not exceed high")
        return a + (b - a) * x
    if np.any(b < 0):
        raise MXNetError(f"{name}: scale must be non-negative")
    return a + b * x


def uniform(low=0.0, high=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high), float32 by default.

    >>> import mxlite as mx
    >>> mx.random.seed(0)
    >>> mx.nd.random.uniform(-1, 1, shape=(2, 3)).shape
    (2, 3)
    """
    return _sample("uniform", low, high, ("low", "high"), shape, dtype, ctx, out, "uniform")


def normal(loc=0.0, scale=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale^2), float32 by default."""
    return _sample("normal", loc, scale, ("loc", "scale"), shape, dtype, ctx, out, "normal")


def randn(*shape, loc=0.0, scale=1.0, dtype=None, ctx=None, out=None, **kwargs):
    """Standard normal samples of ``shape`` given positionally: ``randn(2, 3)``."""
    return normal(loc, scale, shape or None, dtype, ctx, out)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers uniform in [low, high), int32 by default (int64 allowed)."""
    if low >= high:
        raise MXNetError(f"randint: low ({low}) must be less than high ({high})")
    ctx = _place(ctx, out)
    if dtype is None and out is not None:
        dtype = out._data.dtype
    dtype = _dtype(dtype, np.int32)
    if dtype not in _INTS:
        raise MXNetError(f"randint: dtype must be int32 or int64, got {dtype}")
    values = _random.generator().integers(low, high, size=_size(shape, out), dtype=dtype)
    return _finish(values, out, ctx, dtype)


def exponential(scale=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from an exponential distribution with mean ``scale``."""
    if scale <= 0:
        raise MXNetError(f"exponential: scale must be positive, got {scale!r}")
    ctx, dtype = _place(ctx, out), _float_dtype(dtype, out, "exponential")
    values = _random.generator().exponential(scale, _size(shape, out))
    return _finish(values, out, ctx, dtype)


def gamma(alpha=1.0, beta=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from a gamma distribution with shape ``alpha`` and scale ``beta``."""
    if alpha <= 0 or beta <= 0:
        raise MXNetError(f"gamma: alpha and beta must be positive, got {alpha!r}, {beta!r}")
    ctx, dtype = _place(ctx, out), _float_dtype(dtype, out, "gamma")
    values = _random.generator().gamma(alpha, beta, _size(shape, out))
    return _finish(values, out, ctx, dtype)


def poisson(lam=1.0, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from a Poisson distribution with rate ``lam`` (float32 by default, as MXNet)."""
    if lam < 0:
        raise MXNetError(f"poisson: lam must be non-negative, got {lam!r}")
    ctx, dtype = _place(ctx, out), _float_dtype(dtype, out, "poisson")
    values = _random.generator().poisson(lam, _size(shape, out))
    return _finish(values, out, ctx, dtype)


def shuffle(data, out=None, **kwargs) -> NDArray:
    """A copy of ``data`` with its first axis randomly permuted."""
    data = _arr(data)
    if data.ndim == 0 or data.shape[0] < 2:
        return _finish(data._data.copy(), out, data._ctx)
    perm = _random.generator().permutation(data.shape[0])
    return _finish(data._data[perm], out, data._ctx)
