"""``mx.test_utils``: the helpers MXNet users' own tests import.

Comparison (``assert_almost_equal``, ``almost_equal``, ``same``), random inputs (``rand_ndarray``,
``rand_shape_nd``, ``random_arrays``), symbolic checks (``check_numeric_gradient``,
``check_symbolic_forward``/``backward``, ``check_consistency``, ``simple_forward``), optimizer
comparison (``compare_optimizer``), environment helpers and the MNIST readers.

>>> import mxlite as mx
>>> from mxlite.test_utils import assert_almost_equal
>>> assert_almost_equal(mx.nd.ones((2,)), [1.0, 1.0 + 1e-9])

Nothing here downloads: ``get_mnist*`` read the files under ``$MXNET_HOME`` (default
``~/.mxnet``) and name the missing ones; ``download`` refuses with a clear error.
"""

from __future__ import annotations

# MXNet's test_utils has no ``__all__``: test programs written for it rely on
# ``from mxnet.test_utils import *`` bringing the modules marked F401 along too.
# NumPy's global generator is used on purpose: those tests seed it (``np.random.seed``).
import contextlib
import gzip
import json  # noqa: F401
import logging  # noqa: F401
import os
import random as _pyrandom
import struct
import sys
import time  # noqa: F401
from collections import OrderedDict  # noqa: F401

import numpy as np
import numpy.random as rnd  # noqa: F401
import numpy.testing as npt  # noqa: F401

import mxlite as mx  # noqa: F401

from . import ndarray as nd
from .base import MXNetError
from .context import Context, cpu, current_context
from .ndarray import NDArray, array  # noqa: F401
from .runtime import Features  # noqa: F401
from .symbol import Symbol  # noqa: F401
from .util import getenv, setenv, use_np, use_np_shape  # noqa: F401

_default_ctx: Context | None = None

# tolerances by dtype, as MXNet's helpers choose them when none is given
_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5}
_ATOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20}


def default_context() -> Context:
    """The context tests run on: the one given to :func:`set_default_context`, else the current."""
    return _default_ctx if _default_ctx is not None else current_context()


def set_default_context(ctx) -> None:
    """Set the context :func:`default_context` returns (``None`` resets to the current one)."""
    global _default_ctx
    if ctx is not None and not isinstance(ctx, Context):
        raise TypeError(f"set_default_context: ctx must be a Context or None, got {ctx!r}")
    _default_ctx = ctx


def default_dtype():
    """The default floating type of test data: ``np.float32``."""
    return np.float32


def effective_dtype(dat) -> np.dtype:
    """The dtype whose tolerances apply when comparing ``dat`` (an ndarray or NDArray): its
    own.  (MXNet 1.9.1 answers float16 for float32 data on TF32 GPUs; mxlite runs on the CPU
    with full float32 products.)"""
    return np.dtype(dat.dtype)


def get_rtol(rtol=None, dtype=np.float32) -> float:
    """``rtol`` if given, else the default relative tolerance for ``dtype``."""
    return _RTOL.get(np.dtype(dtype), 1e-5) if rtol is None else rtol


def get_atol(atol=None, dtype=np.float32) -> float:
    """``atol`` if given, else the default absolute tolerance for ``dtype``."""
    return _ATOL.get(np.dtype(dtype), 1e-20) if atol is None else atol


def _as_np(x) -> np.ndarray:
    if isinstance(x, NDArray):
        return x.asnumpy()
    if hasattr(x, "asnumpy"):
        return x.asnumpy()
    return np.asarray(x)


