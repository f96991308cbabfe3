"""Indexing: ``where``, ``pick``, ``take``, ``one_hot``.

The NumPy-level functions :func:`where`, :func:`pick`, :func:`take` and :func:`one_hot` are
the single implementation behind these operators and the ``mx.nd`` functions of the same
names.
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._common import _axis, _full_shape, _scalar_as

__all__: list[str] = []


# ---------------------------------------------------------------------- NumPy-level semantics
def _fmt(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _where_cond(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    if c.shape != x.shape:
        if c.ndim == 1 and x.ndim >= 1 and c.shape[0] == x.shape[0]:
            c = c.reshape((-1,) + (1,) * (x.ndim - 1))
        else:
            raise MXNetError(f"where: condition {_fmt(c.shape)} must match x {_fmt(x.shape)} "
                             "or be 1-D of its first dim")
    return c != 0


def where(c: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x`` where ``c`` is non-zero, else ``y``: ``x`` and ``y`` of one shape and dtype,
    ``c`` of their shape or 1-D over their first axis."""
    if x.dtype != y.dtype:
        raise MXNetError(f"where: incompatible dtypes, expected {x.dtype} at input 1, "
                         f"got {y.dtype}")
    if x.shape != y.shape:
        raise MXNetError(f"where: x {_fmt(x.shape)} and y {_fmt(y.shape)} differ")
    return np.where(_where_cond(c, x), x, y)


def _wrap_index(idx, n, mode, who="take"):
    idx = np.asarray(idx).astype(np.int64)
    if mode == "wrap":
        return np.mod(idx, n) if n else idx
    if mode == "raise":
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise MXNetError(f"{who}: index out of range [0, {n}): {idx.min()}..{idx.max()}")
        return idx
    if mode != "clip":
        raise MXNetError(f"{who}: mode must be clip, wrap or raise, got {mode!r}")
    return np.clip(idx, 0, n - 1)


def _pick_index(x, index, axis, mode):
    """The picked axis and ``index`` as int64 positions shaped like ``x`` with that axis 1."""
    axis = _axis(axis, x.ndim, "pick")
    idx = _wrap_index(index, x.shape[axis], mode, "pick")
    shape = list(x.shape)
    shape[axis] = 1
    if idx.size != int(np.prod(shape)):
        raise MXNetError(f"pick: index shape {_fmt(idx.shape)} does not fit data "
                         f"{_fmt(x.shape)} along axis {axis}")
    return axis, idx.reshape(shape)


def pick(x: np.ndarray, index: np.ndarray, axis: int = -1, keepdims: bool = False,
         mode: str = "clip") -> np.ndarray:
    """One element of ``x`` per position along ``axis`` (index without that axis, or with it
    of size 1); a result without dimensions has shape ``(1,)``."""
    axis, idx = _pick_index(x, index, axis, mode)
    out = np.take_along_axis(x, idx, axis=axis)
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return _full_shape(np.ascontiguousarray(out))


def take(a: np.ndarray, indices: np.ndarray, axis: int = 0, mode: str = "clip") -> np.ndarray:
    """Entries of ``a`` along ``axis`` at ``indices`` (truncated to int; 'clip', 'wrap' or
    'raise' for those out of range)."""
    axis = _axis(axis, a.ndim, "take")
    if mode != "clip" and mode != "wrap":
        _wrap_index(indices, a.shape[axis], mode)  # validates mode, checks the range for 'raise'
        mode = "clip"
    return np.take(a, indices.astype(np.int64, copy=False), axis=axis, mode=mode)


def one_hot(indices: np.ndarray, depth: int, on_value=1.0, off_value=0.0,
            dtype="float32") -> np.ndarray:
    """A trailing axis of size ``depth``: ``on_value`` at each index (truncated to int),
    ``off_value`` elsewhere; indices outside ``[0, depth)`` give all-``off_value`` rows."""
    if depth < 0:
        raise MXNetError(f"one_hot: depth must be >= 0, got {depth!r}")
    dtype = np.dtype(dtype)
    idx = indices.astype(np.int64)
    depth = int(depth)
    result = np.full((*idx.shape, depth), _scalar_as(off_value, dtype), dtype=dtype)
    if depth:
        flat = result.reshape(-1, depth)
        rows = np.flatnonzero((idx >= 0) & (idx < depth))
        flat[rows, idx.reshape(-1)[rows]] = _scalar_as(on_value, dtype)
    return result


