"""The executor's in-place activations and summed-gradient buffers (issue 13): an activation
overwrites its input only where that is safe, and every case gives the numbers of an executor
that allocates everything anew (``_reuse = False``)."""

import numpy as np
import pytest

import mxlite as mx


@pytest.fixture(autouse=True)
def _unfused(monkeypatch):
    """These tests pin the memory plan of the unfused steps (fused, BatchNorm + relu is one
    step without the BatchNorm output: tests/test_fusion.py)."""
    monkeypatch.setenv("MXLITE_FUSION", "0")


def _fc_act(act, producer="fc", extra_use=False, on_variable=False):
    data = mx.sym.Variable("data")
    if on_variable:
        h = data
    elif producer == "fc":
        h = mx.sym.FullyConnected(data, num_hidden=6, name="p")
    elif producer == "bn":
        h = mx.sym.BatchNorm(mx.sym.FullyConnected(data, num_hidden=6, name="fc0"),
                             fix_gamma=False, name="p")
    elif producer == "tanh":  # its backward reads its output: no in-place activation after it
        h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=6, name="fc0"),
                              act_type="tanh", name="p")
    elif producer == "add":
        a = mx.sym.FullyConnected(data, num_hidden=6, name="fa")
        b = mx.sym.FullyConnected(data, num_hidden=6, name="fb")
        h = mx.sym.elemwise_add(a, b, name="p")
    a = mx.sym.Activation(h, act_type=act, name="act")
    out = mx.sym.FullyConnected(a, num_hidden=4, name="fc2")
    if extra_use:  # the producer's output is also read by another operator
        out = out + mx.sym.FullyConnected(h, num_hidden=4, name="fc3")
    return mx.sym.SoftmaxOutput(out, name="softmax")


# id, symbol, whether the activation runs in place
CASES = [
    ("fc_relu", lambda: _fc_act("relu"), True),
    ("fc_sigmoid", lambda: _fc_act("sigmoid"), True),
    ("fc_tanh", lambda: _fc_act("tanh"), True),
    ("bn_relu", lambda: _fc_act("relu", "bn"), True),
    ("add_relu", lambda: _fc_act("relu", "add"), True),
    ("fc_softrelu", lambda: _fc_act("softrelu"), False),  # its backward reads the input
    ("tanh_sigmoid", lambda: _fc_act("sigmoid", "tanh"), False),
    ("tanh_relu", lambda: _fc_act("relu", "tanh"), False),
    ("input_used_twice", lambda: _fc_act("relu", extra_use=True), False),
    ("relu_of_a_variable", lambda: _fc_act("relu", on_variable=True), False),
]


def _bind(sym, reuse):
    exe = sym.simple_bind(mx.cpu(), data=(5, 3), type_dict={"data": np.float64})
    exe._reuse = reuse
    rng = np.random.default_rng(0)
    for name, arr in exe.arg_dict.items():
        if name not in ("data", "softmax_label"):
            arr[:] = rng.standard_normal(arr.shape)
    return exe


def _step(exe, x, y):
    exe.arg_dict["data"][:] = x
    exe.arg_dict["softmax_label"][:] = y
    exe.forward(is_train=True)
    exe.backward()
    return exe.outputs[0].asnumpy(), {n: g.asnumpy() for n, g in exe.grad_dict.items()
                                      if g is not None}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_in_place_activation(case):
    _, make, in_place = case
    sym = make()
    planned, fresh = _bind(sym, True), _bind(sym, False)
    act = next(s for s in planned._steps if s.name == "act")
    assert act.inplace == in_place
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, y = rng.standard_normal((5, 3)), rng.integers(0, 4, 5).astype(np.float64)
        out_p, g_p = _step(planned, x, y)
        out_f, g_f = _step(fresh, x, y)
        np.testing.assert_allclose(out_p, out_f, rtol=1e-13)
        assert g_p.keys() == g_f.keys()
        for n in g_p:
            np.testing.assert_allclose(g_p[n], g_f[n], rtol=1e-12, atol=1e-14, err_msg=n)
        vals = planned._values
        shared = np.shares_memory(vals[act.in_slots[0]], vals[act.out_slots[0]])
        assert shared == in_place


def test_activation_head_keeps_its_own_array():
    """An activation whose output is a head is not run in place: callers keep a head output's
    array across forwards (iter_predict's slices), and the producer rewrites its own buffer at
    the next batch."""
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
    sym = mx.sym.Group([mx.sym.Activation(h, act_type="relu", name="act"),
                        mx.sym.SoftmaxOutput(mx.sym.FullyConnected(data, num_hidden=3,
                                                                   name="fc2"), name="softmax")])
    exe = _bind(sym, True)
    assert not next(s for s in exe._steps if s.name == "act").inplace
    rng = np.random.default_rng(4)
    kept = []
    for _ in range(3):
        exe.arg_dict["data"][:] = rng.standard_normal((5, 3))
        out = exe.forward(is_train=True)[0][0:5]  # a slice keeps this forward's array
        kept.append((out, out.asnumpy().copy()))
    for arr, value in kept:
        np.testing.assert_array_equal(arr.asnumpy(), value)


def test_monitor_turns_in_place_off():
    """A monitor sees every operator's output, so the input is not overwritten then."""
    exe = _bind(_fc_act("relu"), True)
    seen = {}
    exe.set_monitor_callback(lambda name, arr: seen.__setitem__(name, arr))
    rng = np.random.default_rng(2)
    exe.arg_dict["data"][:] = rng.standard_normal((5, 3))
    exe.forward(is_train=True)
    act = next(s for s in exe._steps if s.name == "act")
    assert not np.shares_memory(exe._values[act.in_slots[0]], exe._values[act.out_slots[0]])
    assert (seen["p_output"].asnumpy() < 0).any()  # the FullyConnected output kept its negatives


def test_summed_gradient_buffer_is_reused_and_correct():
    """A value read by two operators (a residual connection) gets its gradients summed into one
    buffer of the executor, the same array at every batch."""
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=4, name="fc1")
    r = mx.sym.FullyConnected(h, num_hidden=4, name="fc2") + h
    sym = mx.sym.SoftmaxOutput(r, name="softmax")
    planned, fresh = _bind(sym, True), _bind(sym, False)
    rng = np.random.default_rng(3)
    ids = set()
    for _ in range(3):
        x, y = rng.standard_normal((5, 3)), rng.integers(0, 4, 5).astype(np.float64)
        _, g_p = _step(planned, x, y)
        _, g_f = _step(fresh, x, y)
        for n in g_p:
            np.testing.assert_allclose(g_p[n], g_f[n], rtol=1e-12, err_msg=n)
        ids.update(id(b) for b in planned._accum.values())
    assert len(planned._accum) == 1 and len(ids) == 1
    assert not fresh._accum


def test_in_place_inference_matches_fresh_executor():
    """forward(is_train=False) (BatchNorm on its moving statistics, then an in-place relu)."""
    sym = _fc_act("relu", "bn")
    planned, fresh = _bind(sym, True), _bind(sym, False)
    for exe in (planned, fresh):
        exe.aux_dict["p_moving_mean"][:] = 0.3
        exe.aux_dict["p_moving_var"][:] = 2.0
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.standard_normal((5, 3))
        outs = []
        for exe in (planned, fresh):
            exe.arg_dict["data"][:] = x
            outs.append(exe.forward(is_train=False)[0].asnumpy())
        np.testing.assert_allclose(outs[0], outs[1], rtol=1e-13)
    act = next(s for s in planned._steps if s.name == "act")
    assert np.shares_memory(planned._values[act.in_slots[0]], planned._values[act.out_slots[0]])
