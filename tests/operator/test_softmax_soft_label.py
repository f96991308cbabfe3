"""SoftmaxOutput with a label of the data's shape (class probabilities): gradient
``grad_scale * (softmax - label)``, no normalization; expected values printed by MXNet 1.9.1."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd

X = [[1.0, 2, 3], [0, 0, 1]]
LABEL = [[0.2, 0.3, 0.5], [1, 0, 0]]
UNSCALED = [[-0.10996943, -0.05527154, 0.16524094], [-0.78805846, 0.21194156, 0.57611686]]


@pytest.mark.parametrize("kw, scale", [
    ({"grad_scale": 2.0}, 2.0),
    ({"preserve_shape": True, "normalization": "batch"}, 1.0),
    ({"normalization": "valid", "use_ignore": True, "ignore_label": 0}, 1.0)],
    ids=["grad_scale", "preserve-batch", "valid-ignore"])
def test_soft_label_gradient_matches_mxnet(kw, scale):
    x = mx.nd.array(X)
    x.attach_grad()
    with autograd.record():
        y = mx.nd.SoftmaxOutput(x, mx.nd.array(LABEL), **kw)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), [[0.09003057, 0.24472848, 0.66524094],
                                             [0.21194156, 0.21194156, 0.57611686]], rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), scale * np.array(UNSCALED), rtol=1e-5)


def test_soft_label_shape_inference():
    sym = mx.sym.SoftmaxOutput(mx.sym.Variable("x"), mx.sym.Variable("l"))
    assert sym.infer_shape(x=(6, 9), l=(6, 9))[0] == [(6, 9), (6, 9)]
    assert sym.infer_shape(x=(6, 9))[0] == [(6, 9), (6,)]
