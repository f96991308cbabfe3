"""Dropout (MXNet 1.9.1).

Training (or ``mode='always'``): each element is kept with probability ``1 - p`` and scaled by
``1 / (1 - p)``; ``out = data * mask``.  ``axes`` lists axes along which one mask value is
shared (the mask has size 1 there and broadcasts).  Otherwise the operator is the identity.
The mask comes from :func:`mxlite.random.generator`, so ``mx.random.seed`` makes it
reproducible.  Backward: ``d_data = d_out * mask``.  As in MXNet the symbol has one visible
output (the mask is a hidden second output).
"""

from __future__ import annotations

import numpy as np

from ... import random as _random
from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._util import fmt


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

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        if not 0.0 <= p.p <= 1.0:
            raise MXNetError(f"Dropout: p must be in [0, 1], got {p.p}")
        if not (is_train or p.mode == "always") or p.p == 0.0:
            return [x.copy()], None
        shape = list(x.shape)
        for a in p.axes:
            shape[a % x.ndim] = 1
        keep = 1.0 - p.p
        draw = _random.generator().random(tuple(shape))
        if keep > 0:
            mask = np.where(draw < keep, x.dtype.type(1.0 / keep), x.dtype.type(0)).astype(x.dtype)
        else:
            mask = np.zeros(tuple(shape), dtype=x.dtype)
        return [x * mask], mask

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        dy = out_grads[0]
        if saved is None:
            return [np.array(dy, dtype=inputs[0].dtype, copy=True)]
        return [(dy * saved).astype(inputs[0].dtype, copy=False)]
