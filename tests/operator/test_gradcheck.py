"""The numerical gradient checker itself catches wrong gradients."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradient, numeric_gradient

from mxlite.operator import Operator, Param


class _Cube(Operator):
    """out = x**3 with a configurable (possibly wrong) backward; never registered."""

    name = "_test_cube"
    params = {"wrong": Param("bool", False)}

    def forward(self, p, inputs, aux, is_train):
        return [inputs[0] ** 3], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        factor = 2.0 if p.wrong else 3.0
        return [factor * inputs[0] ** 2 * out_grads[0]]


@pytest.mark.parametrize("wrong", [False, True], ids=["right", "wrong"])
def test_check_gradient_accepts_right_and_rejects_wrong(wrong):
    x = np.random.default_rng(0).uniform(0.5, 1.5, size=(3, 2))
    if wrong:
        with pytest.raises(AssertionError, match=r"_test_cube.*gradient of 'data'"):
            check_gradient(_Cube(), {"wrong": True}, [x])
    else:
        (g,) = check_gradient(_Cube(), {}, [x])
        assert g.shape == x.shape


def test_numeric_gradient_of_quadratic():
    x = np.array([1.0, -2.0, 0.5])
    g = numeric_gradient(lambda xs: float(np.sum(xs[0] ** 2)), [x], 0)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-8)
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])  # restored
