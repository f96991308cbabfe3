"""Helpers shared by the tensor operator families."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...base import MXNetError
from ..registry import Operator, ShapeError


class ReshapeSizeError(MXNetError, ValueError):
    """A reshape whose target holds another number of elements than the source: an MXNetError
    that is also the ValueError MXNet's ``NDArray.reshape`` raises for it."""


def _shape_list(shapes) -> list:
    return [tuple(s) if s is not None else None for s in shapes]


def _shape_error(fn, *args):
    """``fn(*args)`` with its MXNetError raised as a ShapeError (for ``infer_shape``)."""
    try:
        return fn(*args)
    except ShapeError:
        raise
    except MXNetError as err:
        raise ShapeError(str(err)) from None


class _OneInput(Operator):
    """An operator of one input whose output shape is ``out_shape(p, shape)`` (MXNetError
    raised there reaches shape inference as ShapeError)."""

    def out_shape(self, p, s: tuple) -> tuple:
        raise NotImplementedError

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [_shape_error(self.out_shape, p, tuple(s))], aux_shapes


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Reduce a broadcast gradient back to ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _axis(axis, ndim: int, who: str, extra: int = 0) -> int:
    """``axis`` (negative counts from the end) checked against ``ndim + extra`` dims."""
    n = max(ndim + extra, 1)
    if not isinstance(axis, (int, np.integer)) or not -n <= axis < n:
        raise MXNetError(f"{who}: axis {axis!r} is out of bounds for an array of {ndim} dims")
    return int(axis) % n


def _axes(axis, ndim: int, exclude: bool = False, name: str = "reduce") -> tuple[int, ...]:
    """Sorted reduction axes; ``None`` or ``()`` means all (with or without ``exclude``)."""
    if axis is None or axis == ():
        return tuple(range(ndim))  # no axis: a full reduction, with or without exclude
    if isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    axes = []
    for a in axis:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise MXNetError(f"{name}: axis {a!r} is out of bounds for an array of {ndim} dims")
        if a % ndim in axes:
            raise MXNetError(f"{name}: axis {a % ndim} appears more than once in {tuple(axis)}")
        axes.append(int(a) % ndim)
    if exclude:
        return tuple(i for i in range(ndim) if i not in axes)
    return tuple(sorted(axes))


def _full_shape(result: np.ndarray) -> np.ndarray:
    result = np.asarray(result)
    return result.reshape(1) if result.ndim == 0 else result


def infer_reshape(src: Sequence[int], target: Sequence[int], reverse: bool = False) -> tuple:
    """The output shape of MXNet's ``Reshape`` for ``target`` with codes 0, -1, -2, -3, -4.

    ``reverse`` applies the codes right to left: the source dims and the code list are both
    reversed (literally, as MXNet does), inferred and the result reversed back.
    """
    src = tuple(int(s) for s in src)
    if isinstance(target, (int, np.integer)):
        target = (target,)
    target = [int(t) for t in target]
    if reverse:
        return tuple(infer_reshape(src[::-1], target[::-1], False)[::-1])
    out: list[int] = []
    infer_at = -1
    i = j = 0
    while j < len(target):
        t = target[j]
        if t > 0:
            out.append(t)
            i += 1
        elif t == 0:
            if i >= len(src):
                raise MXNetError(f"Reshape: code 0 at position {j} has no input dim, src {src}")
            out.append(src[i])
            i += 1
        elif t == -1:
            if infer_at >= 0:
                raise MXNetError(f"Reshape: more than one -1 in shape {tuple(target)}")
            infer_at = len(out)
            out.append(1)
            i += 1
        elif t == -2:
            out.extend(src[i:])
            i = len(src)
        elif t == -3:
            if i + 1 >= len(src):
                raise MXNetError(f"Reshape: -3 needs two input dims, src {src}")
            out.append(src[i] * src[i + 1])
            i += 2
        elif t == -4:
            if j + 2 >= len(target) or i >= len(src):
                raise MXNetError(f"Reshape: -4 must be followed by two dims, got {tuple(target)}")
            d0, d1 = target[j + 1], target[j + 2]
            whole = src[i]
            if d0 < -1 or d1 < -1 or (d0 == -1 and d1 == -1):
                raise MXNetError(f"Reshape: -4 split of {whole} into ({d0}, {d1}) is invalid")
            if d0 == -1:
                d0 = whole // d1 if d1 else 0
            if d1 == -1:
                d1 = whole // d0 if d0 else 0
            if d0 * d1 != whole:
                raise MXNetError(f"Reshape: cannot split dim {whole} into ({d0}, {d1})")
            out.extend([d0, d1])
            i += 1
            j += 2
        else:
            raise MXNetError(f"Reshape: invalid code {t} in shape {tuple(target)}")
        j += 1
    total = math.prod(src)
    if infer_at >= 0:
        known = math.prod(d for k, d in enumerate(out) if k != infer_at)
        if known == 0 or total % known:
            raise ReshapeSizeError(f"Reshape: cannot infer -1 reshaping {src} to {tuple(target)}")
        out[infer_at] = total // known
    if math.prod(out) != total:
        # MXNet: a smaller target fails the Python-side check (ValueError), a larger one the
        # operator's (MXNetError)
        raise (ReshapeSizeError if math.prod(out) < total else MXNetError)(
            f"Reshape: target shape {tuple(target)} -> {tuple(out)} does not have the same size "
            f"as source {src}"
        )
    return tuple(out)


_SCALAR_RANGE: dict = {}


def _scalar_range(dtype: np.dtype):
    bounds = _SCALAR_RANGE.get(dtype)
    if bounds is None:
        info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
        bounds = _SCALAR_RANGE[dtype] = (float(info.min), float(info.max))
    return bounds


def _scalar_as(value, dtype: np.dtype):
    """``value`` cast to ``dtype`` the way MXNet casts a scalar operand (C conversion:
    truncation toward zero for integers, wrap-around out of range)."""
    kind = dtype.kind
    if (type(value) is float and kind == "f") or (type(value) is int and kind in "iuf"):
        lo, hi = _scalar_range(dtype)
        if lo <= value <= hi:  # the common case, without a NumPy round trip
            return dtype.type(value)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(value).astype(dtype)[()]
