"""The executor's memory plan: operator outputs and gradients reuse the arrays of the previous
batch, gradients of 'write' arguments go straight into the bound gradient arrays, and the
results equal those of an executor that allocates everything anew (``_reuse = False``)."""

import numpy as np
import pytest

import mxlite as mx
from mxlite.operator import registry


@pytest.fixture(autouse=True)
def _unfused(monkeypatch):
    """These tests pin the memory plan of the unfused steps (the fused plan's:
    tests/test_fusion.py)."""
    monkeypatch.setenv("MXLITE_FUSION", "0")


def _mlp(act="relu"):
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=6, name="fc1")
    h = mx.sym.Activation(h, act_type=act, name="act1")
    h = mx.sym.FullyConnected(h, num_hidden=4, name="fc2")
    return mx.sym.SoftmaxOutput(h, name="softmax")


def _bind(sym, reuse, grad_req="write", dtype=np.float32):
    exe = sym.simple_bind(mx.cpu(), grad_req=grad_req, data=(5, 3),
                          type_dict={"data": dtype})
    exe._reuse = reuse
    rng = np.random.default_rng(0)
    for name, arr in exe.arg_dict.items():
        if name != "data" and name != "softmax_label":
            arr[:] = rng.standard_normal(arr.shape).astype(dtype)
    return exe


def _batches(n=3, dtype=np.float32):
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((5, 3)).astype(dtype), rng.integers(0, 4, 5).astype(dtype))
            for _ in range(n)]


