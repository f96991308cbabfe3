"""Pooling (MXNet 1.9.1): max / avg / sum over 1-D (NCW) or 2-D (NCHW) windows.

Output size per spatial axis: ``valid``: ``(H + 2 pad - k) // stride + 1``; ``full``:
``ceil((H + 2 pad - k) / stride) + 1``.  ``global_pool`` pools each whole plane (kernel, stride
and pad are ignored; output spatial size 1).  Max pooling never picks padding; its gradient
goes to the first maximum of each window.  ``avg`` divides by the window size clipped to the
padded extent when ``count_include_pad`` (default) and by the number of real elements
otherwise.  ``lp`` computes ``(sum x**p_value) ** (1 / p_value)`` per window (a signed root, so
``p_value=1`` is a plain sum and 3 keeps the sign), gradient ``(x / out) ** (p_value - 1)``.
Numba kernels in :mod:`._pooling_kernels`.  ``pooling_convention='same'`` is not implemented
(MXNetError; MXNet 1.9.1 itself fails on it for every input).
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from . import _pooling_kernels as _kernels
from ._util import fmt, kernel_dtype, spatial_tuple

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

    def _geometry(self, p, shape):
        if p.pool_type == "lp" and (p.p_value is None or p.p_value < 1):
            raise MXNetError(f"Pooling: pool_type='lp' needs p_value >= 1, got {p.p_value}")
        if p.pooling_convention == "same":
            raise MXNetError("Pooling: pooling_convention='same' is not implemented in mxlite")
        nsp = len(shape) - 2
        if nsp not in (1, 2):
            raise ShapeError(f"Pooling: data shape {fmt(shape)} must have 3 (NCW) or 4 (NCHW) "
                             "axes")
        if p.layout not in (None, "NCW" if nsp == 1 else "NCHW"):
            raise ShapeError(f"Pooling: layout {p.layout!r} is not supported for data shape "
                             f"{fmt(shape)}")
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

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None], aux_shapes
        data = tuple(int(s) for s in data)
        *_, out = self._geometry(p, data)
        return [data], [(*data[:2], *out)], aux_shapes

    @staticmethod
    def _args(nsp, kernel, stride, pad):
        if nsp == 1:
            return 1, kernel[0], 1, stride[0], 0, pad[0]
        return kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1]

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        nsp, kernel, stride, pad, out_sp = self._geometry(p, x.shape)
        xk = x.astype(kernel_dtype(x.dtype), copy=False)
        x4 = np.ascontiguousarray(xk.reshape(x.shape[0], x.shape[1], 1, -1) if nsp == 1 else xk)
        out4 = np.empty((x.shape[0], x.shape[1], *((1, *out_sp) if nsp == 1 else out_sp)),
                        dtype=x4.dtype)
        kind = _KIND[p.pool_type]
        argmax = np.empty(out4.shape if kind == 0 else (1, 1, 1, 1), dtype=np.int64)
        count_pad = True if p.count_include_pad is None else bool(p.count_include_pad)
        p_value = float(p.p_value or 1)
        _kernels.pool_forward(x4, kind, *self._args(nsp, kernel, stride, pad), count_pad,
                              p_value, out4, argmax)
        out = out4.reshape(*x.shape[:2], *out_sp).astype(x.dtype, copy=False)
        return [out], (nsp, kernel, stride, pad, argmax, x4, out4)

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        nsp, kernel, stride, pad, argmax, x4, out4 = saved
        dy = np.asarray(out_grads[0], dtype=x4.dtype)
        dy4 = np.ascontiguousarray(dy.reshape(dy.shape[0], dy.shape[1], 1, -1) if nsp == 1 else dy)
        dx = np.empty(x.shape, dtype=x4.dtype)
        dx4 = dx.reshape(x.shape[0], x.shape[1], 1, -1) if nsp == 1 else dx
        count_pad = True if p.count_include_pad is None else bool(p.count_include_pad)
        _kernels.pool_backward(x4, dy4, _KIND[p.pool_type], *self._args(nsp, kernel, stride, pad),
                               count_pad, float(p.p_value or 1), out4, argmax, dx4)
        return [dx.astype(x.dtype, copy=False)]
