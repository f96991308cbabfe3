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
"""

from __future__ import annotations

import math

import numpy as np

from ... import random as _random
from ..registry import Operator, Param, ShapeError, register
from ._util import fmt, merge_shape

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_LAMBDA = 1.0507009873554804934193349852946

try:  # scipy is optional; the vectorized erf below is exact to float64 rounding otherwise
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover - depends on the environment
    _erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


@register
class Activation(Operator):
    name = "Activation"
    params = {
        "act_type": Param("str", choices=("relu", "sigmoid", "tanh", "softrelu", "softsign")),
    }

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        t = p.act_type
        if t == "relu":
            y = np.maximum(x, 0)
        elif t == "sigmoid":
            y = _sigmoid(x)
        elif t == "tanh":
            y = np.tanh(x)
        elif t == "softrelu":
            y = np.logaddexp(x.dtype.type(0), x)
        else:  # softsign
            y = x / (1 + np.abs(x))
        return [y.astype(x.dtype, copy=False)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, y, dy = inputs[0], outputs[0], out_grads[0]
        t = p.act_type
        if t == "relu":
            dx = dy * (x > 0)
        elif t == "sigmoid":
            dx = dy * y * (1 - y)
        elif t == "tanh":
            dx = dy * (1 - y * y)
        elif t == "softrelu":
            dx = dy * _sigmoid(x)
        else:
            d = 1 + np.abs(x)
            dx = dy / (d * d)
        return [dx.astype(x.dtype, copy=False)]


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
        pos = x > 0
        saved = None
        if t == "leaky":
            y = np.where(pos, x, x * x.dtype.type(p.slope))
        elif t == "prelu":
            y = np.where(pos, x, x * self._gamma(x, inputs[1]))
        elif t == "elu":
            y = np.where(pos, x, p.slope * np.expm1(np.minimum(x, 0)))
        elif t == "selu":
            y = _SELU_LAMBDA * np.where(pos, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))
        elif t == "gelu":
            y = 0.5 * x * (1 + _erf(x / math.sqrt(2.0)))
        else:  # rrelu
            if is_train:
                slopes = _random.generator().uniform(p.lower_bound, p.upper_bound, size=x.shape)
            else:
                slopes = np.full(x.shape, (p.lower_bound + p.upper_bound) / 2)
            mask = np.where(pos, 1, slopes).astype(x.dtype)
            y = x * mask
            return [y.astype(x.dtype, copy=False), mask], mask
        return [np.asarray(y).astype(x.dtype, copy=False)], saved

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, dy = inputs[0], out_grads[0]
        t = p.act_type
        pos = x > 0
        if t == "leaky":
            dx = np.where(pos, dy, dy * x.dtype.type(p.slope))
        elif t == "prelu":
            gamma = inputs[1]
            dx = np.where(pos, dy, dy * self._gamma(x, gamma))
            contrib = np.where(pos, 0, dy * x)
            if gamma.size == 1:
                dgamma = np.full(gamma.shape, contrib.sum(), dtype=gamma.dtype)
            else:
                axes = (0, *range(2, x.ndim))
                dgamma = contrib.sum(axis=axes).reshape(gamma.shape).astype(gamma.dtype)
            return [dx.astype(x.dtype, copy=False), dgamma]
        elif t == "elu":
            dx = np.where(pos, dy, dy * (outputs[0] + p.slope))
        elif t == "selu":
            dx = np.where(pos, _SELU_LAMBDA * dy, dy * (outputs[0] + _SELU_LAMBDA * _SELU_ALPHA))
        elif t == "gelu":
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            cdf = 0.5 * (1 + _erf(x / math.sqrt(2.0)))
            dx = dy * (cdf + x * pdf)
        else:
            dx = dy * saved
        return [np.asarray(dx).astype(x.dtype, copy=False)]
