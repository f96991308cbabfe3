"""More elementwise math (MXNet 1.9.1 names): the rest of the trigonometric and hyperbolic
family, ``degrees``/``radians``, ``gamma``/``gammaln``, ``rcbrt``, ``hard_sigmoid`` and
``hypot``.

Each forward keeps the input dtype; each backward is the analytic derivative (checked in float64
against finite differences in ``tests/operator/test_math_ops.py``).
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import Operator, Param, register
from .elemwise import _QUIET, _unary

__all__: list[str] = []

# C's tgamma, as MXNet: a pole at +-0 is +-inf, the negative integers are nan
_gamma = np.frompyfunc(lambda v: math.gamma(v) if v != 0 and not (v < 0 and v == int(v))
                       else math.copysign(math.inf, v) if v == 0 else math.nan, 1, 1)
_lgamma = np.frompyfunc(lambda v: math.lgamma(v) if v > 0 or v != int(v) else math.inf, 1, 1)


def _gamma_f(x):
    return _gamma(x.astype(np.float64)).astype(np.float64)


def _gammaln_f(x):
    return _lgamma(x.astype(np.float64)).astype(np.float64)


def digamma(x: np.ndarray) -> np.ndarray:
    """psi(x) = d/dx ln Gamma(x): shift x above 10 by the recurrence, then the asymptotic series;
    reflection for x < 0.5; +inf at the poles 0, -1, -2, ... (MXNet's value there).  Accurate
    to ~1e-12 in float64."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    neg = x < 0.5
    # reflection: psi(1 - x) - psi(x) = pi cot(pi x)
    xr = np.where(neg, 1.0 - x, x)
    acc = np.zeros_like(xr)
    while True:
        small = xr < 10.0
        if not small.any():
            break
        acc -= np.where(small, 1.0 / np.where(small, xr, 1.0), 0.0)
        xr = np.where(small, xr + 1.0, xr)
    inv = 1.0 / xr
    inv2 = inv * inv
    series = np.log(xr) - 0.5 * inv - inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (
        1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))))
    psi = series + acc
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(neg, psi - np.pi / np.tan(np.pi * x), psi)
    # the poles 0, -1, -2, ... give +inf, as MXNet's kernel does
    return np.where((x <= 0) & (x == np.floor(x)), np.inf, out)


_unary("tan", np.tan, lambda x, y, og: og * (1 + y * y))
_unary("arcsin", np.arcsin, lambda x, y, og: og / np.sqrt(1 - x * x))
_unary("arccos", np.arccos, lambda x, y, og: -og / np.sqrt(1 - x * x))
_unary("arctan", np.arctan, lambda x, y, og: og / (1 + x * x))
_unary("sinh", np.sinh, lambda x, y, og: og * np.cosh(x))
_unary("cosh", np.cosh, lambda x, y, og: og * np.sinh(x))
_unary("arcsinh", np.arcsinh, lambda x, y, og: og / np.sqrt(x * x + 1))
_unary("arccosh", np.arccosh, lambda x, y, og: og / np.sqrt(x * x - 1))
_unary("arctanh", np.arctanh, lambda x, y, og: og / (1 - x * x))
_unary("degrees", np.degrees, lambda x, y, og: og * (180.0 / np.pi))
_unary("radians", np.radians, lambda x, y, og: og * (np.pi / 180.0))
_unary("gamma", _gamma_f, lambda x, y, og: og * y * digamma(x))
_unary("gammaln", _gammaln_f, lambda x, y, og: og * digamma(x))
_unary("rcbrt", lambda x: 1.0 / np.cbrt(x), lambda x, y, og: -og * y / (3 * x))
_unary("erf", np.frompyfunc(math.erf, 1, 1),
       lambda x, y, og: og * (2 / np.sqrt(np.pi)) * np.exp(-x * x))


@register
class HardSigmoid(Operator):
    """``y = clip(alpha * x + beta, 0, 1)``."""

    name = "hard_sigmoid"
    params = {"alpha": Param("float", 0.2), "beta": Param("float", 0.5)}

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        with np.errstate(**_QUIET):
            return [np.clip(p.alpha * x + p.beta, 0.0, 1.0).astype(x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        z = p.alpha * x + p.beta
        inside = (z > 0) & (z < 1)
        return [(out_grads[0] * p.alpha * inside).astype(x.dtype)]


@register
class Hypot(Operator):
    """``sqrt(lhs**2 + rhs**2)`` elementwise (same shapes)."""

    name = "_hypot"
    aliases = ("hypot",)
    params: dict = {}

    def arguments(self, p):
        return ["lhs", "rhs"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        known = next((s for s in in_shapes if s is not None), None)
        if known is None:
            return list(in_shapes), [None], aux_shapes
        for s in in_shapes:
            if s is not None and tuple(s) != tuple(known):
                raise ValueError(f"hypot: shapes {in_shapes} differ")
        return [tuple(known)] * 2, [tuple(known)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        a, b = inputs
        return [np.hypot(a, b).astype(a.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, b = inputs
        y = outputs[0]
        with np.errstate(**_QUIET):
            return [(out_grads[0] * a / y).astype(a.dtype), (out_grads[0] * b / y).astype(b.dtype)]
