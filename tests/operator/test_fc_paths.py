"""FullyConnected's two GEMM operand orders give the same numbers.

Large weights with few data rows run ``(weight @ data^T)^T`` and ``(data^T @ dy)^T``
(:data:`mxlite.operator.nn.fully_connected.TRANSPOSED_ELEMENTS`); both orders are forced here
and compared in float64 with plain NumPy for the output and the three gradients, with the
executor's planned buffers and without them, and checked by numerical gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradient

from mxlite.operator import get
from mxlite.operator.nn import fully_connected as fc


@pytest.fixture(params=["direct", "transposed"])
def order(request, monkeypatch):
    transposed = request.param == "transposed"
    monkeypatch.setattr(fc, "TRANSPOSED_ELEMENTS", 0 if transposed else 1 << 62)
    monkeypatch.setattr(fc, "TRANSPOSED_ROWS", 1 << 30 if transposed else 0)
    return request.param


# id, data shape, num_hidden, no_bias, flatten, bias shape
CASES = [
    ("2d", (5, 7), 4, False, True, (4,)),
    ("4d_flatten", (3, 2, 3, 2), 6, False, True, (6,)),
    ("no_bias", (4, 9), 3, True, True, None),
    ("bias_column", (2, 5), 3, False, True, (3, 1)),
    ("no_flatten", (2, 3, 5), 4, False, False, (4,)),
]


@pytest.mark.parametrize("planned", [False, True], ids=["fresh", "planned"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fc_orders_match_numpy(case, planned, order):
    _, shape, hidden, no_bias, flatten, bias_shape = case
    rng = np.random.default_rng(len(shape) + hidden)
    x = rng.standard_normal(shape)
    k = int(np.prod(shape[1:])) if flatten else shape[-1]
    w = rng.standard_normal((hidden, k))
    inputs = [x, w] if no_bias else [x, w, rng.standard_normal(bias_shape)]
    op = get("FullyConnected")
    p = op.parse_params({"num_hidden": hidden, "no_bias": no_bias, "flatten": flatten})
    x2 = x.reshape(shape[0], -1) if flatten else x.reshape(-1, k)
    want = x2 @ w.T + (0 if no_bias else inputs[2].reshape(-1))
    out_shape = (shape[0], hidden) if flatten else (*shape[:-1], hidden)
    outs = [np.full(out_shape, np.nan)] if planned else None
    (y,), saved = op.forward(p, inputs, [], True, out=outs)
    if planned:
        assert y is outs[0]
    np.testing.assert_allclose(y.reshape(-1, hidden), want, rtol=1e-12, atol=1e-12)
    dy = rng.standard_normal(y.shape)
    gout = [np.full(a.shape, np.nan) for a in inputs] if planned else None
    grads = op.backward(p, [dy], inputs, [y], [], saved, gout=gout)
    dy2 = dy.reshape(-1, hidden)
    np.testing.assert_allclose(grads[0].reshape(x2.shape), dy2 @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[1], dy2.T @ x2, rtol=1e-12, atol=1e-12)
    if planned:
        assert grads[1] is gout[1]
    if not no_bias:
        np.testing.assert_allclose(grads[2].reshape(-1), dy2.sum(axis=0), rtol=1e-12)
        assert grads[2].shape == inputs[2].shape


def test_fc_transposed_order_gradients_float64(order):
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    check_gradient("FullyConnected", {"num_hidden": 5}, [x, w, b], rtol=1e-6, atol=1e-8)


def test_fc_transposed_order_is_taken_for_vgg_fc(monkeypatch):
    """VGG's 16384 -> 512 layer at batch 32 takes the transposed order; the MLP's does not."""
    calls = []
    real = fc.FullyConnected._transposed
    monkeypatch.setattr(fc.FullyConnected, "_transposed",
                        staticmethod(lambda x2, w: calls.append(real(x2, w)) or calls[-1]))
    op = get("FullyConnected")
    for rows, k, hidden, taken in ((32, 16384, 512, True), (128, 784, 512, False)):
        calls.clear()
        p = op.parse_params({"num_hidden": hidden, "no_bias": True})
        op.forward(p, [np.ones((rows, k), np.float32), np.ones((hidden, k), np.float32)], [],
                   False)
        assert calls == [taken]
