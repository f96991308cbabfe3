"""``L2Normalization`` (MXNet 1.9.1).  ``LayerNorm``, ``InstanceNorm`` and ``GroupNorm`` are in
:mod:`mxlite.operator.nn.normalization`.
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, register

__all__: list[str] = []


def _norm_axes(mode: str, ndim: int) -> tuple:
    if mode == "instance":
        return tuple(range(1, ndim))
    if mode == "channel":
        return (1,)
    if mode == "spatial":
        return tuple(range(2, ndim))
    raise MXNetError(f"L2Normalization: mode must be instance, channel or spatial, got {mode!r}")


@register
class L2Normalization(Operator):
    """``x / sqrt(sum(x**2) + eps)`` over the axes of ``mode``."""

    name = "L2Normalization"
    params = {"eps": Param("float", 1e-10),
              "mode": Param("str", "instance", choices=("instance", "channel", "spatial"))}

    def num_outputs(self, p):
        return 2

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        axes = _norm_axes(p.mode, x.ndim)
        norm = np.sqrt((x.astype(np.float64) ** 2).sum(axis=axes, keepdims=True) + p.eps)
        return [(x / norm).astype(x.dtype)], norm

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, y, g = inputs[0], outputs[0], out_grads[0]
        axes = _norm_axes(p.mode, x.ndim)
        dot = (g * y).sum(axis=axes, keepdims=True)
        return [((g - y * dot) / saved).astype(x.dtype)]
