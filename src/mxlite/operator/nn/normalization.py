"""LayerNorm, InstanceNorm and GroupNorm (MXNet 1.9.1 semantics): one normalize-and-scale
written once.

Each normalizes ``x`` over a set of reduction axes, ``xhat = (x - mean) / std`` with
``std = sqrt(var + eps)`` (biased variance), then ``y = xhat * gamma + beta`` with the affine
parameters along one channel axis:

- ``LayerNorm(axis=-1)``: reduce over ``axis``; ``gamma``/``beta`` have the size of ``axis``.
- ``InstanceNorm``: reduce over the spatial axes ``2..``; parameters per channel (axis 1).
- ``GroupNorm(num_groups)``: ``x`` viewed as ``(N, G, C/G, ...)`` is reduced over everything but
  ``N`` and ``G``; ``gamma``/``beta`` have one value per group (shape ``(num_groups,)``, as
  MXNet 1.9.1).

Backward, with ``g = dy * gamma`` and means over the reduction axes:
``dx = (g - mean(g) - xhat * mean(g * xhat)) / std``, ``dgamma = sum(dy * xhat)``,
``dbeta = sum(dy)`` over every axis but the channel axis.

Hidden outputs ``mean`` and ``std`` (LayerNorm/GroupNorm) or ``mean`` and ``var``
(InstanceNorm) are visible with ``output_mean_var`` where MXNet has it.
"""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from ._util import fmt, merge_shape


def _param_shape(ndim, axis, size):
    shape = [1] * ndim
    shape[axis] = size
    return tuple(shape)


