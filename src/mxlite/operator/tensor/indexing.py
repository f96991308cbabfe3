"""Indexing: ``where``, ``pick``, ``take``, ``one_hot``."""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._common import _axis

__all__: list[str] = []


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

    def _cond(self, c, x):
        if c.shape != x.shape:
            c = c.reshape(c.shape + (1,) * (x.ndim - 1))
        return c != 0

    def forward(self, p, inputs, aux, is_train):
        c, x, y = inputs
        return [np.where(self._cond(c, x), x, y).astype(x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        c, x, y = inputs
        m = self._cond(c, x)
        g = out_grads[0]
        return [None, np.where(m, g, 0).astype(x.dtype), np.where(m, 0, g).astype(y.dtype)]


def _wrap_index(idx, n, mode):
    idx = np.asarray(idx).astype(np.int64)
    if mode == "wrap":
        return np.mod(idx, n)
    if mode == "raise" and (np.any(idx < 0) or np.any(idx >= n)):
        raise MXNetError(f"index out of range [0, {n}): {idx.min()}..{idx.max()}")
    return np.clip(idx, 0, n - 1)


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
        return [s, i if i is not None else idx], [idx], aux_shapes

    def _index(self, p, x, index):
        axis = p.axis % x.ndim
        idx = _wrap_index(index, x.shape[axis], p.mode)
        shape = list(x.shape)
        shape[axis] = 1
        return axis, idx.reshape(shape)

    def forward(self, p, inputs, aux, is_train):
        x, index = inputs
        if p.axis is None:
            raise MXNetError("pick: axis=None is not supported (as in MXNet); give an axis")
        axis, idx = self._index(p, x, index)
        out = np.take_along_axis(x, idx, axis=axis)
        if not p.keepdims:
            out = np.squeeze(out, axis=axis)
        return [np.ascontiguousarray(out)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, index = inputs
        g = np.zeros_like(x)
        axis, idx = self._index(p, x, index)
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
        a, indices = inputs
        axis = p.axis % a.ndim
        idx = _wrap_index(indices, a.shape[axis], p.mode)
        return [np.take(a, idx, axis=axis)], None

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
        idx = inputs[0].astype(np.int64)
        out = np.full((*idx.shape, p.depth), p.off_value, dtype=p.dtype)
        valid = (idx >= 0) & (idx < p.depth)
        pos = np.nonzero(valid)
        out[(*pos, idx[pos])] = p.on_value
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [None]