# ---------------------------------------------------------------------- indexing
@register
class Where(Operator):
    """``x`` where ``condition`` is non-zero, else ``y``."""

    name = "where"
    params: dict = {}

    def arguments(self, p):
        return ["condition", "x", "y"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        c, x, y = in_shapes
        known = [s for s in (x, y) if s is not None]
        if known and any(tuple(s) != tuple(known[0]) for s in known):
            raise ShapeError(f"where: x {x} and y {y} must have the same shape")
        shape = known[0] if known else None
        if c is not None and shape is not None and tuple(c) != tuple(shape) and \
                not (len(c) == 1 and c[0] == shape[0]):
            raise ShapeError(f"where: condition {tuple(c)} must match x {tuple(shape)} or be "
                             "its first dimension")
        return [c, shape, shape], [shape], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [where(*inputs)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        c, x, y = inputs
        m = _where_cond(c, x)
        g = out_grads[0]
        return [None, np.where(m, g, 0).astype(x.dtype), np.where(m, 0, g).astype(y.dtype)]


@register
class Pick(Operator):
    """``pick(data, index, axis)``: one element per position along ``axis``."""

    name = "pick"
    aliases = ("choose_element_0index",)
    params = {
        "axis": Param("int", -1, optional=True),
        "keepdims": Param("bool", False),
        "mode": Param("str", "clip", choices=("clip", "wrap")),
    }

    def arguments(self, p):
        return ["data", "index"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        s, i = in_shapes
        if s is None:
            return in_shapes, [None], aux_shapes
        if p.axis is None:
            raise ShapeError("pick: axis=None is not supported (as in MXNet); give an axis")
        axis = _axis(p.axis, len(s), "pick")
        idx = tuple(1 if k == axis else d for k, d in enumerate(s)) if p.keepdims else \
            tuple(d for k, d in enumerate(s) if k != axis)
        if i is not None and int(np.prod(i)) != int(np.prod(idx)):
            raise ShapeError(f"pick: index shape {tuple(i)} does not fit data {tuple(s)} "
                             f"along axis {p.axis}")
        return [s, i if i is not None else idx], [idx or (1,)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        """The output has ``data``'s type; ``index`` keeps its own (int32 labels pick from
        float32 scores, as MXNet 1.9.1's Gluon losses do)."""
        data, index = in_types
        return [data, index], [data], aux_types

    def forward(self, p, inputs, aux, is_train):
        if p.axis is None:
            raise MXNetError("pick: axis=None is not supported (as in MXNet); give an axis")
        return [pick(*inputs, p.axis, p.keepdims, p.mode)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, index = inputs
        g = np.zeros_like(x)
        axis, idx = _pick_index(x, index, p.axis, p.mode)
        og = out_grads[0].reshape(idx.shape)
        np.put_along_axis(g, idx, og, axis=axis)
        return [g, None]


@register
class Take(Operator):
    """``take(a, indices, axis)``: gather slices of ``a``; gradients are scatter-added."""

    name = "take"
    params = {
        "axis": Param("int", 0),
        "mode": Param("str", "clip", choices=("clip", "raise", "wrap")),
    }

    def arguments(self, p):
        return ["a", "indices"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        a, i = in_shapes
        if a is None or i is None:
            return in_shapes, [None], aux_shapes
        axis = _axis(p.axis, len(a), "take")
        return in_shapes, [tuple(a[:axis]) + tuple(i) + tuple(a[axis + 1:])], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [take(*inputs, p.axis, p.mode)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, indices = inputs
        axis = p.axis % a.ndim
        idx = _wrap_index(indices, a.shape[axis], p.mode).reshape(-1)
        g = np.zeros_like(a)
        moved = np.moveaxis(g, axis, 0)
        og = out_grads[0]
        og = og.reshape((*a.shape[:axis], idx.size, *a.shape[axis + 1:]))
        np.add.at(moved, idx, np.moveaxis(og, axis, 0))
        return [g, None]


@register
class OneHot(Operator):
    """``one_hot(indices, depth)``: a new last axis of ``depth`` (no gradient)."""

    name = "one_hot"
    params = {
        "depth": Param("int"),
        "on_value": Param("float", 1.0),
        "off_value": Param("float", 0.0),
        "dtype": Param("dtype", "float32", choices=("float16", "float32", "float64", "int32",
                                                    "int64", "int8", "uint8")),
    }

    def arguments(self, p):
        return ["indices"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        return in_shapes, [None if s is None else (*tuple(s), p.depth)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return in_types, [np.dtype(p.dtype)], aux_types

    def forward(self, p, inputs, aux, is_train):
        return [one_hot(inputs[0], p.depth, p.on_value, p.off_value, p.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [None]
