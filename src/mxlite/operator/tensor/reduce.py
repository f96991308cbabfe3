"""Reductions: ``sum``, ``mean``, ``max``, ``min``, ``norm``, ``argmax``, ``argmin``.

The NumPy-level functions :func:`reduce`, :func:`norm` and :func:`arg_reduce` are the single
implementation behind both these operators and the ``mx.nd`` functions of the same names.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ...base import MXNetError
from ..registry import Param, Params, register
from ._common import _axes, _axis, _full_shape, _OneInput

__all__: list[str] = []


# ---------------------------------------------------------------------- NumPy-level semantics
_NEEDS_ELEMENTS = (np.max, np.min, np.prod)
_ACCUMULATING = (np.sum, np.mean, np.prod)


def reduce(fn, x: np.ndarray, axes: tuple, keepdims: bool, name: str) -> np.ndarray:
    """``fn`` (np.sum/mean/max/min/prod) over ``axes`` in ``x``'s dtype; a full reduction has
    shape ``(1,)``.  float16 accumulates in float32 (as MXNet); max/min/prod of a zero-size
    axis raise MXNetError; integer means truncate."""
    if x.size == 0 and fn in _NEEDS_ELEMENTS and any(x.shape[a] == 0 for a in axes):
        shape = "[" + ",".join(str(d) for d in x.shape) + "]"
        raise MXNetError(f"{name}: cannot reduce a zero-size axis of {shape}")
    kwargs = {}
    if fn in _ACCUMULATING and x.dtype == np.float16:
        kwargs["dtype"] = np.float32  # accumulate half precision in float32, as MXNet
    if x.size == 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty axis is nan
            result = fn(x, axis=axes, keepdims=bool(keepdims), **kwargs)
    else:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            result = fn(x, axis=axes, keepdims=bool(keepdims), **kwargs)
    result = _full_shape(result)
    if result.dtype != x.dtype:
        with np.errstate(invalid="ignore", over="ignore"):
            result = result.astype(x.dtype)
    return result


_KERNEL_MIN_SIZE = 1 << 14  # below this NumPy is as fast and needs no compilation
_KERNELS: dict = {}


def _kernel(name: str):
    """The Numba-compiled version of the module-level function ``name`` (compiled on first use,
    so ``import mxlite`` does not import Numba)."""
    fn = _KERNELS.get(name)
    if fn is None:
        import numba

        from ... import kernels  # noqa: F401  (sets up the on-disk cache first)

        fn = _KERNELS[name] = numba.njit(cache=True, nogil=True)(globals()[name])
    return fn


def _abs_and_square_sums(flat):
    """Sum of ``|x|`` and of ``x*x`` over a 1-D array, accumulated in float64 (kernel source)."""
    l1 = 0.0
    l2 = 0.0
    for k in range(flat.shape[0]):
        v = float(flat[k])
        l1 += math.fabs(v)
        l2 += v * v
    return l1, l2


def norm(x: np.ndarray, ord: int, axes: tuple, keepdims: bool, dtype=None) -> np.ndarray:
    """L1 (``ord=1``) or L2 norm over ``axes``, accumulated in float64 (no overflow for large
    float32 values), returned in ``dtype`` (default ``x``'s); a full reduction has shape
    ``(1,)``."""
    dtype = x.dtype if dtype is None else np.dtype(dtype)
    if (len(axes) == x.ndim and x.size >= _KERNEL_MIN_SIZE and x.dtype.kind == "f"
            and x.dtype.itemsize >= 4 and x.flags.c_contiguous):
        # one pass over memory, float64 accumulation, no temporaries
        l1, l2 = _kernel("_abs_and_square_sums")(x.reshape(-1))
        value = l1 if ord == 1 else math.sqrt(l2)
        return np.full((1,) * x.ndim if keepdims else (1,), value, dtype=dtype)
    xf = x.astype(np.float64)
    if ord == 1:
        result = np.sum(np.abs(xf), axis=axes, keepdims=bool(keepdims))
    else:
        result = np.sqrt(np.sum(np.square(xf), axis=axes, keepdims=bool(keepdims)))
    with np.errstate(invalid="ignore", over="ignore"):
        return _full_shape(result).astype(dtype)


def arg_reduce(fn, x: np.ndarray, axis, keepdims: bool, name: str) -> np.ndarray:
    """np.argmax/argmin along ``axis`` (flattened when None) in ``x``'s dtype, as MXNet."""
    if x.size == 0:
        raise MXNetError(f"{name}: cannot reduce an empty array")
    if axis is None:
        result = np.asarray(fn(x.reshape(-1))).reshape((1,) * x.ndim if keepdims else (1,))
    else:
        result = fn(x, axis=_axis(axis, x.ndim, name), keepdims=bool(keepdims))
    return _full_shape(result).astype(x.dtype)


# ---------------------------------------------------------------------- reductions
def _red_axes(p: Params, ndim: int, who: str) -> tuple[int, ...]:
    return _axes(p.axis, ndim, p.get("exclude", False), who)


class _Reduce(_OneInput):
    params = {
        "axis": Param("shape", None, optional=True),
        "keepdims": Param("bool", False),
        "exclude": Param("bool", False),
    }
    mean = False

    def out_shape(self, p, s):
        axes = _red_axes(p, len(s), self.name)
        if p.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(s))
        return tuple(d for i, d in enumerate(s) if i not in axes) or (1,)

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        fn = np.mean if self.mean else np.sum
        return [reduce(fn, x, _red_axes(p, x.ndim, self.name), p.keepdims, self.name)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        g = out_grads[0].reshape(keep)
        if self.mean:
            count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
            g = g / max(count, 1)
        return [np.ascontiguousarray(np.broadcast_to(g, x.shape), dtype=x.dtype)]


@register
class Sum(_Reduce):
    """Sum over ``axis`` (all by default; ``exclude`` inverts the set)."""

    name = "sum"
    aliases = ("sum_axis",)


@register
class Mean(_Reduce):
    """Mean over ``axis`` (all by default; ``exclude`` inverts the set)."""

    name = "mean"
    mean = True


# ---------------------------------------------------------------------- max / min / norm
class _ArgReduce(_Reduce):
    """max/min: the gradient goes to every element equal to the result (as in MXNet)."""

    fn = staticmethod(np.max)

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [reduce(self.fn, x, _red_axes(p, x.ndim, self.name), p.keepdims, self.name)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        mask = x == outputs[0].reshape(keep)
        return [(out_grads[0].reshape(keep) * mask).astype(x.dtype)]


@register
class Max(_ArgReduce):
    """Maximum over ``axis`` (all by default)."""

    name = "max"
    aliases = ("max_axis",)
    fn = staticmethod(np.max)


@register
class Min(_ArgReduce):
    """Minimum over ``axis`` (all by default)."""

    name = "min"
    aliases = ("min_axis",)
    fn = staticmethod(np.min)


@register
class Norm(_Reduce):
    """L1 (``ord=1``) or L2 (``ord=2``) norm over ``axis`` (all by default)."""

    name = "norm"
    params = {
        "ord": Param("int", 2, choices=(1, 2)),
        "axis": Param("shape", None, optional=True),
        "out_dtype": Param("dtype", None, optional=True),
        "keepdims": Param("bool", False),
    }

    def infer_type(self, p, in_types, aux_types):
        out = p.out_dtype if p.out_dtype is not None else in_types[0]
        return in_types, [None if out is None else np.dtype(out)], aux_types

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [norm(x, p.ord, _red_axes(p, x.ndim, "norm"), p.keepdims, p.out_dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, "norm")
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        g = out_grads[0].reshape(keep).astype(x.dtype)
        if p.ord == 1:
            return [(g * np.sign(x)).astype(x.dtype)]
        n = outputs[0].reshape(keep).astype(x.dtype)
        return [np.where(n > 0, g * x / np.where(n > 0, n, 1), 0).astype(x.dtype)]


class _ArgIndex(_OneInput):
    """argmax/argmin: indices in the input's dtype like MXNet (no gradient)."""

    params = {"axis": Param("int", None, optional=True), "keepdims": Param("bool", False)}
    fn = staticmethod(np.argmax)

    def out_shape(self, p, s):
        if p.axis is None:
            return (1,) * len(s) if p.keepdims else (1,)
        axis = _axis(p.axis, len(s), self.name)
        if p.keepdims:
            return tuple(1 if i == axis else d for i, d in enumerate(s))
        return tuple(d for i, d in enumerate(s) if i != axis) or (1,)

    def infer_type(self, p, in_types, aux_types):
        return in_types, [in_types[0]], aux_types

    def forward(self, p, inputs, aux, is_train):
        return [arg_reduce(self.fn, inputs[0], p.axis, p.keepdims, self.name)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [None]


@register
class ArgMax(_ArgIndex):
    """Index of the maximum along ``axis`` (of the flattened array if None)."""

    name = "argmax"
    fn = staticmethod(np.argmax)


@register
class ArgMin(_ArgIndex):
    """Index of the minimum along ``axis`` (of the flattened array if None)."""

    name = "argmin"
    fn = staticmethod(np.argmin)