def _tols(a: np.ndarray, b: np.ndarray, rtol, atol) -> tuple[float, float]:
    dts = [d for d in (a.dtype, b.dtype) if np.issubdtype(d, np.floating)]
    if not dts:
        return (1e-5 if rtol is None else rtol), (1e-20 if atol is None else atol)
    loosest = min(dts, key=lambda d: np.finfo(d).bits)
    return get_rtol(rtol, loosest), get_atol(atol, loosest)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True) -> bool:
    """True when ``|a - b| <= atol + rtol * |b|`` everywhere (NumPy's ``allclose`` rule)."""
    a, b = _as_np(a), _as_np(b)
    if not use_broadcast and a.shape != b.shape:
        return False
    rtol, atol = _tols(a, b, rtol, atol)
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _locate_worst(a: np.ndarray, b: np.ndarray, rtol: float, atol: float):
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        rel = diff / (atol + rtol * np.abs(b.astype(np.float64)))
    rel = np.where(np.isnan(rel), np.inf, rel)
    idx = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.size else ()
    return idx, (float(rel[idx]) if rel.size else 0.0)


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)) -> None:
    """Raise ``AssertionError`` unless ``a`` and ``b`` are close (see :func:`almost_equal`).

    The message names the worst element, its two values and the relative error.
    """
    a, b = _as_np(a), _as_np(b)
    if not use_broadcast and a.shape != b.shape:
        raise AssertionError(f"shapes differ: {names[0]} {a.shape} vs {names[1]} {b.shape}")
    rtol, atol = _tols(a, b, rtol, atol)
    try:
        a_b, b_b = np.broadcast_arrays(a, b)
    except ValueError:
        raise AssertionError(
            f"shapes do not broadcast: {names[0]} {a.shape} vs {names[1]} {b.shape}"
        ) from None
    if np.allclose(a_b, b_b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    idx, rel = _locate_worst(a_b, b_b, rtol, atol)
    bad = ~np.isclose(a_b, b_b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    raise AssertionError(
        f"Items are not equal (rtol={rtol}, atol={atol}): {int(bad.sum())} of {bad.size} "
        f"elements differ; worst at {idx}: {names[0]}={a_b[idx]!r} {names[1]}={b_b[idx]!r} "
        f"(error {rel:.3g} times the tolerance)\n {names[0]}: {a}\n {names[1]}: {b}"
    )


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")) -> None:
    """:func:`assert_almost_equal` ignoring the positions where either side is NaN."""
    a, b = np.copy(_as_np(a)), np.copy(_as_np(b))
    nan = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan] = 0
    b[nan] = 0
    assert_almost_equal(a, b, rtol, atol, names)


def same(a, b) -> bool:
    """True when ``a`` and ``b`` have equal shapes and equal elements."""
    return bool(np.array_equal(_as_np(a), _as_np(b)))


def same_array(array1: NDArray, array2: NDArray) -> bool:
    """True when the two NDArrays share memory (writing one is seen through the other).  A
    sparse array replaces its buffers when written, so two sparse arrays share memory only
    when they are the same array."""
    if not (isinstance(array1, NDArray) and isinstance(array2, NDArray)):
        raise TypeError("same_array: both arguments must be NDArrays")
    if array1 is array2:
        return True
    if array1.shape != array2.shape or type(array1) is not NDArray \
            or type(array2) is not NDArray:
        return False
    return bool(np.shares_memory(array1.handle, array2.handle))


def assert_exception(f, exception_type, *args, **kwargs) -> None:
    """Call ``f(*args, **kwargs)`` and assert it raises ``exception_type``."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)!r} did not raise {exception_type!r}")


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None) -> None:
    """Compare two (possibly nested) tuples of NDArrays elementwise; ``None`` matches ``None``."""
    if t1 is None or t2 is None:
        return
    if isinstance(t1, (tuple, list)):
        for s1, s2 in zip(t1, t2, strict=True):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def compare_optimizer(opt1, opt2, shape, dtype, w_stype="default", g_stype="default",
                      rtol=1e-4, atol=1e-5, compare_states=True, ntensors=1) -> None:
    """Run one update of two optimizers on equal random weights/gradients and compare results.

    ``shape`` may be one shape or (with ``ntensors > 1``) a list of shapes: ``opt1`` then
    updates them one at a time (the reference), ``opt2`` all in one multi-tensor call.
    With a sparse ``w_stype``/``g_stype``, as in MXNet, ``opt2`` gets the sparse arrays (sparse
    weights with every row stored) and the reference ``opt1`` dense copies of them.
    """
    if ntensors == 1:
        shapes = [shape]
    else:
        shapes = list(shape) if isinstance(shape[0], (tuple, list)) else [shape] * ntensors

    def pair(stype, density):
        tested = [rand_ndarray(s, stype, density=density, dtype=dtype) for s in shapes]
        reference = [a.tostype("default") if stype != "default" else a.copy() for a in tested]
        return reference, tested

    w1, w2 = pair(w_stype, None if w_stype == "default" else 1.0)
    g1, g2 = pair(g_stype, None)
    idx = list(range(len(shapes)))
    s1 = [opt1.create_state_multi_precision(i, w) for i, w in zip(idx, w1, strict=True)]
    s2 = [opt2.create_state_multi_precision(i, w) for i, w in zip(idx, w2, strict=True)]
    if compare_states:
        compare_ndarray_tuple(tuple(s1), tuple(s2), rtol=rtol, atol=atol)
    if ntensors == 1:
        opt1.update_multi_precision(0, w1[0], g1[0], s1[0])
        opt2.update_multi_precision(0, w2[0], g2[0], s2[0])
    else:  # opt1 the single-tensor reference, opt2 given all tensors in one call
        for i in idx:
            opt1.update_multi_precision(i, w1[i], g1[i], s1[i])
        opt2.update_multi_precision(idx, w2, g2, s2)
    if compare_states:
        compare_ndarray_tuple(tuple(s1), tuple(s2), rtol=rtol, atol=atol)
    for a, b in zip(w1, w2, strict=True):
        assert_almost_equal(a, b, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- random inputs

def random_arrays(*shapes):
    """Standard-normal float32 NumPy arrays of the given shapes (one array, not a list, for one)."""
    arrays = [np.array(np.random.randn(), dtype=np.float32) if len(s) == 0
              else np.random.randn(*s).astype(np.float32) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_sample(population, k: int) -> list:
    """``k`` distinct items drawn from ``population`` (NumPy's global generator)."""
    population = list(population)
    if not 0 <= k <= len(population):
        raise ValueError(f"random_sample: k must be in [0, {len(population)}], got {k!r}")
    picks = np.random.permutation(len(population))[:k]
    return [population[i] for i in picks]


def rand_shape_2d(dim0: int = 10, dim1: int = 10, allow_zero_size: bool = False) -> tuple:
    """A random 2-D shape with sides in ``[1, dim]`` (``[0, dim]`` when zero size is allowed)."""
    low = 0 if allow_zero_size else 1
    return (_pyrandom.randint(low, dim0), _pyrandom.randint(low, dim1))


def rand_shape_3d(dim0: int = 10, dim1: int = 10, dim2: int = 10,
                  allow_zero_size: bool = False) -> tuple:
    """A random 3-D shape (see :func:`rand_shape_2d`)."""
    low = 0 if allow_zero_size else 1
    return (_pyrandom.randint(low, dim0), _pyrandom.randint(low, dim1),
            _pyrandom.randint(low, dim2))


def rand_shape_nd(num_dim: int, dim: int = 10, allow_zero_size: bool = False) -> tuple:
    """A random ``num_dim``-D shape with every side in ``[1, dim]`` (or ``[0, dim]``)."""
    if not isinstance(num_dim, (int, np.integer)) or num_dim < 0:
        raise ValueError(f"rand_shape_nd: num_dim must be a non-negative int, got {num_dim!r}")
    low = 0 if allow_zero_size else 1
    return tuple(int(v) for v in np.random.randint(low, dim + 1, size=num_dim))


def rand_ndarray(shape, stype: str = "default", density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices=False, distribution=None, ctx=None) -> NDArray:
    """A random NDArray of ``shape``: uniform ``[0, 1)`` values for ``stype='default'``
    (``modifier_func`` applied to each), else the array of :func:`rand_sparse_ndarray`."""
    ctx = ctx or default_context()
    if stype == "default":
        dtype = default_dtype() if dtype is None else dtype
        values = np.random.uniform(0.0, 1.0, size=shape)
        if modifier_func is not None:
            values = np.vectorize(modifier_func)(values)
        return nd.array(values, ctx=ctx, dtype=dtype)
    if stype not in ("csr", "row_sparse"):
        raise ValueError(
            f"rand_ndarray: stype must be 'default', 'csr' or 'row_sparse', got {stype!r}"
        )
    arr, _ = rand_sparse_ndarray(shape, stype, density=density, dtype=dtype,
                                 distribution=distribution, modifier_func=modifier_func,
                                 shuffle_csr_indices=shuffle_csr_indices, ctx=ctx)
    return arr


def assign_each(the_input, function):
    """``function`` applied to every element of the NumPy array ``the_input`` (a new array of
    the same dtype); the input when ``function`` is None."""
    if function is None:
        return the_input
    return np.vectorize(function)(the_input).astype(np.asarray(the_input).dtype)


def shuffle_csr_column_indices(csr) -> None:
    """Shuffle, in place, the column indices (and their values) within each row of a CSR
    matrix (a ``scipy.sparse.csr_matrix`` or anything with NumPy ``indptr``, ``indices`` and
    ``data``): a valid CSR matrix need not have sorted columns.  (MXNet 1.9.1 shuffles only the
    indices, moving values to other columns; here each value moves with its column.)"""
    indptr = np.asarray(csr.indptr)
    for row in range(len(indptr) - 1):
        lo, hi = int(indptr[row]), int(indptr[row + 1])
        order = np.random.permutation(hi - lo)
        csr.indices[lo:hi] = np.asarray(csr.indices[lo:hi])[order]
        csr.data[lo:hi] = np.asarray(csr.data[lo:hi])[order]


def _check_sparse_request(shape, stype, density, distribution):
    if stype not in ("csr", "row_sparse"):
        raise ValueError(f"rand_sparse_ndarray: stype must be 'csr' or 'row_sparse', got "
                         f"{stype!r}")
    if distribution not in ("uniform", "powerlaw"):
        raise ValueError(f"rand_sparse_ndarray: distribution must be 'uniform' or 'powerlaw', "
                         f"got {distribution!r}")
    if stype == "row_sparse" and distribution != "uniform":
        raise ValueError(f"rand_sparse_ndarray: distribution {distribution!r} is not supported "
                         "for row_sparse (only 'uniform')")
    if isinstance(density, bool) or not isinstance(density, (int, float, np.floating)) \
            or not 0.0 <= density <= 1.0:
        raise ValueError(f"rand_sparse_ndarray: density must be in [0, 1], got {density!r}")
    shape = tuple(int(s) for s in shape)
    if stype == "csr":
        if len(shape) != 2:
            raise ValueError(f"rand_sparse_ndarray: a csr array is 2-D, got shape {shape}")
        if shape[0] <= 0 or shape[1] <= 0:
            raise ValueError(f"rand_sparse_ndarray: a csr shape needs rows and columns > 0, "
                             f"got {shape}")
    elif not shape or shape[0] < 0:
        raise ValueError(f"rand_sparse_ndarray: a row_sparse shape needs a first axis, got "
                         f"{shape}")
    return shape


def _uniform_csr(shape, density, dtype):
    """``round(density * rows * cols)`` distinct positions drawn uniformly, values uniform in
    ``[0, 1)`` (what ``scipy.sparse.rand`` draws); columns sorted within each row."""
    rows, cols = shape
    nnz = round(density * rows * cols)
    flat = np.sort(np.random.choice(rows * cols, size=nnz, replace=False))
    row_of, col_of = np.divmod(flat, cols)
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=rows), out=indptr[1:])
    return indptr, col_of.astype(np.int64), np.random.uniform(size=nnz).astype(dtype)


