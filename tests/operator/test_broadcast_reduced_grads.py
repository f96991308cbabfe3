"""Broadcast add / sub / mul gradients reduced without full-size temporaries: float64
numerical gradient checks over a table of broadcast shapes, and float32 agreement with the
plain ``sum(og * other)`` statement."""

import numpy as np
import pytest
from gradcheck import check_gradient

from mxlite.operator.registry import get

RNG = np.random.default_rng(31)

SHAPES = [
    ("row", (3, 4), (1, 4)),
    ("column", (3, 4), (3, 1)),
    ("both_sides", (2, 1, 4), (3, 1)),
    ("channel", (2, 3, 4, 5), (1, 3, 1, 1)),
    ("fewer_axes", (5,), (2, 5)),
    ("scalar_like", (1,), (3, 2)),
]
OPS = ["broadcast_add", "broadcast_sub", "broadcast_mul"]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("case", SHAPES, ids=[c[0] for c in SHAPES])
def test_broadcast_gradients(op, case):
    _, sa, sb = case
    check_gradient(op, {}, [RNG.standard_normal(sa), RNG.standard_normal(sb)])


@pytest.mark.parametrize("case", SHAPES, ids=[c[0] for c in SHAPES])
def test_broadcast_mul_float32_matches_plain_reduction(case):
    _, sa, sb = case
    a = RNG.standard_normal(sa).astype(np.float32)
    b = RNG.standard_normal(sb).astype(np.float32)
    op = get("broadcast_mul")
    p = op.parse_params({})
    (y,), saved = op.forward(p, [a, b], [], True)
    og = RNG.standard_normal(y.shape).astype(np.float32)
    ga, gb = op.backward(p, [og], [a, b], [y], [], saved)

    def plain(other, shape):
        g = og.astype(np.float64) * other
        lead = g.ndim - len(shape)
        g = g.sum(axis=tuple(range(lead)))
        axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
        return g.sum(axis=axes, keepdims=True).reshape(shape)

    for got, want, x in ((ga, plain(b, sa), a), (gb, plain(a, sb), b)):
        assert got.shape == x.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
