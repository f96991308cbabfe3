"""gamma / gammaln and their gradients at the poles 0, -0, -1, -2 (values printed by MXNet
1.9.1 for the same input; MXNet's sparse mathematical-core test feeds all-zero arrays)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd

X = [0.0, -0.0, -1.0, -2.0, 0.5]
INF, NAN = np.inf, np.nan


@pytest.mark.parametrize("op, value, grad", [
    ("gamma", [INF, -INF, NAN, NAN, 1.7724538], [INF, -INF, NAN, NAN, -3.480232]),
    ("gammaln", [INF, INF, INF, INF, 0.5723649], [INF, INF, INF, INF, -1.9635108]),
], ids=["gamma", "gammaln"])
def test_poles_match_mxnet(op, value, grad):
    x = mx.nd.array(X)
    x.attach_grad()
    with autograd.record():
        y = getattr(mx.nd, op)(x)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), value, rtol=1e-5)
    np.testing.assert_allclose(x.grad.asnumpy(), grad, rtol=1e-5)
