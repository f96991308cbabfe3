"""``prod``: the product over ``axis`` (MXNet 1.9.1), with a gradient exact at zeros.

Backward: ``d x_i = d y * prod_{j != i} x_j``, the product of the other entries of the same
reduction group, computed from exclusive cumulative products from both ends (no division, so
zeros in the input give the right gradient).
"""

from __future__ import annotations

import numpy as np

from ..registry import register
from .reduce import _red_axes, _Reduce, reduce


@register
class Prod(_Reduce):
    name = "prod"

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [reduce(np.prod, x, _red_axes(p, x.ndim, self.name), p.keepdims, self.name)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        axes = _red_axes(p, x.ndim, self.name)
        keep = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, keep + list(axes))
        groups = moved.reshape(*moved.shape[:len(keep)], -1)
        ones = np.ones((*groups.shape[:-1], 1), dtype=x.dtype)
        left = np.cumprod(np.concatenate([ones, groups[..., :-1]], axis=-1), axis=-1)
        right = np.cumprod(np.concatenate([ones, groups[..., :0:-1]], axis=-1),
                           axis=-1)[..., ::-1]
        others = (left * right).reshape(moved.shape)
        keep_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        g = np.transpose(others, np.argsort(keep + list(axes)))
        return [np.asarray(g * out_grads[0].reshape(keep_shape), dtype=x.dtype)]
