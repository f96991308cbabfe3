"""FullyConnected with the relu fused in (``forward(relu=True)``, ``backward_relu``): the bits of
FullyConnected followed by Activation(relu), forward and gradients, and a numerical check."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import numeric_gradient

from mxlite.operator.nn import _activation_kernels as ak
from mxlite.operator.nn import fully_connected as fcmod
from mxlite.operator.registry import get

RNG = np.random.default_rng(17)
FC = get("FullyConnected")
ACT = get("Activation")
RELU = ACT.parse_params({"act_type": "relu"})

# id, FullyConnected params, data shape, weight shape
CASES = [
    ("mlp-like", {"num_hidden": 64}, (16, 40), (64, 40)),
    ("flatten-4d", {"num_hidden": 9}, (5, 2, 3, 4), (9, 24)),
    ("no-flatten", {"num_hidden": 7, "flatten": False}, (3, 4, 6), (7, 6)),
    ("no-bias", {"num_hidden": 8, "no_bias": True}, (6, 5), (8, 5)),
    ("one-row", {"num_hidden": 5}, (1, 3), (5, 3)),
    ("transposed-gemm", {"num_hidden": 1024}, (4, fcmod.TRANSPOSED_ELEMENTS // 1024),
     (1024, fcmod.TRANSPOSED_ELEMENTS // 1024)),
]
DTYPES = ["float32", "float64", "float16"]


def _inputs(params, dshape, wshape, dtype):
    x = RNG.standard_normal(dshape).astype(dtype)
    w = (RNG.standard_normal(wshape) / np.sqrt(wshape[1])).astype(dtype)
    ins = [x, w]
    if not params.get("no_bias"):
        ins.append(RNG.standard_normal(wshape[0]).astype(dtype))
    return ins


def _unfused(p, ins, dy):
    (mid,), _ = FC.forward(p, ins, [], True)
    (y,), _ = ACT.forward(RELU, [mid.copy()], [], True)
    (dmid,) = ACT.backward(RELU, [dy], [y], [y], [], None)
    return y, dmid, FC.backward(p, [dmid], ins, [mid], [], None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fused_equals_fc_then_relu_bit_for_bit(case, dtype):
    _, params, dshape, wshape = case
    p = FC.parse_params(params)
    ins = _inputs(params, dshape, wshape, dtype)
    (y,), _ = FC.forward(p, ins, [], True, relu=True)
    dy = RNG.standard_normal(y.shape).astype(dtype)
    want_y, want_dmid, want = _unfused(p, ins, dy)
    assert y.dtype == want_y.dtype and y.shape == want_y.shape
    np.testing.assert_array_equal(y, want_y)
    assert (y > 0).any() and (y == 0).any()
    grads, dmid = FC.backward_relu(p, dy, ins, y)
    np.testing.assert_array_equal(dmid, want_dmid)
    assert len(grads) == len(want)
    for g, h in zip(grads, want, strict=True):
        assert g.dtype == h.dtype and g.shape == h.shape
        np.testing.assert_array_equal(g, h)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bias_gradient_keeps_numpys_bits_and_zero_signs(dtype):
    """The bias gradient of the one pass is NumPy's ``add.reduce(axis=0)`` of the relu
    gradient, bit for bit, a column of negative zeros included."""
    y = np.abs(RNG.standard_normal((300, 33))).astype(dtype) + 0.5
    dy = (RNG.standard_normal((300, 33)) * 10 ** RNG.uniform(-6, 6, (300, 33))).astype(dtype)
    dy[:, 3] = -0.0
    y[::2, 5] = 0.0
    dx, db = np.empty_like(dy), np.empty(33, dtype)
    ak.relu_grad_bias(y, dy, dx, db)
    want_dx = np.where(y > 0, dy, 0).astype(dtype)
    np.testing.assert_array_equal(dx, want_dx)
    np.testing.assert_array_equal(db, np.add.reduce(want_dx, axis=0))
    assert np.signbit(db[3])


def test_buffers_are_reused():
    p = FC.parse_params({"num_hidden": 6})
    ins = _inputs({}, (4, 5), (6, 5), "float32")
    out = [np.empty((4, 6), np.float32)]
    (y,), _ = FC.forward(p, ins, [], True, out=out, relu=True)
    assert y is out[0]
    dy = RNG.standard_normal(y.shape).astype(np.float32)
    gout = [np.empty((4, 5), np.float32), np.empty((6, 5), np.float32), np.empty(6, np.float32)]
    mid = np.empty((4, 6), np.float32)
    grads, dmid = FC.backward_relu(p, dy, ins, y, gout=gout, mid=mid)
    assert dmid is mid
    assert all(g is b for g, b in zip(grads, gout, strict=True))


def test_first_layer_skips_the_data_gradient():
    p = FC.parse_params({"num_hidden": 6})
    ins = _inputs({}, (4, 5), (6, 5), "float32")
    (y,), _ = FC.forward(p, ins, [], True, relu=True)
    grads, _ = FC.backward_relu(p, np.ones_like(y), ins, y, need=[False, True, True])
    assert grads[0] is None and grads[1] is not None and grads[2] is not None


@pytest.mark.parametrize("params", [{"num_hidden": 4}, {"num_hidden": 4, "no_bias": True}],
                         ids=["bias", "no-bias"])
def test_numerical_gradient(params):
    """float64, inputs kept away from relu's kink."""
    p = FC.parse_params(params)
    ins = _inputs(params, (3, 5), (4, 5), "float64")
    (y,), _ = FC.forward(p, ins, [], True, relu=True)
    r = RNG.standard_normal(y.shape)

    def loss(vals):
        (out,), _ = FC.forward(p, vals, [], True, relu=True)
        return float((out * r).sum())

    grads, _ = FC.backward_relu(p, r, ins, y)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, numeric_gradient(loss, list(ins), k), rtol=1e-6,
                                   atol=1e-8)
