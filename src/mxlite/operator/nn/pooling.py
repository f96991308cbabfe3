"""Pooling (MXNet 1.9.1): max / avg / sum / lp over 1-D (NCW), 2-D (NCHW) or 3-D (NCDHW)
windows.

Output size per spatial axis: ``valid``: ``(H + 2 pad - k) // stride + 1``; ``full``:
``ceil((H + 2 pad - k) / stride) + 1``.  ``global_pool`` pools each whole plane (kernel, stride
and pad are ignored; output spatial size 1).  Max pooling never picks padding; its gradient
goes to the first maximum of each window.  ``avg`` divides by the window size clipped to the
padded extent when ``count_include_pad`` (default) and by the number of real elements
otherwise.  ``lp`` computes ``(sum x**p_value) ** (1 / p_value)`` per window (a signed root, so
``p_value=1`` is a plain sum and 3 keeps the sign), gradient ``(x / out) ** (p_value - 1)``.
Numba kernels in :mod:`._pooling_kernels`.  ``pooling_convention='same'`` is not implemented
(MXNetError; MXNet 1.9.1 itself fails on it for every input).  Channels-last layouts (``NWC``,
``NHWC``, ``NDHWC``) pool the channels-first transposed data (:mod:`._layout`), as MXNet 1.9.1
computes them on CPU.
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from . import _layout
from . import _pooling_kernels as _kernels
from ._util import fmt, kernel_dtype, planned_buffer, spatial_tuple

_KIND = {"max": 0, "avg": 1, "sum": 2, "lp": 3}


@register
class Pooling(Operator):
    name = "Pooling"
    params = {
        "kernel": Param("shape", ()),
        "pool_type": Param("str", "max", choices=("max", "avg", "sum", "lp")),
        "global_pool": Param("bool", False),
        "cudnn_off": Param("bool", False),
        "pooling_convention": Param("str", "valid", choices=("valid", "full", "same")),
        "stride": Param("shape", ()),
        "pad": Param("shape", ()),
        "p_value": Param("int", None, optional=True),
        "count_include_pad": Param("bool", None, optional=True),
        "layout": Param("str", None, optional=True,
                        choices=(None, "NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC")),
    }

    def num_outputs(self, p):
        """Outputs as MXNet 1.9.1's pip build (MKLDNN) counts them in symbol JSON: max pooling
        in an NC* layout with a kernel has a hidden workspace output."""
        hidden = p.pool_type == "max" and p.layout in (None, "NCW", "NCHW", "NCDHW")
        return 2 if hidden and 1 <= len(p.kernel) <= 3 else 1

    def _geometry(self, p, shape):
        if p.pool_type == "lp" and (p.p_value is None or p.p_value < 1):
            raise MXNetError(f"Pooling: pool_type='lp' needs p_value >= 1, got {p.p_value}")
        if p.pooling_convention == "same":
            raise MXNetError("Pooling: pooling_convention='same' is not implemented in mxlite")
        nsp = len(shape) - 2
        if nsp not in (1, 2, 3):
            raise ShapeError(f"Pooling: data shape {fmt(shape)} must have 3 (NCW), 4 (NCHW) or "
                             "5 (NCDHW) axes")
        if p.layout not in (None, _layout.FIRST[nsp]):
            raise ShapeError(f"Pooling: layout {p.layout!r} is not supported for data shape "
                             f"{fmt(shape)} (use {_layout.FIRST[nsp]} or {_layout.LAST[nsp]})")
        spatial = tuple(int(s) for s in shape[2:])
        if p.global_pool:
            return nsp, spatial, (1,) * nsp, (0,) * nsp, (1,) * nsp
        if len(p.kernel) != nsp:
            raise ShapeError(f"Pooling: kernel={p.kernel} must have {nsp} dimension(s) for data "
                             f"shape {fmt(shape)}")
        kernel = tuple(p.kernel)
        stride = spatial_tuple(self.name, "stride", p.stride, nsp, 1)
        pad = spatial_tuple(self.name, "pad", p.pad, nsp, 0)
        if any(k <= 0 for k in kernel) or any(s <= 0 for s in stride) or any(v < 0 for v in pad):
            raise ShapeError(f"Pooling: kernel={kernel}, stride={stride} must be positive and "
                             f"pad={pad} non-negative")
        out = []
        for i, k, s, pd in zip(spatial, kernel, stride, pad, strict=True):
            if i + 2 * pd < k:
                raise ShapeError(f"Pooling: kernel={kernel} is larger than data shape "
                                 f"{fmt(shape)} with pad={pad}")
            span = i + 2 * pd - k
            out.append(span // s + 1 if p.pooling_convention == "valid" else -(-span // s) + 1)
        return nsp, kernel, stride, pad, tuple(out)

    # channels-last layouts: the channels-first pooling of the transposed data
    def _first(self, p, shape):
        if len(shape) - 2 in (1, 2, 3) and p.layout != _layout.LAST[len(shape) - 2]:
            raise ShapeError(f"Pooling: layout {p.layout!r} is not supported for data shape "
                             f"{fmt(shape)} (use {_layout.FIRST[len(shape) - 2]} or "
                             f"{_layout.LAST[len(shape) - 2]})")
        return _layout.first_params(p)

    def infer_shape(self, p, in_shapes, aux_shapes):
        if not _layout.is_last(p.layout) or in_shapes[0] is None:
            return self._infer_first(p, in_shapes, aux_shapes)
        pf = self._first(p, in_shapes[0])
        ins, outs, aux = self._infer_first(pf, [_layout.to_first(in_shapes[0])], aux_shapes)
        return [_layout.to_last(ins[0])], [_layout.to_last(outs[0])], aux

    writes_outputs = True
    writes_grads = True

    def forward(self, p, inputs, aux, is_train, out=None):
        buf = out[0] if out else None
        if not _layout.is_last(p.layout):
            return self._forward(p, inputs, aux, is_train, buf)
        pf = self._first(p, inputs[0].shape)
        xf = _layout.array_first(inputs[0])
        outs, saved = self._forward(pf, [xf], aux, is_train)
        return [_layout.array_last(outs[0], buf)], (saved, xf)

    def backward(self, p, out_grads, inputs, outputs, aux, saved, gout=None):
        buf = gout[0] if gout else None
        if not _layout.is_last(p.layout):
            return self._backward(p, out_grads, inputs, outputs, aux, saved, buf)
        inner, xf = saved
        (dx,) = self._backward(_layout.first_params(p), [_layout.array_first(out_grads[0])],
                               [xf], [None], aux, inner)
        return [_layout.array_last(dx, buf)]

    def _infer_first(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None], aux_shapes
        data = tuple(int(s) for s in data)
        *_, out = self._geometry(p, data)
        return [data], [(*data[:2], *out)], aux_shapes

    @staticmethod
    def _as5d(a):
        return a.reshape(a.shape[:2] + (1,) * (5 - a.ndim) + a.shape[2:])

    @staticmethod
    def _args(nsp, kernel, stride, pad):
        lead = 3 - nsp
        return (1,) * lead + tuple(kernel), (1,) * lead + tuple(stride), (0,) * lead + tuple(pad)

    def _forward(self, p, inputs, aux, is_train, buf=None):
        x = inputs[0]
        nsp, kernel, stride, pad, out_sp = self._geometry(p, x.shape)
        x5 = np.ascontiguousarray(self._as5d(x), dtype=kernel_dtype(x.dtype))
        out = planned_buffer((buf,), 0, (*x.shape[:2], *out_sp), x5.dtype)
        out5 = self._as5d(out)
        kind = _KIND[p.pool_type]
        # flat indices into one (D, H, W) volume: int32 halves what the argmax costs to store
        idx = np.int32 if int(np.prod(x5.shape[2:])) < 2**31 else np.int64
        argmax = np.empty(out5.shape if kind == 0 else (1, 1, 1, 1, 1), dtype=idx)
        count_pad = True if p.count_include_pad is None else bool(p.count_include_pad)
        _kernels.pool_forward(x5, kind, *self._args(nsp, kernel, stride, pad), count_pad,
                              float(p.p_value or 1), out5, argmax)
        return [out.astype(x.dtype, copy=False)], (nsp, kernel, stride, pad, argmax, x5, out5)

    def _backward(self, p, out_grads, inputs, outputs, aux, saved, buf=None):
        x = inputs[0]
        nsp, kernel, stride, pad, argmax, x5, out5 = saved
        dy5 = np.ascontiguousarray(self._as5d(np.asarray(out_grads[0])), dtype=x5.dtype)
        dx = planned_buffer((buf,), 0, x.shape, x5.dtype)
        count_pad = True if p.count_include_pad is None else bool(p.count_include_pad)
        _kernels.pool_backward(x5, dy5, _KIND[p.pool_type], *self._args(nsp, kernel, stride, pad),
                               count_pad, float(p.p_value or 1), out5, argmax, self._as5d(dx))
        return [dx.astype(x.dtype, copy=False)]
