"""``L2Normalization``, ``LayerNorm`` and ``InstanceNorm`` (MXNet 1.9.1), with their hidden
statistics outputs (MXNet's graphs count them: ``num_outputs`` 2 or 3, one visible unless
``output_mean_var``).
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


class _Normalize(Operator):
    """Shared by LayerNorm and InstanceNorm: normalize over ``_axes``, scale and shift."""

    def arguments(self, p):
        return ["data", "gamma", "beta"]

    def num_outputs(self, p):
        return 3

    def outputs(self, p):
        return ["output", "mean", "std"] if p.get("output_mean_var", False) else ["output"]

    def _param_axis(self, p, ndim):
        raise NotImplementedError

    def _axes(self, p, ndim):
        raise NotImplementedError

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * len(self.outputs(p)), aux_shapes
        data = tuple(data)
        ch = (data[self._param_axis(p, len(data))],)
        stat = tuple(1 if i in self._axes(p, len(data)) else d for i, d in enumerate(data))
        outs = [data, stat, stat][:len(self.outputs(p))]
        return [data, ch, ch], outs, aux_shapes

    def _bshape(self, p, x):
        shape = [1] * x.ndim
        shape[self._param_axis(p, x.ndim)] = x.shape[self._param_axis(p, x.ndim)]
        return tuple(shape)

    def forward(self, p, inputs, aux, is_train):
        x, gamma, beta = inputs
        axes = self._axes(p, x.ndim)
        xd = x.astype(np.float64)
        mean = xd.mean(axis=axes, keepdims=True)
        var = ((xd - mean) ** 2).mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + p.eps)
        xhat = (xd - mean) * rstd
        bs = self._bshape(p, x)
        out = (xhat * gamma.reshape(bs) + beta.reshape(bs)).astype(x.dtype)
        outs = [out]
        if len(self.outputs(p)) == 3:
            outs += [mean.astype(x.dtype), (1.0 / rstd).astype(x.dtype)]
        return outs, (xhat, rstd)

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, gamma, _ = inputs
        xhat, rstd = saved
        axes = self._axes(p, x.ndim)
        bs = self._bshape(p, x)
        g = out_grads[0].astype(np.float64)
        other = tuple(i for i in range(x.ndim) if i != self._param_axis(p, x.ndim))
        dgamma = (g * xhat).sum(axis=other).reshape(gamma.shape)
        dbeta = g.sum(axis=other).reshape(gamma.shape)
        dxhat = g * gamma.reshape(bs)
        dx = rstd * (dxhat - dxhat.mean(axis=axes, keepdims=True)
                     - xhat * (dxhat * xhat).mean(axis=axes, keepdims=True))
        return [dx.astype(x.dtype), dgamma.astype(gamma.dtype), dbeta.astype(gamma.dtype)]


@register
class LayerNorm(_Normalize):
    """Normalize over ``axis`` (the last by default): ``gamma * (x - mean) / std + beta``."""

    name = "LayerNorm"
    params = {"axis": Param("int", -1), "eps": Param("float", 1e-5),
              "output_mean_var": Param("bool", False)}

    def _param_axis(self, p, ndim):
        if not -ndim <= p.axis < ndim:
            raise MXNetError(f"LayerNorm: axis {p.axis} out of range for {ndim} dims")
        return p.axis % ndim

    def _axes(self, p, ndim):
        return (self._param_axis(p, ndim),)


@register
class InstanceNorm(_Normalize):
    """Normalize each (sample, channel) over its spatial axes; ``gamma``/``beta`` per
    channel."""

    name = "InstanceNorm"
    params = {"eps": Param("float", 1e-3)}

    def outputs(self, p):
        return ["output"]

    def _param_axis(self, p, ndim):
        if ndim < 3:
            raise MXNetError(f"InstanceNorm: data must have 3+ dims (N, C, ...), got {ndim}")
        return 1

    def _axes(self, p, ndim):
        return tuple(range(2, ndim))
