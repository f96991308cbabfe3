"""UpSampling (MXNet 1.9.1).

``nearest``: every input ``i`` (``num_args`` of them, arguments ``arg0, arg1, ...``) is
repeated ``s_i`` times along H and W so that all reach ``(H_0 * scale, W_0 * scale)`` (``s_i``
must be an integer); with ``multi_input_mode='concat'`` the results are concatenated along the
channels, with ``'sum'`` they are added (equal channel counts).  Backward sums each
``s_i x s_i`` block.

``bilinear``: arguments ``data`` and ``weight`` ``(num_filter, 1, k, k)`` with
``k = 2 * scale - scale % 2``; computed as MXNet does, a grouped Deconvolution (one group per
channel) with ``stride = scale`` and ``pad = ceil((scale - 1) / 2)``, no bias.  The weight is a
learnable argument (MXNet initializes it with the bilinear kernel).
"""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, get, register
from ._util import fmt


@register
class UpSampling(Operator):
    name = "UpSampling"
    variadic = "num_args"
    params = {
        "scale": Param("int"),
        "num_filter": Param("int", 0),
        "sample_type": Param("str", choices=("nearest", "bilinear")),
        "multi_input_mode": Param("str", "concat", choices=("concat", "sum")),
        "num_args": Param("int", 1),
        "workspace": Param("int", 512),
    }

    def arguments(self, p):
        if p.sample_type == "bilinear":
            return ["data", "weight"]
        return [f"arg{i}" for i in range(p.num_args)]

    # ---- bilinear: a grouped Deconvolution
    @staticmethod
    def _deconv_params(p, channels):
        k = 2 * p.scale - p.scale % 2
        pad = (p.scale - 1 + 1) // 2  # ceil((scale - 1) / 2)
        return {"kernel": (k, k), "stride": (p.scale, p.scale), "pad": (pad, pad),
                "num_filter": channels, "num_group": channels, "no_bias": True}

    def _deconv(self, p, channels):
        op = get("Deconvolution")
        return op, op.parse_params(self._deconv_params(p, channels))

    def infer_shape(self, p, in_shapes, aux_shapes):
        if p.scale < 1:
            raise ShapeError(f"UpSampling: scale must be >= 1, got {p.scale}")
        in_shapes = list(in_shapes)
        if p.sample_type == "bilinear":
            data = in_shapes[0]
            if data is None:
                return in_shapes, [None], aux_shapes
            if len(data) != 4:
                raise ShapeError(f"UpSampling: data shape {fmt(data)} must be NCHW")
            if p.num_filter not in (0, data[1]):
                raise ShapeError(f"UpSampling: bilinear num_filter={p.num_filter} must equal "
                                 f"the channels of data shape {fmt(data)}")
            op, dp = self._deconv(p, data[1])
            ins, outs, _ = op.infer_shape(dp, in_shapes, [])
            return ins, outs, aux_shapes
        if any(s is None for s in in_shapes):
            return in_shapes, [None], aux_shapes
        shapes = [tuple(int(v) for v in s) for s in in_shapes]
        for s in shapes:
            if len(s) != 4:
                raise ShapeError(f"UpSampling: input shapes {[fmt(x) for x in shapes]} must be "
                                 "NCHW")
        n, _, h, w = shapes[0]
        oh, ow = h * p.scale, w * p.scale
        channels = 0
        for s in shapes:
            if s[0] != n or oh % s[2] or ow % s[3] or oh // s[2] != ow // s[3]:
                raise ShapeError(
                    f"UpSampling: input shapes {[fmt(x) for x in shapes]} cannot all be scaled "
                    f"to {(oh, ow)} by one integer factor each"
                )
            channels += s[1]
        if p.multi_input_mode == "sum":
            if any(s[1] != shapes[0][1] for s in shapes):
                raise ShapeError(f"UpSampling: multi_input_mode='sum' needs equal channels, got "
                                 f"{[fmt(x) for x in shapes]}")
            channels = shapes[0][1]
        return shapes, [(n, channels, oh, ow)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        if p.sample_type == "bilinear":
            op, dp = self._deconv(p, inputs[0].shape[1])
            outs, saved = op.forward(dp, inputs, [], is_train)
            return outs, saved
        oh = inputs[0].shape[2] * p.scale
        parts = []
        for x in inputs:
            s = oh // x.shape[2]
            n, c, h, w = x.shape
            up = np.broadcast_to(x[:, :, :, None, :, None], (n, c, h, s, w, s))
            parts.append(up.reshape(n, c, h * s, w * s))
        if len(parts) == 1:
            out = np.ascontiguousarray(parts[0])
        elif p.multi_input_mode == "sum":
            out = parts[0].copy()
            for part in parts[1:]:
                out += part
        else:
            out = np.concatenate(parts, axis=1)
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        if p.sample_type == "bilinear":
            op, dp = self._deconv(p, inputs[0].shape[1])
            return op.backward(dp, out_grads, inputs, outputs, [], saved)
        dy = np.asarray(out_grads[0])
        grads = []
        start = 0
        for x in inputs:
            n, c, h, w = x.shape
            s = dy.shape[2] // h
            if p.multi_input_mode == "sum" and len(inputs) > 1:
                part = dy
            else:
                part = dy[:, start:start + c]
                start += c
            grads.append(part.reshape(n, c, h, s, w, s).sum(axis=(3, 5)).astype(x.dtype))
        return grads
