"""Recording rules MXNet 1.9.1's own tests rely on: CachedOp and topk/sort/argsort calls are
recorded, the outputs of a freed graph are constants in later recordings, and assigning into
recorded arrays fails with MXNet's message."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx


def test_a_recorded_cached_op_call_back_propagates_like_its_operators():
    sym = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc") * 2
    op = mx.nd.CachedOp(sym)
    rng = np.random.RandomState(0)
    x = mx.nd.array(rng.standard_normal((4, 5)))
    w = mx.nd.array(rng.standard_normal((3, 5)))
    b = mx.nd.array(rng.standard_normal(3))
    head = mx.nd.array(rng.standard_normal((4, 3)))
    grads = []
    for call in (lambda: op(x, w, b),
                 lambda: mx.nd.FullyConnected(x, w, b, num_hidden=3) * 2):
        for a in (w, b):
            a.attach_grad()
        with mx.autograd.record():
            out = call()
        out.backward(head)
        grads.append((out.asnumpy(), w.grad.asnumpy(), b.grad.asnumpy()))
    for got, want in zip(*grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert op(x, w, b)._ag is None  # outside record: not recorded


@pytest.mark.parametrize("call,weights", [
    (lambda a: mx.nd.topk(a, k=2, ret_typ="value"), [[10.0, 1.0]]),
    (lambda a: mx.nd.topk(a, axis=None, k=3, ret_typ="both")[0], [1.0, 2.0, 3.0]),
    (lambda a: a.sort(axis=1, is_ascend=False), [[1.0, 2.0, 3.0, 4.0]]),
], ids=["topk_value", "topk_both_flat", "sort"])
def test_topk_and_sort_values_send_their_gradient_where_they_came_from(call, weights):
    data = np.array([[0.3, 0.9, 0.1, 0.5], [0.8, 0.2, 0.7, 0.4]])
    a = mx.nd.array(data)
    a.attach_grad()
    with mx.autograd.record():
        out = call(a)
        loss = (out * mx.nd.array(np.broadcast_to(weights, out.shape))).sum()
    loss.backward()
    numeric = np.zeros_like(data)
    eps = 1e-3
    for i in np.ndindex(data.shape):
        for sign in (1, -1):
            shifted = data.copy()
            shifted[i] += sign * eps
            o = call(mx.nd.array(shifted)).asnumpy()
            numeric[i] += sign * (o * np.broadcast_to(weights, o.shape)).sum() / (2 * eps)
    np.testing.assert_allclose(a.grad.asnumpy(), numeric, rtol=1e-3, atol=1e-4)


def test_outputs_of_a_freed_graph_are_constants_later():
    x = mx.nd.array([1.0, 2.0])
    w = mx.nd.array([3.0, 4.0])
    x.attach_grad()
    w.attach_grad()
    with mx.autograd.record():
        y = x * 2
    y.backward()
    with mx.autograd.record():
        z = (y + 1) * w  # y: freed, a constant now
    z.backward()
    np.testing.assert_array_equal(w.grad.asnumpy(), [3.0, 5.0])
    np.testing.assert_array_equal(x.grad.asnumpy(), [2.0, 2.0])  # from the first backward only
    with pytest.raises(mx.base.MXNetError, match="already been back-propagated"):
        y.backward()
    with mx.autograd.record():
        only_y = y * 3
    with pytest.raises(mx.base.MXNetError, match="not the result of a recorded computation"):
        only_y.backward()


def test_assigning_into_recorded_arrays_fails_with_mxnets_message():
    x = mx.nd.zeros((3,))
    y = mx.nd.ones((2,))
    y.attach_grad()
    with mx.autograd.record(), pytest.raises(mx.base.MXNetError, match=r"Inplace operations "
                                             r"\(\+=, -=, x\[:\]=, etc\) are not supported"):
        x[1:] = y


def test_fresh_grad_is_set_by_backward_and_settable():
    x, y = mx.nd.ones((2,)), mx.nd.ones((2,))
    dx, dy = mx.nd.zeros((2,)), mx.nd.zeros((2,))
    mx.autograd.mark_variables([x, y], [dx, dy])
    assert x._fresh_grad is False and mx.nd.ones((1,))._fresh_grad is False
    with mx.autograd.record():
        (x * 2 + y).backward()
    assert x._fresh_grad and y._fresh_grad
    x._fresh_grad = False
    y._fresh_grad = False
    with mx.autograd.record():
        ((x * 2).detach() + y).backward()
    assert y._fresh_grad and not x._fresh_grad


def test_get_symbol_rebuilds_the_recorded_operators():
    x = mx.nd.array([3.0, -1.0])
    x.attach_grad()
    w = mx.nd.ones((2, 2))
    with mx.autograd.record():
        y = (x * x + 2 * x - 1).relu()
        z = mx.nd.dot(w, x.reshape((2, 1)))
    sym = mx.autograd.get_symbol(y)
    assert sym.list_arguments() == ["var0"]
    np.testing.assert_array_equal(sym.eval(var0=mx.nd.array([1.0, -5.0]))[0].asnumpy(),
                                  [2.0, 14.0])
    dot = mx.autograd.get_symbol(z)
    assert sorted(dot.list_arguments()) == ["null0", "var0"]  # w was not recorded: a constant
    with pytest.raises(mx.base.MXNetError, match="not the result of a recorded computation"):
        mx.autograd.get_symbol(w)
    with mx.autograd.record():
        picked = x[1:] * 2
    with pytest.raises(mx.base.MXNetError, match="is not an operator"):
        mx.autograd.get_symbol(picked)