def _powerlaw_csr(shape, density, dtype):
    """``int(rows * cols * density)`` values ``1 + uniform(0.001, 2)``: first one at the
    start of every row, then rows 0, 1, 2, ... filled from the left to 2, 4, 8, ... entries
    (whole rows once that reaches the width) until the count is used up."""
    rows, cols = shape
    total = int(rows * cols * density)
    if total < 2 * rows:
        raise ValueError(f"rand_sparse_ndarray: powerlaw needs rows * cols * density >= "
                         f"2 * rows, got density {density} for shape {shape}")
    dense = np.zeros(shape, dtype=dtype)
    left = total
    for row in range(rows):
        dense[row, 0] = 1 + np.random.uniform(0.001, 2)
        left -= 1
    width = 2
    for row in range(rows):
        if left <= 0:
            break
        limit = min(cols, width)
        if limit == cols and left > limit:
            dense[row] = 1 + np.random.uniform(0.001, 2)
            left -= limit - 1
            continue
        for col in range(1, limit):
            dense[row, col] = 1 + np.random.uniform(0.001, 2)
            left -= 1
            if left <= 0:
                break
        width *= 2
    if left > 0:
        raise ValueError(f"rand_sparse_ndarray: powerlaw cannot place {total} values in shape "
                         f"{shape} (density {density})")
    nz = dense != 0
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(nz.sum(axis=1), out=indptr[1:])
    return indptr, np.nonzero(nz)[1].astype(np.int64), dense[nz]


