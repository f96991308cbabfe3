"""``Pad``, ``slice_like`` and ``gather_nd`` (MXNet 1.9.1)."""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._common import _OneInput

__all__: list[str] = []


@register
class Pad(_OneInput):
    """Pad with ``mode`` constant (``constant_value``), edge or reflect; ``pad_width`` gives
    (before, after) per axis, zero for the first two axes (MXNet's rule, 4-D or 5-D data)."""

    name = "Pad"
    aliases = ("pad",)
    params = {"mode": Param("str", "constant", choices=("constant", "edge", "reflect")),
              "pad_width": Param("shape"), "constant_value": Param("float", 0.0)}

    def _widths(self, p, ndim):
        w = tuple(p.pad_width)
        if ndim not in (4, 5) or len(w) != 2 * ndim:
            raise MXNetError(f"Pad: data must be 4-D or 5-D with pad_width of 2*ndim values; "
                             f"got {ndim}-D and {w}")
        if any(w[:4]):
            raise MXNetError(f"Pad: the first two axes (batch, channel) cannot be padded, got {w}")
        return [(w[2 * i], w[2 * i + 1]) for i in range(ndim)]

    def out_shape(self, p, s):
        widths = self._widths(p, len(s))
        if p.mode == "reflect" and any(max(w) >= d for w, d in zip(widths[2:], s[2:],
                                                                    strict=True)):
            raise ShapeError(f"Pad: reflect padding {tuple(p.pad_width)} must be smaller than "
                             f"the padded axes of data shape {tuple(s)}")
        return tuple(d + a + b for d, (a, b) in zip(s, widths, strict=True))

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        widths = self._widths(p, x.ndim)
        if p.mode == "constant":
            return [np.pad(x, widths, constant_values=x.dtype.type(p.constant_value))], None
        return [np.pad(x, widths, mode="edge" if p.mode == "edge" else "reflect")], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        widths = self._widths(p, x.ndim)
        if p.mode == "constant":
            index = tuple(slice(a, a + d) for (a, _), d in zip(widths, x.shape, strict=True))
            return [np.ascontiguousarray(out_grads[0][index])]
        # where every output element came from: pad an index array the same way
        source = np.pad(np.arange(x.size).reshape(x.shape), widths,
                        mode="edge" if p.mode == "edge" else "reflect")
        grad = np.bincount(source.ravel(), weights=out_grads[0].ravel().astype(np.float64),
                           minlength=x.size)
        return [grad.reshape(x.shape).astype(x.dtype)]


@register
class SliceLike(Operator):
    """``data`` sliced from the start to ``shape_like``'s shape on ``axes`` (all when empty;
    then both need the same number of dims)."""

    name = "slice_like"
    params = {"axes": Param("shape", ())}

    def arguments(self, p):
        return ["data", "shape_like"]

    def _shape(self, p, data, like):
        ndim = len(data)
        if not p.axes and len(like) != ndim:
            raise MXNetError(f"slice_like: without axes, data {data} and shape_like {like} "
                             "must have the same number of dims")
        axes = tuple(p.axes) or tuple(range(ndim))
        for a in axes:
            if not -ndim <= a < ndim or not -len(like) <= a < len(like):
                raise MXNetError(f"slice_like: axis {a} out of range for shapes {data} and "
                                 f"{like}")
        axes = {a % ndim for a in axes}
        out = tuple(like[i] if i in axes else d for i, d in enumerate(data))
        if any(o > d for o, d in zip(out, data, strict=True)):
            raise MXNetError(f"slice_like: cannot slice {data} to the larger {out}")
        return out

    def infer_shape(self, p, in_shapes, aux_shapes):
        data, like = in_shapes
        if data is None or like is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [self._shape(p, tuple(data), tuple(like))], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x, like = inputs
        out = self._shape(p, x.shape, like.shape)
        return [np.ascontiguousarray(x[tuple(slice(0, o) for o in out)])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, like = inputs
        grad = np.zeros_like(x)
        grad[tuple(slice(0, o) for o in out_grads[0].shape)] = out_grads[0]
        return [grad, np.zeros_like(like)]


@register
class GatherND(Operator):
    """``out[i...] = data[indices[0][i...], ..., indices[M-1][i...], ...]``."""

    name = "gather_nd"
    params: dict = {}

    def arguments(self, p):
        return ["data", "indices"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        data, idx = in_shapes
        if data is None or idx is None:
            return in_shapes, [None], aux_shapes
        m = idx[0]
        if m > len(data):
            raise MXNetError(f"gather_nd: indices of {m} axes for data of {len(data)} dims")
        return in_shapes, [tuple(idx[1:]) + tuple(data[m:])], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return in_types, [in_types[0]], aux_types

    def _index(self, data, indices):
        idx = indices.astype(np.int64)
        for a in range(idx.shape[0]):
            if idx[a].size and (idx[a].min() < -data.shape[a] or idx[a].max() >= data.shape[a]):
                raise MXNetError(f"gather_nd: index out of range on axis {a}")
        return tuple(idx)

    def forward(self, p, inputs, aux, is_train):
        data, indices = inputs
        return [np.ascontiguousarray(data[self._index(data, indices)])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        data, indices = inputs
        grad = np.zeros_like(data)
        np.add.at(grad, self._index(data, indices), out_grads[0])
        return [grad, np.zeros_like(indices)]


def _slice_index(p, shape, who):
    from .shape import _slice_bounds

    return _slice_bounds(p.begin, p.end, p.step, shape, who)


@register
class SliceAssign(Operator):
    """``lhs`` with ``lhs[begin:end:step] = rhs`` (MXNet's ``_slice_assign``, alias
    ``_crop_assign``)."""

    name = "_slice_assign"
    aliases = ("_crop_assign",)
    params = {"begin": Param("opt_ints"), "end": Param("opt_ints"),
              "step": Param("opt_ints", ())}

    def arguments(self, p):
        return ["lhs", "rhs"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        lhs = in_shapes[0]
        if lhs is None:
            return in_shapes, [None], aux_shapes
        from .shape import _sliced_shape

        region = _sliced_shape(_slice_index(p, lhs, self.name), tuple(lhs))
        return [tuple(lhs), region], [tuple(lhs)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        lhs, rhs = inputs
        out = lhs.copy()
        out[_slice_index(p, lhs.shape, self.name)] = rhs
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        index = _slice_index(p, inputs[0].shape, self.name)
        g = out_grads[0].copy()
        rhs_grad = np.ascontiguousarray(g[index]).reshape(inputs[1].shape)
        g[index] = 0
        return [g, rhs_grad.astype(inputs[1].dtype)]


@register
class SliceAssignScalar(Operator):
    """``data`` with ``data[begin:end:step] = scalar`` (``_slice_assign_scalar``, alias
    ``_crop_assign_scalar``)."""

    name = "_slice_assign_scalar"
    aliases = ("_crop_assign_scalar",)
    params = {"scalar": Param("float", 0.0), "begin": Param("opt_ints"),
              "end": Param("opt_ints"), "step": Param("opt_ints", ())}

    def forward(self, p, inputs, aux, is_train):
        out = inputs[0].copy()
        out[_slice_index(p, out.shape, self.name)] = out.dtype.type(p.scalar)
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        g = out_grads[0].copy()
        g[_slice_index(p, g.shape, self.name)] = 0
        return [g]