def norm_forward(x, gamma, beta, red_axes, p_axis, eps):
    """``(y, xhat, mean, std)``; ``gamma``/``beta`` broadcast along ``p_axis``.

    Computed in float64 (MXNet accumulates the statistics wider than float32 too): ``y`` comes
    back in ``x``'s dtype, ``xhat``, ``mean`` and ``std`` in float64."""
    xd = x.astype(np.float64, copy=False)
    mean = xd.mean(axis=red_axes, keepdims=True)
    centered = xd - mean
    var = np.mean(centered * centered, axis=red_axes, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = centered / std
    pshape = _param_shape(x.ndim, p_axis, gamma.size)
    y = xhat * gamma.reshape(pshape) + beta.reshape(pshape)
    return y.astype(x.dtype, copy=False), xhat, mean, std


def norm_backward(dy, xhat, std, gamma, red_axes, p_axis):
    """``(dx, dgamma, dbeta)`` of :func:`norm_forward`."""
    pshape = _param_shape(dy.ndim, p_axis, gamma.size)
    g = dy.astype(np.float64, copy=False) * gamma.reshape(pshape)
    dx = (g - g.mean(axis=red_axes, keepdims=True)
          - xhat * np.mean(g * xhat, axis=red_axes, keepdims=True)) / std
    other = tuple(a for a in range(dy.ndim) if a != p_axis)
    dgamma = np.sum(dy * xhat, axis=other).reshape(gamma.shape)
    dbeta = np.sum(dy, axis=other).reshape(gamma.shape)
    return dx.astype(dy.dtype, copy=False), dgamma.astype(gamma.dtype), \
        dbeta.astype(gamma.dtype)


class _Norm(Operator):
    """Shared plumbing; subclasses define ``_channels`` (size of gamma), ``_stat_shape``,
    ``_layout(p, shape) -> (view shape, reduction axes, parameter axis)`` and ``_stats``."""

    stat_names = ("mean", "std")

    def arguments(self, p):
        return ["data", "gamma", "beta"]

    def outputs(self, p):
        if p.get("output_mean_var", False):
            return ["output", *self.stat_names]
        return ["output"]

    def num_outputs(self, p):
        return 3

    def infer_shape(self, p, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * len(self.outputs(p)), aux_shapes
        data = tuple(data)
        n = self._channels(p, data)
        for i, what in ((1, "gamma"), (2, "beta")):
            in_shapes[i] = merge_shape(self.name, what, in_shapes[i], (n,))
        stat = self._stat_shape(p, data)
        outs = [data] + [stat] * (len(self.outputs(p)) - 1)
        return in_shapes, outs, aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x, gamma, beta = inputs
        n = self._channels(p, x.shape)
        for what, arr in (("gamma", gamma), ("beta", beta)):
            if arr.shape != (n,):  # (an imperative call skips shape inference)
                raise ShapeError(f"{self.name}: {what} has shape {arr.shape}; data of shape "
                                 f"{x.shape} needs ({n},)")
        view, red, p_axis = self._layout(p, x.shape)
        y, xhat, mean, std = norm_forward(x.reshape(view), gamma, beta, red, p_axis, p.eps)
        outs = [y.reshape(x.shape)]
        if len(self.outputs(p)) > 1:
            outs += [s.astype(x.dtype) for s in self._stats(p, x.shape, mean, std)]
        return outs, (xhat, std)

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, gamma, _ = inputs
        xhat, std = saved
        view, red, p_axis = self._layout(p, x.shape)
        dx, dgamma, dbeta = norm_backward(out_grads[0].reshape(view), xhat, std, gamma, red,
                                          p_axis)
        return [dx.reshape(x.shape), dgamma, dbeta]


@register
class LayerNorm(_Norm):
    name = "LayerNorm"
    params = {
        "axis": Param("int", -1),
        "eps": Param("float", 1e-5),
        "output_mean_var": Param("bool", False),
    }

    def _axis(self, p, ndim):
        axis = p.axis + ndim if p.axis < 0 else p.axis
        if not 0 <= axis < ndim:
            raise ShapeError(f"LayerNorm: axis {p.axis} out of range for {ndim} dims")
        return axis

    def _channels(self, p, shape):
        return shape[self._axis(p, len(shape))]

    def _stat_shape(self, p, shape):
        axis = self._axis(p, len(shape))
        return tuple(1 if i == axis else d for i, d in enumerate(shape))

    def _layout(self, p, shape):
        axis = self._axis(p, len(shape))
        return shape, (axis,), axis

    def _stats(self, p, shape, mean, std):
        return [mean, std]


@register
class InstanceNorm(_Norm):
    name = "InstanceNorm"
    params = {"eps": Param("float", 1e-3)}
    stat_names = ("mean", "var")

    def _channels(self, p, shape):
        if len(shape) < 3:
            raise ShapeError(f"InstanceNorm: data shape {fmt(shape)} needs at least 3 axes "
                             "(N, C, spatial...)")
        return shape[1]

    def _stat_shape(self, p, shape):
        return (shape[0], shape[1])

    def _layout(self, p, shape):
        return shape, tuple(range(2, len(shape))), 1

    def _stats(self, p, shape, mean, std):
        return [mean.reshape(shape[:2]), (std * std).reshape(shape[:2])]


@register
class GroupNorm(_Norm):
    name = "GroupNorm"
    params = {
        "num_groups": Param("int", 1),
        "eps": Param("float", 1e-5),
        "output_mean_var": Param("bool", False),
    }

    def _channels(self, p, shape):
        if len(shape) < 2 or p.num_groups <= 0 or shape[1] % p.num_groups:
            raise ShapeError(f"GroupNorm: {shape[1] if len(shape) > 1 else '?'} channels of "
                             f"data shape {fmt(shape)} cannot be split into {p.num_groups} "
                             "groups")
        return p.num_groups

    def _stat_shape(self, p, shape):
        return (shape[0], p.num_groups)

    def _layout(self, p, shape):
        g = p.num_groups
        view = (shape[0], g, shape[1] // g, *shape[2:])
        return view, tuple(range(2, len(view))), 1

    def _stats(self, p, shape, mean, std):
        return [mean.reshape(shape[0], -1), std.reshape(shape[0], -1)]
