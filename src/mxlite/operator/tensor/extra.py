"""More tensor operators MXNet 1.9.1 programs use: ``prod``/``nansum``/``nanprod``,
``argmax_channel``, ``shape_array``/``size_array``, ``softmin``, ``diag``, ``depth_to_space``/
``space_to_depth`` and ``batch_take``.  Forward and backward on NumPy arrays; gradients checked
in float64 in ``tests/operator/test_extra_ops.py``.
"""

from __future__ import annotations

import itertools

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, register
from ._common import _OneInput
from .reduce import _red_axes, _Reduce, reduce

__all__: list[str] = []


class _ProdLike(_Reduce):
    nan = False

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        fn = (np.nanprod if self.nan else np.prod) if self.prod else np.nansum
        return [reduce(fn, x, _red_axes(p, x.ndim, self.name), p.keepdims, self.name)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        keep = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        g = out_grads[0].reshape(keep)
        if not self.prod:  # nansum: 1 where finite
            return [np.where(np.isnan(x), 0, np.broadcast_to(g, x.shape)).astype(x.dtype)]
        xv = np.where(np.isnan(x), 1, x) if self.nan else x
        y = np.prod(xv, axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = g * y / xv  # MXNet's rule (undefined where an element is 0)
        if self.nan:
            grad = np.where(np.isnan(x), 0, grad)
        return [np.ascontiguousarray(np.broadcast_to(grad, x.shape), dtype=x.dtype)]


@register
class Prod(_ProdLike):
    """Product over ``axis``."""

    name = "prod"
    prod = True


@register
class NanProd(_ProdLike):
    """Product over ``axis`` treating NaN as 1."""

    name = "nanprod"
    prod = True
    nan = True


@register
class NanSum(_ProdLike):
    """Sum over ``axis`` treating NaN as 0."""

    name = "nansum"
    prod = False


@register
class ArgmaxChannel(_OneInput):
    """Index of the maximum along axis 1, the channels (float indices, as MXNet)."""

    name = "argmax_channel"
    params: dict = {}

    def out_shape(self, p, s):
        if len(s) < 2:
            raise MXNetError(f"argmax_channel: input must have 2+ dims, got {s}")
        return (s[0], *s[2:])

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.argmax(x, axis=1).astype(x.dtype).reshape(self.out_shape(p, x.shape))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.zeros_like(inputs[0])]


class _ShapeInfo(_OneInput):
    params: dict = {}

    def infer_type(self, p, in_types, aux_types):
        return in_types, [np.dtype(np.int64)], aux_types

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.zeros_like(inputs[0])]


@register
class ShapeArray(_ShapeInfo):
    """The input's shape as a 1-D int64 array."""

    name = "shape_array"

    def out_shape(self, p, s):
        return (len(s),)

    def forward(self, p, inputs, aux, is_train):
        return [np.array(inputs[0].shape, dtype=np.int64)], None


@register
class SizeArray(_ShapeInfo):
    """The input's element count as a 1-element int64 array."""

    name = "size_array"

    def out_shape(self, p, s):
        return (1,)

    def forward(self, p, inputs, aux, is_train):
        return [np.array([inputs[0].size], dtype=np.int64)], None