def rand_sparse_ndarray(shape, stype, density=None, dtype=None, distribution=None,
                        data_init=None, rsp_indices=None, modifier_func=None,
                        shuffle_csr_indices=False, ctx=None):
    """A random sparse NDArray and its parts (MXNet 1.9.1's ``rand_sparse_ndarray``).

    Parameters
    ----------
    shape : tuple
    stype : {'csr', 'row_sparse'}
    density : float in [0, 1], optional
        Uniform random when None.
    dtype : optional (default: :func:`default_dtype`)
    distribution : {'uniform', 'powerlaw'}, optional (default 'uniform')
        ``row_sparse``: each row is stored with probability ``density``, its values uniform in
        ``[0, 1)``.  ``csr`` ``uniform``: ``round(density * rows * cols)`` distinct positions
        drawn uniformly, values uniform in ``[0, 1)``.  ``csr`` ``powerlaw``:
        ``int(rows * cols * density)`` values (at least ``2 * rows``) in
        ``[1.001, 3)``, one at the start of every row, then rows filled from the left with 2,
        4, 8, ... entries, so each row holds about twice its predecessor's.
    data_init : number, optional
        Every stored value set to it.
    rsp_indices : sequence of int, optional
        The stored rows of a ``row_sparse`` array (instead of drawing them).
    modifier_func : callable, optional
        Applied to every stored value (MXNet 1.9.1 ignores it for ``csr``).
    shuffle_csr_indices : bool
        Shuffle the column indices within each row before building the array (see
        :func:`shuffle_csr_column_indices`); mxlite's CSRNDArray stores its columns sorted, so
        the array is the same matrix either way.
    ctx : Context, optional

    Returns
    -------
    ``(array, (values, indices))`` for ``row_sparse`` (NumPy arrays; empty ones when no row is
    stored) and ``(array, (indptr, indices, data))`` for ``csr`` (the array's NDArrays).
    """
    ctx = ctx or default_context()
    density = np.random.rand() if density is None else density
    dtype = np.dtype(default_dtype() if dtype is None else dtype)
    distribution = "uniform" if distribution is None else distribution
    shape = _check_sparse_request(shape, stype, density, distribution)
    if stype == "row_sparse":
        if rsp_indices is not None:
            indices = np.asarray(rsp_indices, dtype=np.int64).reshape(-1)
            if len(indices) > shape[0] or (len(indices) and (
                    indices.min() < 0 or indices.max() >= shape[0])):
                raise ValueError(f"rand_sparse_ndarray: rsp_indices must be at most {shape[0]} "
                                 f"row numbers in [0, {shape[0]}), got {list(indices)}")
        else:
            indices = np.argwhere(np.random.rand(shape[0]) < density).reshape(-1)
        if indices.shape[0] == 0:
            return (nd.sparse.zeros("row_sparse", shape, ctx=ctx, dtype=dtype),
                    (np.array([], dtype=dtype), np.array([], dtype=np.int64)))
        values = np.random.rand(indices.shape[0], *shape[1:]).astype(dtype)
        if data_init is not None:
            values.fill(data_init)
        values = assign_each(values, modifier_func)
        arr = nd.sparse.row_sparse_array((values, indices), shape=shape, ctx=ctx, dtype=dtype)
        return arr, (values, indices)
    if distribution == "uniform":
        indptr, indices, data = _uniform_csr(shape, density, dtype)
    else:
        indptr, indices, data = _powerlaw_csr(shape, density, dtype)
    if data_init is not None:
        data.fill(data_init)
    data = assign_each(data, modifier_func)
    if shuffle_csr_indices:
        parts = type("_Parts", (), {})()
        parts.indptr, parts.indices, parts.data = indptr, indices, data
        shuffle_csr_column_indices(parts)
    arr = nd.sparse.csr_matrix((data, indices, indptr), shape=shape, ctx=ctx, dtype=dtype)
    return arr, (arr.indptr, arr.indices, arr.data)


