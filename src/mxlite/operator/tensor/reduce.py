"""Reductions: ``sum``, ``mean``, ``max``, ``min``, ``norm``, ``argmax``, ``argmin``."""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, Params, register
from ._common import _axis

__all__: list[str] = []


# ---------------------------------------------------------------------- reductions
def _red_axes(p: Params, ndim: int, who: str) -> tuple[int, ...]:
    if p.axis is None or p.axis == ():
        return () if p.exclude else tuple(range(ndim))
    axes = sorted({_axis(a, ndim, who) for a in p.axis})
    if p.exclude:
        return tuple(i for i in range(ndim) if i not in axes)
    return tuple(axes)


class _Reduce(Operator):
    params = {
        "axis": Param("shape", None, optional=True),
        "keepdims": Param("bool", False),
        "exclude": Param("bool", False),
    }
    mean = False

    def _out_shape(self, p, s):
        axes = _red_axes(p, len(s), self.name)
        if p.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(s))
        out = tuple(d for i, d in enumerate(s) if i not in axes)
        return out if out else (1,)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out_shape(p, s)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        fn = np.mean if self.mean else np.sum
        out = np.asarray(fn(x, axis=axes, keepdims=p.keepdims), dtype=x.dtype)
        return [out.reshape(self._out_shape(p, x.shape))], None

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
        axes = _red_axes(p, x.ndim, self.name)
        out = self.fn(x, axis=axes, keepdims=True)
        return [np.asarray(out, dtype=x.dtype).reshape(self._out_shape(p, x.shape))], None

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
class Norm(Operator):
    """L1 (``ord=1``) or L2 (``ord=2``) norm over ``axis`` (all by default)."""

    name = "norm"
    params = {
        "ord": Param("int", 2, choices=(1, 2)),
        "axis": Param("shape", None, optional=True),
        "out_dtype": Param("dtype", None, optional=True),
        "keepdims": Param("bool", False),
    }

    def _axes(self, p, ndim):
        if p.axis is None or p.axis == ():
            return tuple(range(ndim))
        return tuple(sorted({_axis(a, ndim, "norm") for a in p.axis}))

    def _out_shape(self, p, s):
        axes = self._axes(p, len(s))
        if p.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(s))
        out = tuple(d for i, d in enumerate(s) if i not in axes)
        return out if out else (1,)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._out_shape(p, s)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        out = p.out_dtype if p.out_dtype is not None else in_types[0]
        return in_types, [None if out is None else np.dtype(out)], aux_types

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axes = self._axes(p, x.ndim)
        if p.ord == 1:
            out = np.sum(np.abs(x), axis=axes, keepdims=True)
        else:
            out = np.sqrt(np.sum(np.square(x), axis=axes, keepdims=True))
        dtype = p.out_dtype or x.dtype
        return [out.astype(dtype).reshape(self._out_shape(p, x.shape))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = self._axes(p, x.ndim)
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        g = out_grads[0].reshape(keep).astype(x.dtype)
        if p.ord == 1:
            return [(g * np.sign(x)).astype(x.dtype)]
        n = outputs[0].reshape(keep).astype(x.dtype)
        return [np.where(n > 0, g * x / np.where(n > 0, n, 1), 0).astype(x.dtype)]


class _ArgIndex(Operator):
    """argmax/argmin: indices as float32 like MXNet (no gradient)."""

    params = {"axis": Param("int", None, optional=True), "keepdims": Param("bool", False)}
    fn = staticmethod(np.argmax)

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None], aux_shapes
        if p.axis is None:
            return in_shapes, [(1,) * len(s) if p.keepdims else (1,)], aux_shapes
        axis = _axis(p.axis, len(s), self.name)
        out = tuple(1 if i == axis else d for i, d in enumerate(s)) if p.keepdims else \
            tuple(d for i, d in enumerate(s) if i != axis)
        return in_shapes, [out if out else (1,)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return in_types, [np.dtype(np.float32)], aux_types

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        out = self.fn(x, axis=p.axis, keepdims=p.keepdims)
        out = np.asarray(out, dtype=np.float32)
        return [out.reshape(self.infer_shape(p, [x.shape], [])[1][0])], None

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
