"""Dropout (MXNet 1.9.1).

Training (or ``mode='always'``): each element is kept with probability ``1 - p`` and scaled by
``1 / (1 - p)``; ``out = data * mask``.  ``axes`` lists axes along which one mask value is
shared (the mask has size 1 there and broadcasts).  Otherwise the operator is the identity.
The mask comes from :func:`mxlite.random.generator`, so ``mx.random.seed`` makes it
reproducible.  Backward: ``d_data = d_out * mask``.  Without ``axes`` (float32/float64 data)
the uniforms are drawn straight into the mask buffer in the data's dtype and one Numba pass
turns them into the mask and writes the output.  As in MXNet the symbol has one visible
output (the mask is a hidden second output).
"""

from __future__ import annotations

import numpy as np

from ... import random as _random
from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from . import _dropout_kernels as _dk
from ._util import fmt, planned_buffer


@register
class Dropout(Operator):
    name = "Dropout"
    params = {
        "p": Param("float", 0.5),
        "mode": Param("str", "training", choices=("training", "always")),
        "axes": Param("shape", ()),
        "cudnn_off": Param("bool", False, optional=True),
    }

    def num_outputs(self, p):
        return 2

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is not None:
            for a in p.axes:
                if not -len(data) <= a < len(data):
                    raise ShapeError(f"Dropout: axes={p.axes} is out of range for data shape "
                                     f"{fmt(data)}")
        return super().infer_shape(p, in_shapes, aux_shapes)

    writes_outputs = True
    writes_grads = True

    def forward(self, p, inputs, aux, is_train, out=None):
        x = inputs[0]
        if not 0.0 <= p.p <= 1.0:
            raise MXNetError(f"Dropout: p must be in [0, 1], got {p.p}")
        y = planned_buffer(out, 0, x.shape, x.dtype)
        if not (is_train or p.mode == "always") or p.p == 0.0:
            np.copyto(y, x)
            return [y], None
        shape = list(x.shape)
        for a in p.axes:
            shape[a % x.ndim] = 1
        keep = 1.0 - p.p
        if keep > 0 and not p.axes and x.dtype in _KERNEL_DTYPES and x.flags.c_contiguous:
            # uniforms drawn straight into the mask buffer, then one pass makes the mask and
            # the output
            mask = np.empty(x.shape, x.dtype)
            _random.generator().random(out=mask.reshape(-1), dtype=x.dtype)
            _dk.mask_and_apply(x.reshape(-1), mask.reshape(-1), keep, 1.0 / keep, y.reshape(-1))
            return [y], mask
        draw = _random.generator().random(tuple(shape))
        if keep > 0:
            mask = np.where(draw < keep, x.dtype.type(1.0 / keep), x.dtype.type(0)).astype(x.dtype)
        else:
            mask = np.zeros(tuple(shape), dtype=x.dtype)
        np.multiply(x, mask, out=y)
        return [y], mask

    def backward(self, p, out_grads, inputs, outputs, aux, saved, gout=None):
        dy = out_grads[0]
        dx = planned_buffer(gout, 0, inputs[0].shape, inputs[0].dtype)
        if saved is None:
            np.copyto(dx, dy)
        else:
            np.multiply(dy, saved, out=dx)
        return [dx]


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
