"""``pad``: pad the spatial axes of 4-D/5-D data (MXNet 1.9.1).

``pad_width`` has two entries (before, after) per axis; the first two axes (N, C) must not be
padded.  ``mode``: 'constant' (``constant_value``), 'edge' (repeat the border) or 'reflect'
(mirror without repeating the border, as NumPy's 'reflect').

Backward: every output element's gradient goes to the input element it was copied from (the
map is built by padding an array of flat input indices the same way), so 'edge' and 'reflect'
accumulate over all copies.
"""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from ._util import fmt


def _widths(p, ndim):
    pw = tuple(p.pad_width)
    if len(pw) != 2 * ndim:
        raise ShapeError(f"pad: pad_width {pw} must have 2 entries per axis of the "
                         f"{ndim}-D data")
    if ndim not in (4, 5):
        raise ShapeError(f"pad: only 4-D and 5-D data can be padded, got {ndim}-D")
    if any(pw[:4]):
        raise ShapeError(f"pad: the first two axes must not be padded, pad_width={pw}")
    return [(pw[2 * i], pw[2 * i + 1]) for i in range(ndim)]


@register
class Pad(Operator):
    name = "pad"
    aliases = ("Pad",)
    params = {
        "mode": Param("str", "constant", choices=("constant", "edge", "reflect")),
        "pad_width": Param("shape"),
        "constant_value": Param("float", 0.0),
    }

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], aux_shapes
        widths = _widths(p, len(data))
        if p.mode == "reflect" and any(
                max(w) >= d for w, d in zip(widths[2:], data[2:], strict=True)):
            raise ShapeError(f"pad: reflect padding {p.pad_width} must be smaller than the "
                             f"padded axes of data shape {fmt(data)}")
        out = tuple(d + a + b for d, (a, b) in zip(data, widths, strict=True))
        return in_shapes, [out], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        self.infer_shape(p, [x.shape], [])
        widths = _widths(p, x.ndim)
        if p.mode == "constant":
            out = np.pad(x, widths, mode="constant",
                         constant_values=x.dtype.type(p.constant_value))
        else:
            out = np.pad(x, widths, mode=p.mode)
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        widths = _widths(p, x.ndim)
        index = np.arange(x.size, dtype=np.int64).reshape(x.shape)
        if p.mode == "constant":
            index = np.pad(index, widths, mode="constant", constant_values=-1)
        else:
            index = np.pad(index, widths, mode=p.mode)
        flat = index.reshape(-1)
        keep = flat >= 0
        g = np.bincount(flat[keep], weights=out_grads[0].reshape(-1)[keep], minlength=x.size)
        return [g.reshape(x.shape).astype(x.dtype)]
