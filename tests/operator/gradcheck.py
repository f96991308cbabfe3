"""Numerical gradient checking directly on the operator contract (no Symbol needed).

``check_gradient("FullyConnected", {"num_hidden": 4}, [x, w, b])`` runs the operator's
``forward`` on float64 inputs, projects the outputs onto fixed random directions ``r_k``
(``L = sum_k sum(r_k * out_k)``), calls ``backward`` with ``out_grads = r_k`` and compares every
input gradient against the central finite difference ``(L(x + eps) - L(x - eps)) / (2 eps)``.

Loss operators (``op.loss``) ignore head gradients, so their gradient is checked against a
scalar ``objective(outputs, inputs)`` whose derivative they implement (e.g. cross-entropy for
SoftmaxOutput).  Random operators are made deterministic by reseeding ``mx.random`` before
every forward call, so the same dropout mask / rrelu slopes are drawn each time.  Auxiliary
states are copied before every forward call (BatchNorm updates them in training).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

import mxlite as mx
from mxlite.operator import registry

__all__ = ["check_gradient", "numeric_gradient", "run_op"]


def run_op(op_name: str | registry.Operator, params: dict, inputs: Sequence[np.ndarray],
           aux=None, is_train: bool = True, seed: int | None = 0):
    """Forward once; returns ``(op, parsed_params, outputs, saved, aux_after)``.

    ``op_name`` is a registered name or an :class:`~mxlite.operator.Operator` instance."""
    op = op_name if isinstance(op_name, registry.Operator) else registry.get(op_name)
    p = op.parse_params(params)
    aux = [np.array(a, copy=True) for a in (aux or [])]
    if seed is not None:
        mx.random.seed(seed)
    outputs, saved = op.forward(p, [np.asarray(x) for x in inputs], aux, is_train)
    return op, p, outputs, saved, aux


def check_shape_error(op_name: str, params: dict, in_shapes: list, match: str) -> None:
    """Shape inference of ``op_name`` on ``in_shapes`` raises a ShapeError matching ``match``."""
    op = registry.get(op_name)
    with pytest.raises(registry.ShapeError, match=match):
        op.infer_shape(op.parse_params(params), in_shapes, [])


def numeric_gradient(f: Callable[[list], float], inputs: list, index: int,
                     eps: float = 1e-6) -> np.ndarray:
    """Central finite differences of the scalar ``f(inputs)`` w.r.t. ``inputs[index]``."""
    x = inputs[index]
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        fp = f(inputs)
        flat[i] = orig - eps
        fm = f(inputs)
        flat[i] = orig
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


def check_gradient(op_name: str | registry.Operator, params: dict,
                   inputs: Sequence[np.ndarray], aux=None, *,
                   wrt: Sequence[int | str] | None = None, is_train: bool = True,
                   objective: Callable | None = None, through: Sequence[int] | None = None,
                   eps: float = 1e-6,
                   rtol: float = 1e-5, atol: float = 1e-7, seed: int = 0) -> list:
    """Compare ``backward`` with finite differences; raises AssertionError naming the input.

    ``inputs`` are converted to float64 copies (integer-valued inputs such as labels keep their
    values).  ``wrt`` selects inputs by position or argument name (default: every input).
    ``objective(outputs, inputs) -> float`` is required for loss operators.  ``through`` limits
    the projection to some outputs (the others get zero head gradient), for operators whose
    extra outputs carry no gradient (BatchNorm's mean / invstd).  Returns the analytic
    gradients.
    """
    inputs = [np.array(x, dtype=np.float64, copy=True) for x in inputs]
    aux0 = [np.array(a, dtype=np.float64, copy=True) for a in (aux or [])]
    op, p, outputs, saved, aux_after = run_op(op_name, params, inputs, aux0, is_train, seed)
    op_name = op.name  # for messages; ``op`` itself is passed to run_op below
    names = op.arguments(p)
    if len(names) != len(inputs):
        raise ValueError(f"{op_name} takes inputs {names}, got {len(inputs)} arrays")
    if wrt is None:
        wrt_idx = list(range(len(inputs)))
    else:
        wrt_idx = [names.index(w) if isinstance(w, str) else int(w) for w in wrt]

    rng = np.random.default_rng(12345)
    if op.loss:
        if objective is None:
            raise ValueError(f"{op_name} is a loss operator: pass objective=")
        head = None
    else:
        head = [rng.standard_normal(o.shape) for o in outputs]
        if through is not None:
            head = [h if i in through else np.zeros_like(h) for i, h in enumerate(head)]

    def scalar(xs):
        _, _, outs, _, _ = run_op(op, params, xs, aux0, is_train, seed)
        if op.loss:
            return float(objective(outs, xs))
        return float(sum(np.sum(h * o) for h, o in zip(head, outs, strict=True)))

    grads = op.backward(p, head, inputs, outputs, aux_after, saved)
    if len(grads) != len(inputs):
        raise AssertionError(f"{op_name}: backward returned {len(grads)} gradients for "
                             f"{len(inputs)} inputs")
    for i in wrt_idx:
        num = numeric_gradient(scalar, inputs, i, eps)
        ana = grads[i]
        if ana is None:
            ana = np.zeros_like(num)
        ana = np.asarray(ana, dtype=np.float64)
        if ana.shape != num.shape:
            raise AssertionError(f"{op_name}: gradient of {names[i]!r} has shape {ana.shape}, "
                                 f"input has {num.shape}")
        err = np.abs(ana - num)
        tol = atol + rtol * np.maximum(np.abs(ana), np.abs(num))
        if not np.all(err <= tol):
            worst = int(np.argmax(err - tol))
            raise AssertionError(
                f"{op_name} {params}: gradient of {names[i]!r} differs from finite differences "
                f"at flat index {worst}: analytic {ana.reshape(-1)[worst]!r}, numeric "
                f"{num.reshape(-1)[worst]!r} (max abs err {err.max():.3g})"
            )
    return grads
