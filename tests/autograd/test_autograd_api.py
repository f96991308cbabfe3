"""mx.autograd's scopes, variables, grad_req, Function and error cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite import autograd as ag


@pytest.mark.parametrize(("scope", "recording", "training"), [
    (lambda: ag.record(), True, True),
    (lambda: ag.record(train_mode=False), True, False),
    (lambda: ag.train_mode(), False, True),
    (lambda: ag.predict_mode(), False, False),
], ids=["record", "record_predict", "train_mode", "predict_mode"])
def test_scopes_set_and_restore_state(scope, recording, training):
    assert not ag.is_recording() and not ag.is_training()
    with scope():
        assert ag.is_recording() is recording
        assert ag.is_training() is training
    assert not ag.is_recording() and not ag.is_training()


def test_pause_inside_record():
    with ag.record():
        with ag.pause():
            assert not ag.is_recording() and not ag.is_training()
        with ag.pause(train_mode=True):
            assert ag.is_training()
        assert ag.is_recording()


def test_set_recording_and_training_return_previous():
    assert ag.set_recording(True) is False
    assert ag.set_training(True) is False
    assert ag.set_recording(False) is True
    assert ag.set_training(False) is True


def test_paused_computation_is_constant():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y = x * 2
        with ag.pause():
            z = x * 10
        w = (y + z).sum()
    w.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [2.0, 2.0])


def test_detach_blocks_gradient():
    x = mx.nd.array([3.0])
    x.attach_grad()
    with ag.record():
        y = x * x
        z = y.detach() * x
    z.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [9.0])


@pytest.mark.parametrize(("req", "expected"), [("write", 4.0), ("add", 8.0), ("null", 0.0)])
def test_grad_req(req, expected):
    x = mx.nd.array([2.0])
    x.attach_grad(grad_req=req)
    for _ in range(2):
        with ag.record():
            y = x * x
        y.backward()
    assert x.grad.asscalar() == expected


def test_backward_twice_needs_retain_graph():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad(grad_req="add")
    with ag.record():
        y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [4.0, 8.0])
    with pytest.raises(mx.MXNetError, match="retain_graph"):
        y.backward()


def test_backward_of_unrecorded_array_raises():
    with pytest.raises(mx.MXNetError, match="attach_grad"):
        mx.nd.ones((2,)).backward()


def test_grad_returns_new_arrays_and_leaves_buffers():
    x = mx.nd.array([1.0, 2.0, 3.0])
    y = mx.nd.array([4.0, 5.0, 6.0])
    x.attach_grad()
    y.attach_grad()
    with ag.record():
        z = (x * y).sum()
    gx, gy = ag.grad(z, [x, y])
    np.testing.assert_array_equal(gx.asnumpy(), y.asnumpy())
    np.testing.assert_array_equal(gy.asnumpy(), x.asnumpy())
    np.testing.assert_array_equal(x.grad.asnumpy(), [0, 0, 0])
    with ag.record():
        z = (x * x).sum()
    # one variable: still a list of one, as MXNet 1.9.1 returns it (code indexes it with [0])
    (gx,) = ag.grad(z, x)
    np.testing.assert_array_equal(gx.asnumpy(), 2 * x.asnumpy())


def test_mark_variables_and_head_grads():
    x = mx.nd.array([1.0, 2.0])
    buf = mx.nd.zeros((2,))
    ag.mark_variables([x], [buf])
    with ag.record():
        y = x * 3
    ag.backward([y], [mx.nd.array([1.0, 10.0])])
    np.testing.assert_array_equal(buf.asnumpy(), [3.0, 30.0])
    with pytest.raises(ValueError, match="gradients"):
        ag.mark_variables([x], [])


def test_bad_grad_req():
    with pytest.raises(ValueError, match="grad_req"):
        mx.nd.ones((1,)).attach_grad(grad_req="sometimes")


def test_dropout_follows_training_mode():
    x = mx.nd.ones((200,))
    x.attach_grad()
    with ag.record():
        y = mx.nd.Dropout(x, p=0.5)
    assert (y.asnumpy() == 0).any()
    with ag.record(train_mode=False):
        y = mx.nd.Dropout(x, p=0.5)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())


def test_inplace_add_is_recorded():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y = x * 2
        y += x * x
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [4.0, 6.0])


class _Square(ag.Function):
    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, dy):
        (x,) = self.saved_tensors
        return 2 * x * dy


def test_function_custom_backward():
    x = mx.nd.array([1.0, -3.0])
    x.attach_grad()
    with ag.record():
        y = _Square()(x) * 5
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [10.0, -30.0])


def test_function_instance_single_use():
    f = _Square()
    f(mx.nd.ones((1,)))
    with pytest.raises(mx.MXNetError, match="only once"):
        f(mx.nd.ones((1,)))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=6))
def test_polynomial_gradient_property(values):
    x = mx.nd.array(values, dtype="float64")
    x.attach_grad()
    with ag.record():
        y = (x ** 3 - 2 * x * x + mx.nd.sin(x)).sum()
    y.backward()
    v = np.asarray(values, dtype=np.float64)
    np.testing.assert_allclose(x.grad.asnumpy(), 3 * v ** 2 - 4 * v + np.cos(v), rtol=1e-9,
                               atol=1e-9)


def test_unrecorded_calls_stay_fast_path():
    x = mx.nd.ones((2,))
    x.attach_grad()
    y = x * 2  # not recording: no entry
    assert y._ag is None


def test_inplace_on_variable_and_setitem_are_rejected_while_recording():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        with pytest.raises(mx.MXNetError, match="in-place"):
            x += 1
        y = x * 2
        with pytest.raises(mx.MXNetError, match="assigning"):
            y[0] = 5
    x[0] = 3  # outside record: a plain write
    assert x.asnumpy()[0] == 3


class _Cube(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * in_data[0] * in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * in_data[0] * in_data[0] * 3)


@mx.operator.register("autograd_test_cube")
class _CubeProp(mx.operator.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=True)

    def create_operator(self, ctx, shapes, dtypes):
        return _Cube()


def test_custom_operator_is_recorded():
    x = mx.nd.array([1.0, -2.0])
    x.attach_grad()
    with ag.record():
        y = mx.nd.Custom(x, op_type="autograd_test_cube") * 2
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [6.0, 24.0])


@pytest.mark.parametrize("kwargs", [{}, {"axis": 1}, {"axis": (0, 2), "keepdims": True},
                                    {"axis": 1, "exclude": True}],
                         ids=["all", "axis1", "axes02_keepdims", "exclude"])
def test_prod_gradient_exact_at_zeros(kwargs):
    """float64 finite differences; one zero per group gets the product of the others."""
    rng = np.random.default_rng(3)
    base = rng.uniform(-1, 1, size=(2, 3, 2))
    base[0, 1, 0] = 0.0
    x = mx.nd.array(base, dtype="float64")
    x.attach_grad()
    head = rng.standard_normal(mx.nd.prod(x, **kwargs).shape)
    with ag.record():
        y = mx.nd.prod(x, **kwargs)
    y.backward(mx.nd.array(head, dtype="float64"))
    eps = 1e-6
    num = np.zeros_like(base)
    for i in np.ndindex(base.shape):
        plus, minus = base.copy(), base.copy()
        plus[i] += eps
        minus[i] -= eps
        fp = (mx.nd.prod(mx.nd.array(plus, dtype="float64"), **kwargs).asnumpy() * head).sum()
        fm = (mx.nd.prod(mx.nd.array(minus, dtype="float64"), **kwargs).asnumpy() * head).sum()
        num[i] = (fp - fm) / (2 * eps)
    np.testing.assert_allclose(x.grad.asnumpy(), num, rtol=1e-6, atol=1e-9)
