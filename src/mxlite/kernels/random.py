"""Fast random fills: the one path every mxlite random tensor of float32/float64 goes through.

:func:`fill_uniform` and :func:`fill_normal` write U(low, high) and N(loc, scale^2) samples into a
given NumPy array in place.  Uniforms are drawn straight into the target buffer from
:func:`mxlite.random.generator` (so ``mx.random.seed`` makes every fill reproducible), then
transformed in place: one fused ``x * a + b`` Numba pass for uniforms, a multi-threaded
Box-Muller transform in cache-sized blocks for normals.  No full-size temporaries.

Users: the random initializers, SGLD's per-step noise and ``mx.nd.random.uniform/normal``.
This module imports Numba, so import it lazily (``import mxlite`` must stay Numba-free).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import random as _random

__all__ = ["fill_normal", "fill_uniform"]


@numba.njit(cache=True, nogil=True)
def _affine_serial(x, a, b):  # pragma: no cover - compiled
    """x <- x * a + b over a flat contiguous array, one pass."""
    for i in range(x.size):
        x[i] = x[i] * a + b


@numba.njit(cache=True, nogil=True, parallel=True)
def _affine_parallel(x, a, b):  # pragma: no cover - compiled
    """x <- x * a + b, multi-threaded (same arithmetic per element as the serial loop)."""
    for i in numba.prange(x.size):
        x[i] = x[i] * a + b


# arrays at least this large are scaled by the multi-threaded kernel / transformed by the pool
_PARALLEL_MIN = 1 << 18


def _affine_inplace(x, a, b) -> None:
    if x.size >= _PARALLEL_MIN:
        _affine_parallel(x, a, b)
    else:
        _affine_serial(x, a, b)


_POOL: list = []  # [ThreadPoolExecutor, workers], created on first use


def _pool_workers() -> int:
    """Worker threads for the Box-Muller transform: the kernels' thread count
    (``MXLITE_NUM_THREADS`` / ``OMP_NUM_THREADS`` / all cores)."""
    return max(1, numba.get_num_threads())


def _thread_map(fn, chunks) -> None:
    """Run ``fn(lo, hi)`` over ``chunks``, on a thread pool when there are several
    (NumPy's ufuncs release the GIL, so the chunks run in parallel)."""
    if len(chunks) == 1:
        fn(*chunks[0])
        return
    from concurrent.futures import ThreadPoolExecutor

    if not _POOL or _POOL[1] < len(chunks):
        if _POOL:
            _POOL[0].shutdown(wait=False)
        _POOL[:] = [ThreadPoolExecutor(max_workers=len(chunks)), len(chunks)]
    for fut in [_POOL[0].submit(fn, lo, hi) for lo, hi in chunks]:
        fut.result()


def float_dtype(dtype) -> np.dtype:
    """The dtype random draws are made in for a target of ``dtype`` (float64 or float32)."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def _check_out(out) -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if not out.flags.writeable:
        raise ValueError("out must be writeable, got a read-only array")


def _target_buffer(data: np.ndarray) -> tuple[np.ndarray, bool]:
    """A flat float32/float64 buffer to draw into: ``data`` itself when it is one (no copy)."""
    fdt = float_dtype(data.dtype)
    if data.dtype == fdt and data.flags.c_contiguous:
        return data.reshape(-1), True
    return np.empty(data.size, dtype=fdt), False


def fill_uniform(out: np.ndarray, low: float = 0.0, high: float = 1.0) -> None:
    """Fill ``out`` in place with U[low, high) samples.

    Uniforms on [0, 1) are drawn into ``out``'s own buffer (float32 or float64; any other
    dtype or a non-contiguous ``out`` goes through a float32 scratch buffer), then one fused
    ``x * (high - low) + low`` pass scales them.

    >>> import numpy as np, mxlite as mx
    >>> from mxlite.kernels.random import fill_uniform
    >>> mx.random.seed(0)
    >>> x = np.empty(1000, dtype=np.float32); fill_uniform(x, -2.0, 2.0)
    >>> bool(x.min() >= -2.0 and x.max() < 2.0)
    True
    """
    _check_out(out)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"low and high must be finite, got low={low!r}, high={high!r}")
    if low > high:
        raise ValueError(f"low must not exceed high, got low={low!r}, high={high!r}")
    if out.size == 0:
        return
    buf, direct = _target_buffer(out)
    _random.generator().random(dtype=buf.dtype, out=buf)
    _affine_inplace(buf, buf.dtype.type(high - low), buf.dtype.type(low))
    if not direct:
        out[...] = buf.reshape(out.shape)


# Box-Muller block: two scratch vectors of this many elements stay in L2 cache
_BM_BLOCK = 16384


def fill_normal(out: np.ndarray, loc: float = 0.0, scale: float = 1.0) -> None:
    """Fill ``out`` in place with N(loc, scale^2) samples by the Box-Muller transform.

    Uniforms are drawn into ``out``'s buffer; each block of ``2m`` of them ``(u1, u2)`` becomes
    ``r cos(t) + loc, r sin(t) + loc`` with ``r = scale * sqrt(-2 log(1 - u1))``,
    ``t = 2 pi u2``, computed with NumPy's SIMD transcendental ufuncs into two cache-sized
    scratch vectors, on several threads for large arrays (the blocks, hence the values, do not
    depend on the thread count).  Float32 targets use float32 uniforms (resolution 2^-24, so
    |z| <= 5.77 sigma, a tail of probability 8e-9 cut, as torch's float32 ``normal_``); float64
    targets use float64 uniforms.  An odd last element is one ``standard_normal`` draw.

    >>> import numpy as np, mxlite as mx
    >>> from mxlite.kernels.random import fill_normal
    >>> mx.random.seed(0)
    >>> x = np.empty(100_000); fill_normal(x, 1.0, 2.0)
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (1.0, 2.0)
    """
    _check_out(out)
    if not (math.isfinite(loc) and math.isfinite(scale)):
        raise ValueError(f"loc and scale must be finite, got loc={loc!r}, scale={scale!r}")
    if scale < 0:
        raise ValueError(f"scale must be non-negative, got {scale!r}")
    if out.size == 0:
        return
    gen = _random.generator()
    buf, direct = _target_buffer(out)
    gen.random(dtype=buf.dtype, out=buf)
    n = buf.size
    even = n - n % 2
    neg2var = -2.0 * scale * scale
    shift = buf.dtype.type(loc) if loc != 0.0 else None

    def transform(lo, hi):  # blocks [lo, hi), lo a multiple of the block pair size
        half = min(_BM_BLOCK, (hi - lo) // 2)
        radius = np.empty(half, dtype=buf.dtype)
        angle = np.empty(half, dtype=buf.dtype)
        for start in range(lo, hi, 2 * _BM_BLOCK):
            m = (min(start + 2 * _BM_BLOCK, hi) - start) // 2
            u1, u2 = buf[start : start + m], buf[start + m : start + 2 * m]
            r, t = radius[:m], angle[:m]
            np.subtract(1, u1, out=r)
            np.log(r, out=r)
            np.multiply(r, neg2var, out=r)
            np.sqrt(r, out=r)
            np.multiply(u2, 2 * math.pi, out=t)
            np.cos(t, out=u1)
            np.sin(t, out=u2)
            np.multiply(u1, r, out=u1)
            np.multiply(u2, r, out=u2)
            if shift is not None:
                np.add(u1, shift, out=u1)
                np.add(u2, shift, out=u2)

    # the same blocks whatever the thread count, so the values do not depend on it
    if even:
        nblocks = -(-even // (2 * _BM_BLOCK))
        workers = min(_pool_workers(), nblocks) if even >= _PARALLEL_MIN else 1
        per = -(-nblocks // workers) * 2 * _BM_BLOCK
        _thread_map(transform, [(lo, min(lo + per, even)) for lo in range(0, even, per)])
    if n % 2:
        buf[-1] = loc + scale * gen.standard_normal()
    if not direct:
        out[...] = buf.reshape(out.shape)
