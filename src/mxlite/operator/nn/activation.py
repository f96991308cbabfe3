"""Elementwise activations: ``Activation`` and ``LeakyReLU`` (MXNet 1.9.1).

Activation ``act_type``:

- ``relu``: ``max(x, 0)``; gradient ``x > 0``.
- ``sigmoid``: ``y = 1 / (1 + exp(-x))``; gradient ``y (1 - y)``.
- ``tanh``: gradient ``1 - y**2``.
- ``softrelu``: ``log(1 + exp(x))`` (computed stably); gradient ``sigmoid(x)``.
- ``softsign``: ``x / (1 + |x|)``; gradient ``1 / (1 + |x|)**2``.

LeakyReLU ``act_type``:

- ``leaky``: ``x`` if ``x > 0`` else ``slope * x``.
- ``prelu``: like leaky with a learned ``gamma`` (one slope per channel on axis 1, or a single
  slope when gamma has one element); ``d_gamma = sum(d_out * x * (x <= 0))``.
- ``elu``: ``x`` if ``x > 0`` else ``slope * (exp(x) - 1)``.
- ``selu``: ``lambda * (x if x > 0 else alpha * (exp(x) - 1))`` with MXNet's constants.  The
  gradient for ``x < 0`` is the true derivative ``y + lambda * alpha``; MXNet 1.9.1 returns
  ``lambda * (y + alpha)`` there, which does not match its own forward.
- ``gelu``: ``0.5 x (1 + erf(x / sqrt(2)))`` (exact form, as MXNet 1.9.1).
- ``rrelu``: in training each element gets a slope drawn uniformly from
  ``[lower_bound, upper_bound)`` (from :func:`mxlite.random.generator`); at inference the
  slope is ``(lower_bound + upper_bound) / 2``.  As in MXNet the symbol has a second output
  ``mask`` holding the slope used for each element (1 where ``x > 0``).

Activation and leaky/elu/selu/gelu run on the one-pass Numba kernels of
:mod:`._activation_kernels`; prelu and rrelu are NumPy broadcasts.
"""

from __future__ import annotations

import numpy as np

from ... import random as _random
from ..registry import Operator, Param, ShapeError, register
from . import _activation_kernels as _kernels
from ._util import fmt, kernel_dtype, merge_shape


def _flat(a, dtype):
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


def _buf(bufs, shape, dt):
    b = bufs[0] if bufs else None
    if b is not None and b.shape == shape and b.dtype == dt and b.flags.c_contiguous:
        return b
    return np.empty(shape, dtype=dt)


def act_forward(act, x, slope=0.0, bufs=None):
    """Elementwise activation ``act`` (a key of ``_activation_kernels.KINDS``) of ``x``
    (into ``bufs[0]`` when that is an array of the right shape and dtype)."""
    dt = kernel_dtype(x.dtype)
    out = _buf(bufs, x.shape, dt)
    _kernels.forward(_kernels.KINDS[act], _flat(x, dt), float(slope), out.reshape(-1))
    return out.astype(x.dtype, copy=False)


def act_backward(act, x, y, dy, slope=0.0, bufs=None):
    """Input gradient of :func:`act_forward` for head gradient ``dy``."""
    dt = kernel_dtype(x.dtype)
    dx = _buf(bufs, x.shape, dt)
    _kernels.backward(_kernels.KINDS[act], _flat(x, dt), _flat(y, dt), _flat(dy, dt),
                      float(slope), dx.reshape(-1))
    return dx.astype(x.dtype, copy=False)


@register
class Activation(Operator):
    name = "Activation"
    params = {
        "act_type": Param("str", choices=("relu", "sigmoid", "tanh", "softrelu", "softsign")),
    }

    writes_outputs = True
    writes_grads = True

    def in_place(self, p):
        """Whether an executor may pass the input array as ``out`` (MXNet's in-place option):
        for relu, sigmoid and tanh, whose backward needs only the output (relu's ``x > 0`` is
        ``y > 0``), so the overwritten input is never read again."""
        return p.act_type in ("relu", "sigmoid", "tanh")

    def forward(self, p, inputs, aux, is_train, out=None):
        return [act_forward(p.act_type, inputs[0], bufs=out)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved, gout=None):
        return [act_backward(p.act_type, inputs[0], outputs[0], out_grads[0], bufs=gout)]


@register
class LeakyReLU(Operator):
    name = "LeakyReLU"
    params = {
        "act_type": Param(
            "str", "leaky", choices=("leaky", "prelu", "elu", "selu", "gelu", "rrelu")
        ),
        "slope": Param("float", 0.25),
        "lower_bound": Param("float", 0.125),
        "upper_bound": Param("float", 0.334),
    }
    # MXNet starts PReLU's learned slope at 0.25 (the ``__init__`` of the created variable)
    arg_inits = {"gamma": '["Constant", {"value": 0.25}]'}

    def arguments(self, p):
        return ["data", "gamma"] if p.act_type == "prelu" else ["data"]

    def outputs(self, p):
        return ["output", "mask"] if p.act_type == "rrelu" else ["output"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        data = in_shapes[0]
        nout = len(self.outputs(p))
        if data is None:
            return in_shapes, [None] * nout, aux_shapes
        data = tuple(data)
        if p.act_type == "prelu":
            g = in_shapes[1]
            if g is not None and int(np.prod(g)) == 1:
                pass  # one slope shared by every element
            elif len(data) < 2:
                raise ShapeError(
                    f"LeakyReLU: prelu needs data with a channel axis, got {fmt(data)}"
                )
            else:
                in_shapes[1] = merge_shape(self.name, "gamma", g, (data[1],))
        return in_shapes, [data] * nout, aux_shapes

    @staticmethod
    def _gamma(x, gamma):
        if gamma.size == 1:
            return gamma.reshape(())
        return gamma.reshape((1, -1) + (1,) * (x.ndim - 2))

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        t = p.act_type
        if t in ("leaky", "elu", "selu", "gelu"):
            return [act_forward(t, x, p.slope)], None
        pos = x > 0
        if t == "prelu":
            y = np.where(pos, x, x * self._gamma(x, inputs[1]))
        else:  # rrelu
            if is_train:
                slopes = _random.generator().uniform(p.lower_bound, p.upper_bound, size=x.shape)
            else:
                slopes = np.full(x.shape, (p.lower_bound + p.upper_bound) / 2)
            mask = np.where(pos, 1, slopes).astype(x.dtype)
            y = x * mask
            return [y.astype(x.dtype, copy=False), mask], mask
        return [np.asarray(y).astype(x.dtype, copy=False)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, dy = inputs[0], out_grads[0]
        t = p.act_type
        if t in ("leaky", "elu", "selu", "gelu"):
            return [act_backward(t, x, outputs[0], dy, p.slope)]
        pos = x > 0
        if t == "prelu":
            gamma = inputs[1]
            dx = np.where(pos, dy, dy * self._gamma(x, gamma))
            contrib = np.where(pos, 0, dy * x)
            if gamma.size == 1:
                dgamma = np.full(gamma.shape, contrib.sum(), dtype=gamma.dtype)
            else:
                axes = (0, *range(2, x.ndim))
                dgamma = contrib.sum(axis=axes).reshape(gamma.shape).astype(gamma.dtype)
            return [dx.astype(x.dtype, copy=False), dgamma]
        return [(dy * saved).astype(x.dtype, copy=False)]  # rrelu: the slopes used in forward
