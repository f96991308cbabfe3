"""The tape lets an operator write a parameter's gradient straight into its ``grad`` buffer
(issue 14) only where that is the whole gradient: same numbers as NumPy in every case below."""

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd


def _fc(x, w, b):
    return mx.nd.FullyConnected(x, w, b, num_hidden=w.shape[0])


def _once(x, w, b, _):
    return _fc(x, w, b)


def _shared(x, w, b, _):  # the same weight in two layers: its two contributions add up
    return _fc(mx.nd.relu(_fc(x, w, b)), w, b)


def _grad_buffer_as_input(x, w, b, _):  # the multiply's backward reads w.grad's memory
    return _fc(x * w.grad[0:1], w, b)  # after the FC's backward, which must not write there


CASES = {"once": _once, "shared-weight": _shared, "grad-buffer-as-input": _grad_buffer_as_input}


def _numpy_grads(case, x, w, b, gw_before):
    """Gradients of sum(out**2) by hand."""
    if case == "once":
        y = x @ w.T + b
        dy = 2 * y
        return dy.T @ x, dy.sum(0), dy @ w
    if case == "shared-weight":
        h = x @ w.T + b
        r = np.maximum(h, 0)
        y = r @ w.T + b
        dy = 2 * y
        dr = dy @ w
        dh = dr * (h > 0)
        return dy.T @ r + dh.T @ x, dy.sum(0) + dh.sum(0), dh @ w
    r = gw_before[0:1]
    h = x * r
    dy = 2 * (h @ w.T + b)
    return dy.T @ h, dy.sum(0), (dy @ w) * r


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_match_numpy(case):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    w = rng.standard_normal((4, 4))
    b = rng.standard_normal(4)
    X, W, B = (mx.nd.array(a, dtype="float64") for a in (x, w, b))
    for a in (X, W, B):
        a.attach_grad()
    W.grad[:] = rng.standard_normal((4, 4))  # stale contents a wrong write would keep or read
    gw_before = W.grad.asnumpy()
    buf = W.grad._data
    with autograd.record():
        out = CASES[case](X, W, B, None)
        loss = (out * out).sum()
    loss.backward()
    gw, gb, gx = _numpy_grads(case, x, w, b, gw_before)
    np.testing.assert_allclose(X.grad.asnumpy(), gx, rtol=1e-10)
    np.testing.assert_allclose(W.grad.asnumpy(), gw, rtol=1e-10)
    np.testing.assert_allclose(B.grad.asnumpy(), gb, rtol=1e-10)
    assert W.grad._data is buf  # the buffer the user holds, written in place


def test_grad_req_add_accumulates():
    x = mx.nd.ones((2, 3), dtype="float64")
    w = mx.nd.ones((2, 3), dtype="float64")
    w.attach_grad(grad_req="add")
    for _ in range(2):
        with autograd.record():
            y = mx.nd.FullyConnected(x, w, num_hidden=2, no_bias=True).sum()
        y.backward()
    np.testing.assert_allclose(w.grad.asnumpy(), 4.0)


def test_variable_also_a_head():
    x = mx.nd.ones((2, 3), dtype="float64")
    w = mx.nd.ones((2, 3), dtype="float64")
    w.attach_grad()
    with autograd.record():
        y = mx.nd.FullyConnected(x, w, num_hidden=2, no_bias=True)
    autograd.backward([y, w])
    np.testing.assert_allclose(w.grad.asnumpy(), 3.0)  # 2 (from y) + 1 (head w)


def test_autograd_grad_leaves_buffers_alone():
    x = mx.nd.ones((2, 3), dtype="float64")
    w = mx.nd.ones((2, 3), dtype="float64")
    w.attach_grad()
    w.grad[:] = 7
    with autograd.record():
        y = mx.nd.FullyConnected(x, w, num_hidden=2, no_bias=True).sum()
    (g,) = autograd.grad(y, [w])
    np.testing.assert_allclose(g.asnumpy(), 2.0)
    np.testing.assert_allclose(w.grad.asnumpy(), 7.0)