def np_reduce(dat: np.ndarray, axis, keepdims: bool, numpy_reduce_func) -> np.ndarray:
    """Reduce ``dat`` over ``axis`` (int, tuple or None) with a one-axis NumPy reducer."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else list(range(dat.ndim))
    ret = dat
    for i in reversed(sorted(a % dat.ndim for a in axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        shape = list(dat.shape)
        for i in axis:
            shape[i % dat.ndim] = 1
        ret = ret.reshape(tuple(shape))
    return ret


# ----------------------------------------------------------------------------- symbolic checks

def _parse_location(sym, location, ctx, dtype=np.float32) -> dict:
    names = sym.list_arguments()
    if isinstance(location, dict):
        unknown = set(location) - set(names)
        if unknown:
            raise ValueError(
                f"location names {sorted(unknown)} are not arguments of the symbol {names}"
            )
        items = dict(location)
    else:
        location = list(location)
        if len(location) != len(names):
            raise ValueError(
                f"location has {len(location)} arrays, the symbol has {len(names)} arguments "
                f"{names}"
            )
        items = dict(zip(names, location, strict=True))
    out = {}
    for k, v in items.items():
        if isinstance(v, NDArray):
            out[k] = v.as_in_context(ctx)
        else:
            out[k] = nd.array(np.asarray(v), ctx=ctx, dtype=dtype if dtype is not None
                              else np.asarray(v).dtype)
    return out


def _parse_aux(sym, aux_states, ctx, dtype=np.float32):
    if aux_states is None:
        return None
    names = sym.list_auxiliary_states()
    if isinstance(aux_states, dict):
        items = dict(aux_states)
    else:
        items = dict(zip(names, aux_states, strict=True))
    return {k: (v.as_in_context(ctx) if isinstance(v, NDArray)
                else nd.array(v, ctx=ctx, dtype=dtype)) for k, v in items.items()}


def numeric_grad(executor, location: dict, aux_states=None, eps: float = 1e-4,
                 use_forward_train: bool = True, dtype=np.float32) -> dict:
    """Central finite-difference gradients of ``sum(outputs)`` for the arrays in ``location``."""
    for k, v in location.items():
        executor.arg_dict[k][:] = v
    if aux_states:
        for k, v in aux_states.items():
            executor.aux_dict[k][:] = v
    grads = {}
    for k, v in location.items():
        base = np.array(v.asnumpy() if isinstance(v, NDArray) else v, dtype=np.float64)
        g = np.zeros(base.shape, dtype=np.float64)
        flat, gflat = base.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            total = []
            for sign in (1.0, -1.0):
                flat[i] = orig + sign * eps / 2
                executor.arg_dict[k][:] = base.astype(executor.arg_dict[k].dtype)
                if aux_states:
                    for ak, av in aux_states.items():
                        executor.aux_dict[ak][:] = av
                outs = executor.forward(is_train=use_forward_train)
                total.append(sum(float(o.asnumpy().astype(np.float64).sum()) for o in outs))
            flat[i] = orig
            gflat[i] = (total[0] - total[1]) / eps
        executor.arg_dict[k][:] = base.astype(executor.arg_dict[k].dtype)
        grads[k] = g.astype(dtype)
    return grads


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=1e-3, rtol=1e-2,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=np.float32) -> None:
    """Compare the symbol's backward gradients with finite differences.

    The head gradient is a fixed random projection, so every output element contributes; the
    check is done on ``sum(outputs * proj)`` as a scalar function of each input.
    """
    from . import symbol as _sym

    ctx = ctx or default_context()
    loc = _parse_location(sym, location, ctx, dtype)
    aux = _parse_aux(sym, aux_states, ctx, dtype)
    if grad_nodes is None:
        grad_nodes = list(loc)
        req = dict.fromkeys(grad_nodes, "write")
    elif isinstance(grad_nodes, (list, tuple)):
        grad_nodes = list(grad_nodes)
        req = dict.fromkeys(grad_nodes, "write")
    elif isinstance(grad_nodes, dict):
        req = dict(grad_nodes)
        grad_nodes = list(grad_nodes)
    else:
        raise TypeError(f"grad_nodes must be a list or dict, got {grad_nodes!r}")

    shapes = {k: v.shape for k, v in loc.items()}
    probe = sym.simple_bind(ctx, grad_req="null", **shapes)
    out_shape = probe.forward(is_train=False, **loc)[0].shape
    proj = _sym.Variable("__random_proj")
    head = _sym.sum(sym * proj)
    proj_value = nd.array(np.random.uniform(-1.0, 1.0, size=out_shape), ctx=ctx, dtype=dtype)
    loc_p = dict(loc, __random_proj=proj_value)
    args_grad = {k: nd.zeros(v.shape, ctx=ctx, dtype=v.dtype) for k, v in loc.items()
                 if k in grad_nodes}
    reqs = {k: req.get(k, "null") for k in head.list_arguments()}
    exe = head.bind(ctx, args=loc_p, args_grad=args_grad, grad_req=reqs, aux_states=aux)
    exe.forward(is_train=True)
    exe.backward()
    symbolic = {k: exe.grad_dict[k].asnumpy() for k in grad_nodes}

    fd_exe = head.bind(ctx, args={k: v.copy() for k, v in loc_p.items()}, grad_req="null",
                       aux_states=None if aux is None else {k: v.copy() for k, v in aux.items()})
    numeric = numeric_grad(fd_exe, {k: loc[k].asnumpy() for k in grad_nodes},
                           None if aux is None else {k: v.asnumpy() for k, v in aux.items()},
                           eps=numeric_eps, use_forward_train=use_forward_train, dtype=dtype)
    for name in grad_nodes:  # with req 'add' the gradients were added onto zeros: the same
        assert_almost_equal(symbolic[name], numeric[name], rtol=rtol,
                            atol=atol if atol is not None else get_atol(None, dtype),
                            names=(f"BACKWARD_{name}", f"NUMERICAL_{name}"))


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None,
                           ctx=None, equal_nan=False, dtype=np.float32):
    """Bind ``sym`` at ``location``, run forward, compare outputs with ``expected``."""
    ctx = ctx or default_context()
    loc = _parse_location(sym, location, ctx, dtype)
    aux = _parse_aux(sym, aux_states, ctx, dtype)
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    exe = sym.bind(ctx, args=loc, grad_req="null", aux_states=aux)
    outputs = [o.asnumpy() for o in exe.forward(is_train=False)]
    for name, out, exp in zip(sym.list_outputs(), outputs, expected, strict=True):
        assert_almost_equal(out, exp, rtol, atol, (f"FORWARD_{name}", f"EXPECTED_{name}"),
                            equal_nan=equal_nan)
    return outputs


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None,
                            aux_states=None, grad_req="write", ctx=None, grad_stypes=None,
                            equal_nan=False, dtype=np.float32):
    """Bind ``sym``, run forward and backward with ``out_grads``, compare the gradients."""
    ctx = ctx or default_context()
    loc = _parse_location(sym, location, ctx, dtype)
    aux = _parse_aux(sym, aux_states, ctx, dtype)
    names = sym.list_arguments()
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(names, expected, strict=True))
    if isinstance(grad_req, str):
        reqs = dict.fromkeys(names, grad_req)
    elif isinstance(grad_req, (list, tuple)):
        reqs = dict(zip(names, grad_req, strict=True))
    else:
        reqs = dict(grad_req)
    grads = {}
    for k in expected:
        init = np.random.normal(size=loc[k].shape) if reqs.get(k) == "add" else \
            np.zeros(loc[k].shape)
        grads[k] = nd.array(init, ctx=ctx, dtype=loc[k].dtype)
    before = {k: v.asnumpy() for k, v in grads.items()}
    exe = sym.bind(ctx, args=loc, args_grad=grads,
                   grad_req={k: reqs.get(k, "null") if k in grads else "null" for k in names},
                   aux_states=aux)
    exe.forward(is_train=True)
    if isinstance(out_grads, (tuple, list)):
        out_grads = [g if isinstance(g, NDArray) else nd.array(g, ctx=ctx, dtype=dtype)
                     for g in out_grads]
    elif isinstance(out_grads, dict):
        out_grads = [nd.array(out_grads[k], ctx=ctx, dtype=dtype) for k in sym.list_outputs()]
    elif out_grads is not None:
        out_grads = [out_grads if isinstance(out_grads, NDArray)
                     else nd.array(out_grads, ctx=ctx, dtype=dtype)]
    exe.backward(out_grads)
    result = {k: v.asnumpy() for k, v in exe.grad_dict.items() if k in expected}
    for name, exp in expected.items():
        want = _as_np(exp)
        if reqs.get(name) == "add":
            want = want + before[name]
        if reqs.get(name) == "null":
            want = before[name]
        assert_almost_equal(result[name], want, rtol, atol,
                            (f"BACKWARD_{name}", f"EXPECTED_{name}"), equal_nan=equal_nan)
    return result


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Forward ``sym`` on NumPy ``inputs``; NumPy output(s) back (one array for one output)."""
    ctx = ctx or default_context()
    args = {k: nd.array(v, ctx=ctx) for k, v in inputs.items()}
    exe = sym.bind(ctx, args=args, grad_req="null")
    outputs = [o.asnumpy() for o in exe.forward(is_train=is_train)]
    return outputs[0] if len(outputs) == 1 else outputs


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None,
                      aux_params=None, tol=None, raise_on_err=True, ground_truth=None,
                      equal_nan=False, use_uniform=False, rand_type=np.float64):
    """Run ``sym`` on each entry of ``ctx_list`` (dicts of ``ctx``, shapes and ``type_dict``),
    same inputs everywhere, and compare outputs and gradients with the most precise run.

    Returns the list of executors (forward and backward done).
    """
    if not ctx_list:
        raise ValueError("check_consistency: ctx_list is empty")
    syms = sym if isinstance(sym, (list, tuple)) else [sym] * len(ctx_list)
    default_tol = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3,
                   np.dtype(np.float64): 1e-5, np.dtype(np.uint8): 0, np.dtype(np.int32): 0,
                   np.dtype(np.int64): 0}
    if tol is None:
        tol = default_tol
    elif isinstance(tol, (int, float)):
        tol = dict.fromkeys(default_tol, tol)
    exes = []
    for s, spec in zip(syms, ctx_list, strict=True):
        spec = dict(spec)
        ctx = spec.pop("ctx", default_context())
        type_dict = spec.pop("type_dict", None)
        exes.append(s.simple_bind(ctx, grad_req=grad_req, type_dict=type_dict, **spec))
    arg_params = dict(arg_params or {})
    aux_params = dict(aux_params or {})
    first = exes[0]
    for name, arr in first.arg_dict.items():
        if name not in arg_params:
            shape = arr.shape
            arg_params[name] = (np.random.uniform(-scale, scale, size=shape) if use_uniform
                                else np.random.normal(size=shape) * scale).astype(rand_type)
    for name, arr in first.aux_dict.items():
        aux_params.setdefault(name, np.zeros(arr.shape))
    for exe in exes:
        for name, arr in exe.arg_dict.items():
            arr[:] = np.asarray(_as_np(arg_params[name])).astype(arr.dtype)
        for name, arr in exe.aux_dict.items():
            arr[:] = np.asarray(_as_np(aux_params[name])).astype(arr.dtype)
    for exe in exes:
        exe.forward(is_train=grad_req != "null")
    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exes]
    gt_index = int(np.argmax([np.finfo(d).bits if np.issubdtype(d, np.floating) else 0
                              for d in dtypes]))
    gt = ground_truth or {}
    if not gt:
        gt.update({n: o.asnumpy() for n, o in zip(syms[gt_index].list_outputs(),
                                                  exes[gt_index].outputs, strict=True)})

    def compare(got, want, dtype, label):
        t = tol.get(np.dtype(dtype), 1e-3)
        try:
            assert_almost_equal(got, want, rtol=t, atol=t, equal_nan=equal_nan,
                                names=(label, "ground truth"))
        except AssertionError:
            if raise_on_err:
                raise
            print(f"check_consistency: {label} differs", file=sys.stderr)

    for i, exe in enumerate(exes):
        if i == gt_index and ground_truth is None:
            continue
        ref_names = list(gt)  # outputs compared by position (the symbols may differ in names)
        for k, (n, o) in enumerate(zip(syms[i].list_outputs(), exe.outputs, strict=True)):
            want = gt[n] if n in gt else gt[ref_names[k]]
            compare(o.asnumpy(), want, dtypes[i], f"ctx {i} output {n}")
    if grad_req != "null":
        out_grads = [np.random.normal(size=o.shape) * scale for o in exes[gt_index].outputs]
        for exe in exes:
            exe.backward([nd.array(g, ctx=exe.outputs[0].context, dtype=o.dtype)
                          for g, o in zip(out_grads, exe.outputs, strict=True)])
        ref = exes[gt_index]
        for i, exe in enumerate(exes):
            if i == gt_index:
                continue
            for n, g in exe.grad_dict.items():
                if g is None or ref.grad_dict.get(n) is None:
                    continue
                compare(g.asnumpy(), ref.grad_dict[n].asnumpy(), dtypes[i], f"ctx {i} grad {n}")
    return exes