@register
class Softmin(Operator):
    """``softmax(-x / temperature)`` along ``axis``."""

    name = "softmin"
    params = {"axis": Param("int", -1), "temperature": Param("float", None, optional=True)}

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        t = 1.0 if p.temperature is None else p.temperature
        z = -x.astype(np.float64) / t
        z = np.exp(z - z.max(axis=p.axis, keepdims=True))
        return [(z / z.sum(axis=p.axis, keepdims=True)).astype(x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        y, g = outputs[0], out_grads[0]
        t = 1.0 if p.temperature is None else p.temperature
        dot = (g * y).sum(axis=p.axis, keepdims=True)
        return [(-(y * (g - dot)) / t).astype(inputs[0].dtype)]


@register
class Diag(_OneInput):
    """The ``k``-th diagonal of a matrix (``axis1``/``axis2`` of an N-d array), or the matrix
    with the 1-D input on its ``k``-th diagonal."""

    name = "diag"
    params = {"k": Param("int", 0), "axis1": Param("int", 0), "axis2": Param("int", 1)}

    def out_shape(self, p, s):
        return self._forward(p, np.zeros(s, dtype=np.float32)).shape

    def _forward(self, p, x):
        if x.ndim == 1:
            return np.diag(x, p.k)
        if x.ndim < 1:
            raise MXNetError("diag: input must have at least one dimension")
        out = np.diagonal(x, p.k, p.axis1, p.axis2)
        return out.reshape(out.shape) if out.size else out

    def forward(self, p, inputs, aux, is_train):
        return [np.ascontiguousarray(self._forward(p, inputs[0]))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, g = inputs[0], out_grads[0]
        if x.ndim == 1:
            return [np.diagonal(g, p.k).astype(x.dtype).copy()]
        grad = np.zeros_like(x)
        view = np.diagonal(grad, p.k, p.axis1, p.axis2)
        view.setflags(write=True)
        view[...] = g
        return [grad]


def _d2s(x, b):
    n, c, h, w = x.shape
    if c % (b * b):
        raise MXNetError(f"depth_to_space: channels {c} not divisible by block_size^2 = {b * b}")
    y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


def _s2d(x, b):
    n, c, h, w = x.shape
    if h % b or w % b:
        raise MXNetError(f"space_to_depth: height {h} and width {w} must divide by {b}")
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


class _BlockMove(_OneInput):
    params = {"block_size": Param("int")}

    def out_shape(self, p, s):
        if len(s) != 4:
            raise MXNetError(f"{self.name}: input must be 4-D (N, C, H, W), got {s}")
        return self.fwd(np.zeros(s, dtype=np.float32), p.block_size).shape

    def forward(self, p, inputs, aux, is_train):
        return [np.ascontiguousarray(self.fwd(inputs[0], p.block_size))], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.ascontiguousarray(self.inv(out_grads[0], p.block_size))]


@register
class DepthToSpace(_BlockMove):
    """Move channel blocks into ``block_size`` x ``block_size`` spatial tiles (DCR order)."""

    name = "depth_to_space"
    fwd = staticmethod(_d2s)
    inv = staticmethod(_s2d)


@register
class SpaceToDepth(_BlockMove):
    """The inverse of ``depth_to_space``."""

    name = "space_to_depth"
    fwd = staticmethod(_s2d)
    inv = staticmethod(_d2s)


@register
class BatchTake(Operator):
    """``out[i] = a[i, indices[i]]`` for a 2-D ``a`` (indices clipped to the row).  As in
    MXNet 1.9.1 it has no gradient: binding for one through it raises (use ``pick``)."""

    name = "batch_take"
    params: dict = {}
    differentiable = False

    def arguments(self, p):
        return ["a", "indices"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        a = in_shapes[0]
        if a is None:
            return in_shapes, [None], aux_shapes
        if len(a) != 2:
            raise MXNetError(f"batch_take: a must be 2-D, got {tuple(a)}")
        return [tuple(a), (a[0],)], [(a[0],)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return [in_types[0], in_types[1] or np.dtype(np.int32)], [in_types[0]], aux_types

    def forward(self, p, inputs, aux, is_train):
        a, indices = inputs
        idx = np.clip(indices.astype(np.int64).reshape(-1), 0, a.shape[1] - 1)
        return [a[np.arange(a.shape[0]), idx]], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        raise MXNetError("batch_take is non-differentiable (MXNet registers no gradient)")


@register
class TopK(Operator):
    """``topk`` (and ``sort``/``argsort`` below): the ``k`` largest (``is_ascend``: smallest)
    entries along ``axis``; ``ret_typ`` indices, value, both or mask.  The values' gradient goes
    back to where they were taken from; indices and masks have none."""

    name = "topk"
    params = {"axis": Param("int", -1, optional=True), "k": Param("int", 1),
              "ret_typ": Param("str", "indices", choices=("indices", "value", "both", "mask")),
              "is_ascend": Param("bool", False), "dtype": Param("str", "float32")}

    def outputs(self, p):
        return ["output0", "output1"] if p.ret_typ == "both" else ["output"]

    def _k(self, p, n):
        return n if p.k <= 0 else p.k

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None] * len(self.outputs(p)), aux_shapes
        s = tuple(s)
        if p.ret_typ == "mask":
            return in_shapes, [s], aux_shapes
        if p.axis is None:
            out = (self._k(p, int(np.prod(s))),)
        else:
            axis = p.axis % len(s)
            out = (*s[:axis], self._k(p, s[axis]), *s[axis + 1:])
        return in_shapes, [out] * len(self.outputs(p)), aux_shapes

    def infer_type(self, p, in_types, aux_types):
        t = in_types[0]
        idx = np.dtype(p.dtype)
        kinds = {"indices": [idx], "value": [t], "mask": [t], "both": [t, idx]}
        return in_types, kinds[p.ret_typ], aux_types

    def _run(self, p, x):
        from ...ndarray.ndarray import NDArray, topk

        res = topk(NDArray(x), axis=p.axis, k=p.k, ret_typ="both", is_ascend=p.is_ascend,
                   dtype="int64")
        return res[0]._data, res[1]._data

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        values, idx = self._run(p, x)
        if p.ret_typ == "indices":
            return [idx.astype(p.dtype)], idx
        if p.ret_typ == "value":
            return [values], idx
        if p.ret_typ == "both":
            return [values, idx.astype(p.dtype)], idx
        mask = np.zeros(x.reshape(-1).shape if p.axis is None else x.shape, dtype=x.dtype)
        np.put_along_axis(mask, idx, 1, axis=0 if p.axis is None else p.axis)
        return [mask.reshape(x.shape)], idx

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        if p.ret_typ not in ("value", "both"):
            return [np.zeros_like(x)]
        axis = 0 if p.axis is None else p.axis
        grad = np.zeros(x.reshape(-1).shape if p.axis is None else x.shape, dtype=x.dtype)
        np.put_along_axis(grad, saved, out_grads[0], axis=axis)
        return [grad.reshape(x.shape)]


@register
class Sort(TopK):
    """Values sorted along ``axis``."""

    name = "sort"
    params = {"axis": Param("int", -1, optional=True), "is_ascend": Param("bool", True)}

    def parse_params(self, kwargs):
        p = super().parse_params(kwargs)
        p.update(k=0, ret_typ="value", dtype="float32")
        return p


@register
class ArgSort(TopK):
    """Indices that sort along ``axis``."""

    name = "argsort"
    params = {"axis": Param("int", -1, optional=True), "is_ascend": Param("bool", True),
              "dtype": Param("str", "float32")}

    def parse_params(self, kwargs):
        p = super().parse_params(kwargs)
        p.update(k=0, ret_typ="indices")
        return p


@register
class SplitV2(Operator):
    """Split along ``axis`` at ``indices_or_sections`` (an int: equal parts; a tuple: cut
    points), optionally dropping a length-1 axis."""

    name = "split_v2"
    aliases = ("_split_v2",)
    params = {"indices_or_sections": Param("shape"), "axis": Param("int", 0),
              "squeeze_axis": Param("bool", False), "sections": Param("int", 0)}

    def parse_params(self, kwargs):
        kwargs = dict(kwargs)
        ios = kwargs.get("indices_or_sections")
        if isinstance(ios, (int, np.integer)) or (isinstance(ios, str) and ios.isdigit()):
            kwargs["sections"] = int(ios)
            kwargs["indices_or_sections"] = ()
        return super().parse_params(kwargs)

    def _cuts(self, p, n):
        if p.sections:
            if n % p.sections:
                raise MXNetError(f"split_v2: axis of {n} does not split into {p.sections}")
            step = n // p.sections
            return [i * step for i in range(p.sections)] + [n]
        points = [int(i) for i in p.indices_or_sections]
        starts = points if points and points[0] == 0 else [0, *points]
        return [*starts, n]

    def outputs(self, p):
        count = p.sections if p.sections else len(p.indices_or_sections) + (
            0 if p.indices_or_sections and p.indices_or_sections[0] == 0 else 1)
        return [f"output{i}" for i in range(count)]

    def infer_shape(self, p, in_shapes, aux_shapes):
        s = in_shapes[0]
        if s is None:
            return in_shapes, [None] * len(self.outputs(p)), aux_shapes
        s = tuple(s)
        axis = p.axis % len(s)
        cuts = self._cuts(p, s[axis])
        outs = []
        for a, b in itertools.pairwise(cuts):
            shape = (*s[:axis], b - a, *s[axis + 1:])
            if p.squeeze_axis and b - a == 1:
                shape = s[:axis] + s[axis + 1:]
            outs.append(shape)
        return in_shapes, outs, aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axis = p.axis % x.ndim
        cuts = self._cuts(p, x.shape[axis])
        outs = []
        for a, b in itertools.pairwise(cuts):
            part = np.take(x, np.arange(a, b), axis=axis)
            outs.append(np.squeeze(part, axis) if p.squeeze_axis and b - a == 1 else part)
        return outs, None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axis = p.axis % x.ndim
        cuts = self._cuts(p, x.shape[axis])
        parts = [g.reshape((*g.shape[:axis], b - a, *g.shape[axis:])) if g.ndim < x.ndim else g
                 for g, a, b in zip(out_grads, cuts[:-1], cuts[1:], strict=True)]
        return [np.concatenate(parts, axis=axis).astype(x.dtype)]
