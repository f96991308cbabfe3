"""softmax, log_softmax and SoftmaxActivation (MXNet 1.9.1).

``softmax(data, axis=-1, temperature=None, dtype=None, use_length=False)``:
``y = exp(x / T) / sum(exp(x / T))`` along ``axis``; backward
``dx = y * (dy - sum(dy * y)) / T``.  With ``use_length`` a second input ``length`` (shape of
``data`` without ``axis``) keeps only the first ``length`` entries along ``axis``; the rest
are 0 in the output and get no gradient.

``log_softmax``: ``y = x / T - logsumexp(x / T)``; backward ``dx = (dy - exp(y) sum(dy)) / T``
(no ``length`` input: ``use_length=True`` raises MXNetError, as MXNet 1.9.1 fails on it).

``SoftmaxActivation(mode='instance'|'channel')``: softmax over the last axis (``instance``;
for ``(n, k)`` data this is one distribution per instance, and for data with more axes MXNet
1.9.1 also normalizes over the last axis only) or over axis 1 (``channel``).  The gradient
always matches the forward; MXNet 1.9.1's ``instance`` backward reduces over axis 1 for data
with more than two axes, which is not the derivative of its forward.
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._util import fmt, merge_shape


def _axis(op, axis, ndim, shape):
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of range for data shape {fmt(shape)}")
    return axis % ndim


def _length_mask(x, length, axis):
    """Boolean mask, True where the position along ``axis`` is below ``length``."""
    pos = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - 1 - axis))
    return pos < np.expand_dims(length.astype(np.int64), axis)


def _softmax(x, axis, temperature, log, dtype=None, length=None):
    """(softmax or log-softmax of ``x`` along ``axis`` in ``dtype`` (default ``x``'s), the
    length mask or None)."""
    ax = _axis("log_softmax" if log else "softmax", axis, x.ndim, x.shape)
    out_dtype = np.dtype(dtype) if dtype is not None else x.dtype
    xs = x if temperature in (None, 1.0) else x / x.dtype.type(temperature)
    mask = _length_mask(x, length, ax) if length is not None else None
    if mask is not None:
        xs = np.where(mask, xs, -np.inf)
    shifted = xs - xs.max(axis=ax, keepdims=True)
    if log:
        y = shifted - np.log(np.exp(shifted).sum(axis=ax, keepdims=True))
    else:
        y = np.exp(shifted)
        y /= y.sum(axis=ax, keepdims=True)
    if mask is not None:
        y = np.where(mask, y, 0)
    return np.asarray(y, dtype=out_dtype), mask


def _softmax_grad(y, dy, ax, log):
    if log:
        return dy - np.exp(y) * dy.sum(axis=ax, keepdims=True)
    return y * (dy - (dy * y).sum(axis=ax, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1, temperature=None, log: bool = False) -> np.ndarray:
    """The forward of ``softmax`` (``log``: ``log_softmax``) on a NumPy array, for ``mx.nd``."""
    return _softmax(x, axis, temperature, log)[0]


class _SoftmaxBase(Operator):
    log = False
    params = {
        "axis": Param("int", -1),
        "temperature": Param("float", None, optional=True),
        "dtype": Param(
            "dtype", None, optional=True, choices=(None, "float16", "float32", "float64")
        ),
        "use_length": Param("bool", False, optional=True),
    }

    def arguments(self, p):
        return ["data", "length"] if p.use_length else ["data"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], aux_shapes
        data = tuple(data)
        ax = _axis(self.name, p.axis, len(data), data)
        if p.use_length:
            in_shapes[1] = merge_shape(self.name, "length", in_shapes[1], data[:ax] + data[ax + 1:])
        in_shapes[0] = data
        return in_shapes, [data], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        in_types = list(in_types)
        t = in_types[0]
        if p.use_length and in_types[1] is None:
            in_types[1] = np.dtype(np.int32) if t is None else t
        out = np.dtype(p.dtype) if p.dtype is not None else t
        return in_types, [out], aux_types

    def forward(self, p, inputs, aux, is_train):
        length = inputs[1] if p.use_length else None
        y, mask = _softmax(inputs[0], p.axis, p.temperature, self.log, p.dtype, length)
        return [y], mask

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        ax = p.axis % x.ndim
        y, dy = outputs[0], out_grads[0]
        if saved is not None:
            dy = np.where(saved, dy, 0)
        dx = _softmax_grad(y, dy, ax, self.log)
        if saved is not None:
            dx = np.where(saved, dx, 0)
        if p.temperature not in (None, 1.0):
            dx = dx / p.temperature
        grads = [np.asarray(dx, dtype=x.dtype)]
        if p.use_length:
            grads.append(np.zeros_like(inputs[1]))
        return grads


@register
class Softmax(_SoftmaxBase):
    name = "softmax"


@register
class LogSoftmax(_SoftmaxBase):
    """``use_length`` is accepted by MXNet 1.9.1's parser, but its log_softmax has no
    ``length`` input and fails at run time; mxlite rejects it in shape inference."""

    name = "log_softmax"
    log = True

    def arguments(self, p):
        return ["data"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        if p.use_length:
            raise MXNetError("log_softmax: use_length=True is not supported (log_softmax takes "
                             "no length input)")
        return super().infer_shape(p, in_shapes, aux_shapes)

    def forward(self, p, inputs, aux, is_train):
        if p.use_length:
            raise MXNetError("log_softmax: use_length=True is not supported (log_softmax takes "
                             "no length input)")
        return super().forward(p, inputs, aux, is_train)


@register
class SoftmaxActivation(Operator):
    name = "SoftmaxActivation"
    params = {"mode": Param("str", "instance", choices=("instance", "channel"))}

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is not None and p.mode == "channel" and len(data) < 2:
            raise ShapeError(f"SoftmaxActivation: mode='channel' needs data with >= 2 axes, "
                             f"got {fmt(data)}")
        return super().infer_shape(p, in_shapes, aux_shapes)

    def forward(self, p, inputs, aux, is_train):
        return [softmax(inputs[0], 1 if p.mode == "channel" else -1)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        y = outputs[0]
        dx = _softmax_grad(y, out_grads[0], 1 if p.mode == "channel" else -1, False)
        return [dx.astype(y.dtype, copy=False)]