# ----------------------------------------------------------------------------- environment

@contextlib.contextmanager
def environment(*args):
    """Set environment variables for a block, restoring them afterwards.

    ``environment('NAME', 'value')`` or ``environment({'A': '1', 'B': None})`` (None unsets).
    """
    if len(args) == 2:
        changes = {args[0]: args[1]}
    elif len(args) == 1 and isinstance(args[0], dict):
        changes = dict(args[0])
    else:
        raise ValueError(f"environment: expected (name, value) or one dict, got {args!r}")
    saved = {k: os.environ.get(k) for k in changes}
    try:
        for k, v in changes.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = str(v)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def discard_stderr():
    """Silence everything written to file descriptor 2 inside the block."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)


# ----------------------------------------------------------------------------- data sets

_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def data_dir() -> str:
    """``$MXNET_HOME`` (default ``~/.mxnet``): where data sets are looked for."""
    return os.environ.get("MXNET_HOME", os.path.join(os.path.expanduser("~"), ".mxnet"))


def download(url, fname=None, dirname=None, overwrite=False, retries=5):
    """mxlite never downloads: return the local file if it is already there, else raise.

    The error names the file to place by hand (``dirname/fname``) and the URL it comes from.
    """
    if fname is None:
        fname = url.split("/")[-1]
    path = fname if dirname is None else os.path.join(dirname, fname)
    if os.path.exists(path) and not overwrite:
        return path
    raise MXNetError(
        f"download: mxlite does not fetch from the network; place the file {path!r} "
        f"(from {url}) there by hand"
    )


def _mnist_dir(path=None) -> str:
    return path if path is not None else os.path.join(data_dir(), "datasets", "mnist")


def _find_mnist(folder: str) -> dict:
    found, missing = {}, []
    for name in _MNIST_FILES:
        for candidate in (name, name + ".gz"):
            p = os.path.join(folder, candidate)
            if os.path.exists(p):
                found[name] = p
                break
        else:
            missing.append(name)
    if missing:
        raise MXNetError(
            f"MNIST files not found in {folder!r}: {', '.join(missing)} (plain or .gz); "
            "mxlite does not download, set MXNET_HOME or copy them there"
        )
    return found


def _read_idx(path: str, what: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[0] != 0 or head[1] != 0 or head[2] != 8:
            raise MXNetError(f"{path}: not an IDX file of unsigned bytes ({what})")
        ndim = head[3]
        dims = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        count = int(np.prod(dims))
        data = f.read(count)
        if len(data) != count:
            raise MXNetError(f"{path}: truncated ({len(data)} of {count} bytes)")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def get_mnist_ubyte(path=None) -> str:
    """The folder holding the four uncompressed MNIST IDX files (checked, never downloaded)."""
    folder = _mnist_dir(path)
    found = _find_mnist(folder)
    gz = [n for n, p in found.items() if p.endswith(".gz")]
    if gz:
        raise MXNetError(
            f"MNIST files in {folder!r} are gzipped ({', '.join(gz)}); MNISTIter reads the "
            "uncompressed IDX files: gunzip them"
        )
    return folder


def get_mnist(path=None) -> dict:
    """MNIST as NumPy arrays: ``train_data`` (N,1,28,28 float32 in [0,1]), ``train_label``, ..."""
    found = _find_mnist(_mnist_dir(path))

    def images(name):
        raw = _read_idx(found[name], "images")
        return raw.reshape(raw.shape[0], 1, raw.shape[1], raw.shape[2]).astype(np.float32) / 255

    return {
        "train_data": images(_MNIST_FILES[0]),
        "train_label": _read_idx(found[_MNIST_FILES[1]], "labels").astype(np.int8),
        "test_data": images(_MNIST_FILES[2]),
        "test_label": _read_idx(found[_MNIST_FILES[3]], "labels").astype(np.int8),
    }


def get_mnist_iterator(batch_size, input_shape, num_parts=1, part_index=0, path=None):
    """``(train, val)`` ``NDArrayIter``s over MNIST, data reshaped to ``(batch,) + input_shape``."""
    from .io import NDArrayIter

    mnist = get_mnist(path)
    shape = tuple(input_shape)
    train_x = mnist["train_data"].reshape((-1, *shape))
    test_x = mnist["test_data"].reshape((-1, *shape))
    n = train_x.shape[0] // num_parts
    lo = part_index * n
    train = NDArrayIter(train_x[lo:lo + n], mnist["train_label"][lo:lo + n].astype(np.float32),
                        batch_size, shuffle=True)
    val = NDArrayIter(test_x, mnist["test_label"].astype(np.float32), batch_size)
    return train, val


def cpu_ctx_list(n: int = 2) -> list:
    """``[cpu(0), ..., cpu(n-1)]``, the contexts :func:`check_consistency` can compare here."""
    return [cpu(i) for i in range(n)]
