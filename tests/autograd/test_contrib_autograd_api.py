"""``mx.contrib.autograd``, MXNet's first autograd API, over mxlite.autograd (own tests)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.contrib import autograd as cag

CASES = {
    "square": (lambda x: x * x, lambda x: [2 * x], 1),
    "exp": (lambda x: mx.nd.exp(x), lambda x: [mx.nd.exp(x)], 1),
    "product": (lambda x, y: x * y + x, lambda x, y: [y + 1, x], 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_grad_and_loss_gives_gradients_and_value(name):
    func, grad_func, nargs = CASES[name]
    args = [mx.nd.array(np.random.default_rng(k).uniform(0.5, 1.5, (2, 3))) for k in range(nargs)]
    grads, value = cag.grad_and_loss(func)(*args)
    np.testing.assert_allclose(value.asnumpy(), func(*args).asnumpy(), rtol=1e-6)
    for got, want in zip(grads, grad_func(*args), strict=True):
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-6)
    assert not mx.autograd.is_recording() and not mx.autograd.is_training()


def test_argnum_picks_the_arguments():
    x, y = mx.nd.array([1.0, 2.0]), mx.nd.array([3.0, 4.0])
    (gy,) = cag.grad(lambda a, b: a * b, argnum=1)(x, y)
    assert gy.asnumpy().tolist() == [1.0, 2.0]
    gx, gy = cag.grad(lambda a, b: a * b, argnum=[0, 1])(x, y)
    assert gx.asnumpy().tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match="argnum 5"):
        cag.grad(lambda a, b: a * b, argnum=5)(x, y)
    with pytest.raises(TypeError, match="NDArrays"):
        cag.grad(lambda a: a * 2)(3.0)


def test_sections_switch_recording_and_training_together():
    assert cag.set_is_training(True) is False
    assert mx.autograd.is_recording() and mx.autograd.is_training()
    assert cag.set_is_training(False) is True
    with cag.train_section():
        assert mx.autograd.is_recording() and mx.autograd.is_training()
        with cag.test_section():
            assert not mx.autograd.is_recording() and not mx.autograd.is_training()
        assert mx.autograd.is_recording()
    assert not mx.autograd.is_recording() and not mx.autograd.is_training()


def test_mark_variables_and_backward_with_head_gradient():
    x = mx.nd.array([1.0, 2.0, 3.0])
    gx = mx.nd.zeros(3)
    cag.mark_variables([x], [gx])
    with cag.train_section():
        y = x * x
    cag.backward([y], [mx.nd.array([1.0, 0.5, 0.0])])
    assert gx.asnumpy().tolist() == [2.0, 2.0, 0.0]


def test_legacy_flat_random_names():
    mx.random.seed(3)
    a = mx.nd.uniform(shape=(2, 3))
    mx.random.seed(3)
    b = mx.nd.random.uniform(shape=(2, 3))
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    assert mx.nd.normal(0, 1, (4,)).shape == (4,)