def _run(exe, x, y):
    exe.arg_dict["data"][:] = x
    exe.arg_dict["softmax_label"][:] = y
    exe.forward(is_train=True)
    exe.backward()
    return ([o.asnumpy() for o in exe.outputs],
            {n: g.asnumpy() for n, g in exe.grad_dict.items() if g is not None})


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("grad_req", ["write", "add"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_reused_buffers_give_the_same_numbers(act, grad_req, dtype):
    """Several batches through the planned executor equal the allocate-anew executor."""
    sym = _mlp(act)
    planned, fresh = _bind(sym, True, grad_req, dtype), _bind(sym, False, grad_req, dtype)
    for x, y in _batches(dtype=dtype):
        out_p, g_p = _run(planned, x, y)
        out_f, g_f = _run(fresh, x, y)
        for a, b in zip(out_p, out_f, strict=True):
            np.testing.assert_array_equal(a, b)
        assert g_p.keys() == g_f.keys()
        for n in g_p:
            np.testing.assert_array_equal(g_p[n], g_f[n], err_msg=n)


def test_outputs_and_intermediates_are_the_same_arrays_every_batch():
    exe = _bind(_mlp(), True)
    seen = []
    for x, y in _batches():
        _run(exe, x, y)
        seen.append(([id(b) for s in exe._steps if s.obufs for b in s.obufs],
                     exe.outputs[0]._data, exe.grad_dict["fc1_weight"]._data))
    assert len(seen[0][0]) == 3  # fc1, act1, fc2 write into their arrays of batch 1
    assert all(s[0] == seen[0][0] for s in seen)
    # head outputs are new arrays every forward (callers keep them)
    assert len({id(s[1]) for s in seen}) == 3
    assert all(s[2] is seen[0][2] for s in seen)  # grad_dict arrays keep their identity


def test_no_reuse_allocates_anew():
    exe = _bind(_mlp(), False)
    ids = set()
    kept = []
    for x, y in _batches():
        _run(exe, x, y)
        kept.append(exe._values[exe._steps[0].out_slots[0]])
        ids.add(id(kept[-1]))
    assert len(ids) == 3
    assert all(s.obufs is None for s in exe._steps)


def test_write_gradients_go_straight_into_the_bound_arrays(monkeypatch):
    """FullyConnected's backward gets the bound gradient arrays of its weight and bias (req
    'write', one consumer) as destinations, and an array of its own for the data gradient."""
    op = registry.get("FullyConnected")
    real = type(op).backward
    calls = []

    def spy(self, p, out_grads, inputs, outputs, aux, saved, need=None, gout=None):
        grads = real(self, p, out_grads, inputs, outputs, aux, saved, need=need, gout=gout)
        calls.append((gout, grads))
        return grads

    monkeypatch.setattr(type(op), "backward", spy)
    exe = _bind(_mlp(), True, grad_req={"data": "null", "fc1_weight": "write",
                                        "fc1_bias": "write", "fc2_weight": "add",
                                        "fc2_bias": "write"})
    for x, y in _batches(2):
        _run(exe, x, y)
    fc2_gout, fc2_grads = calls[-2]  # backward runs fc2 first
    fc1_gout, fc1_grads = calls[-1]
    gd = exe.grad_dict
    assert fc1_gout[1] is gd["fc1_weight"]._data and fc1_grads[1] is gd["fc1_weight"]._data
    assert fc1_gout[2] is gd["fc1_bias"]._data
    assert fc1_grads[0] is None  # the data gradient is not needed
    assert fc2_gout[1] is not gd["fc2_weight"]._data  # 'add' accumulates, never overwritten
    assert fc2_gout[2] is gd["fc2_bias"]._data and fc2_grads[2] is gd["fc2_bias"]._data
    # the data gradient of fc2 (act1's output) reuses fc2's array of the previous batch
    assert fc2_gout[0] is calls[0][1][0]


def test_shared_argument_gradient_is_summed_not_overwritten():
    """An argument used by two operators gets the sum of both gradients (no direct write)."""
    data = mx.sym.Variable("data")
    w = mx.sym.Variable("w")
    a = mx.sym.FullyConnected(data, weight=w, num_hidden=3, no_bias=True, name="a")
    b = mx.sym.FullyConnected(data, weight=w, num_hidden=3, no_bias=True, name="b")
    net = mx.sym.sum(a * b)
    rng = np.random.default_rng(2)
    x, wv = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    exe = net.simple_bind(mx.cpu(), data=(4, 3), type_dict={"data": np.float64})
    exe.arg_dict["data"][:] = x
    exe.arg_dict["w"][:] = wv
    for _ in range(2):
        exe.forward(is_train=True)
        exe.backward()
    # d/dW sum((xW^T)^2) = 2 (x W^T)^T x
    np.testing.assert_allclose(exe.grad_dict["w"].asnumpy(), 2 * (x @ wv.T).T @ x, rtol=1e-12)


def test_gluon_outputs_are_not_overwritten_by_the_next_call():
    net = mx.gluon.nn.Dense(3, in_units=2)
    net.initialize()
    net.hybridize()
    x1, x2 = mx.nd.array([[1.0, 2.0]]), mx.nd.array([[3.0, -1.0]])
    y1 = net(x1)
    before = y1.asnumpy().copy()
    net(x2)
    np.testing.assert_array_equal(y1.asnumpy(), before)


def _conv_net(with_bias):
    data = mx.sym.Variable("data")
    h = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=4, no_bias=not with_bias,
                           name="c1")
    h = mx.sym.BatchNorm(h, fix_gamma=False, name="bn1")
    h = mx.sym.Activation(h, act_type="relu", name="r1")
    h = mx.sym.Convolution(h, kernel=(3, 3), stride=(2, 2), num_filter=3, name="c2")
    h = mx.sym.FullyConnected(h, num_hidden=4, name="fc")
    return mx.sym.SoftmaxOutput(h, name="softmax")


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
def test_conv_batchnorm_reuse_matches_fresh_executor(with_bias):
    sym = _conv_net(with_bias)
    exes = []
    for reuse in (True, False):
        exe = sym.simple_bind(mx.cpu(), data=(3, 2, 6, 6), type_dict={"data": np.float64})
        exe._reuse = reuse
        rng = np.random.default_rng(4)
        for name, arr in exe.arg_dict.items():
            if name not in ("data", "softmax_label"):
                arr[:] = rng.standard_normal(arr.shape)
        exes.append(exe)
    rng = np.random.default_rng(5)
    bufs = None
    for _ in range(3):
        x, y = rng.standard_normal((3, 2, 6, 6)), rng.integers(0, 4, 3).astype(np.float64)
        res = [_run(e, x, y) for e in exes]
        np.testing.assert_array_equal(res[0][0][0], res[1][0][0])
        for n in res[1][1]:
            np.testing.assert_array_equal(res[0][1][n], res[1][1][n], err_msg=n)
        for n in ("bn1_moving_mean", "bn1_moving_var"):
            np.testing.assert_array_equal(exes[0].aux_dict[n].asnumpy(),
                                          exes[1].aux_dict[n].asnumpy())
        now = [(s.name, id(s.obufs[0])) for s in exes[0]._steps if s.obufs]
        assert bufs is None or now == bufs
        bufs = now
    assert [n for n, _ in bufs] == ["c1", "bn1", "r1", "c2", "fc"]


@pytest.mark.parametrize("op", ["elemwise_add", "elemwise_sub", "elemwise_mul",
                                "broadcast_add", "broadcast_maximum"])
def test_binary_outputs_reuse_their_array(op):
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    net = mx.sym.sum(getattr(mx.sym, op)(a, b) * 2)
    bshape = (3, 1) if op.startswith("broadcast") else (3, 4)
    exe = net.simple_bind(mx.cpu(), a=(3, 4), b=bshape)
    rng = np.random.default_rng(6)
    ids = set()
    for _ in range(3):
        av, bv = rng.standard_normal((3, 4)), rng.standard_normal(bshape)
        exe.arg_dict["a"][:] = av
        exe.arg_dict["b"][:] = bv
        exe.forward(is_train=True)
        exe.backward()
        f = {"add": np.add, "sub": np.subtract, "mul": np.multiply,
             "maximum": np.maximum}[op.split("_")[1]]
        np.testing.assert_allclose(exe.outputs[0].asnumpy(), (f(av, bv) * 2).sum(), rtol=1e-5)
        ids.add(id(exe._steps[0].obufs[0]))
    assert len(ids) == 1
