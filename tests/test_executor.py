"""Executor: binding, grad_req, shared memory, reshape, copy_params_from; MXNet golden runs."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.operator import registry

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "symbol"))
import symbol_nets as sn

GOLD = np.load(os.path.join(os.path.dirname(__file__), "golden", "symbol_nets.npz"))


def _have(*ops):
    missing = []
    for op in ops:
        try:
            registry.get(op)
        except MXNetError:
            missing.append(op)
    if missing:
        pytest.skip(f"operators not implemented yet: {missing}")


NET_OPS = {
    "mlp": ("FullyConnected", "Activation", "SoftmaxOutput"),
    "lenet": ("Convolution", "Activation", "Pooling", "FullyConnected", "SoftmaxOutput"),
    "bn_net": ("FullyConnected", "BatchNorm", "Activation", "LinearRegressionOutput"),
    "tensor_net": (),
    "arithmetic": (),
    "custom_net": ("FullyConnected",),
}


@pytest.mark.parametrize("name", sorted(NET_OPS))
def test_network_forward_backward_match_mxnet(name):
    _have(*NET_OPS[name])
    sym = sn.build(mx, name)
    args = {k: mx.nd.array(GOLD[f"{name}:arg:{k}"]) for k in sym.list_arguments()}
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items()}
    aux = {k: mx.nd.array(GOLD[f"{name}:aux:{k}"]) for k in sym.list_auxiliary_states()}
    exe = sym.bind(mx.cpu(), args=args, args_grad=grads, aux_states=aux)
    outs = exe.forward(is_train=True)
    if name == "arithmetic":
        exe.backward([mx.nd.array(GOLD[f"{name}:og{k}"], dtype=o.dtype)
                      for k, o in enumerate(outs)])
    else:
        exe.backward()
    for k, out in enumerate(outs):
        np.testing.assert_allclose(out.asnumpy(), GOLD[f"{name}:out{k}"], rtol=1e-5, atol=1e-5)
    for key, grad in grads.items():
        np.testing.assert_allclose(grad.asnumpy(), GOLD[f"{name}:grad:{key}"], rtol=1e-4,
                                   atol=1e-5, err_msg=key)
    for key, arr in aux.items():
        np.testing.assert_allclose(arr.asnumpy(), GOLD[f"{name}:aux_after:{key}"], rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    if aux:
        outs = exe.forward(is_train=False)
        for k, out in enumerate(outs):
            np.testing.assert_allclose(out.asnumpy(), GOLD[f"{name}:infer_out{k}"], rtol=1e-5,
                                       atol=1e-5)


@pytest.mark.parametrize("name, shapes", [("mlp", {"data": (6, 12)}),
                                          ("lenet", {"data": (3, 1, 14, 14)})])
def test_simple_bind_trains_mlp_and_lenet(name, shapes):
    _have(*NET_OPS[name])
    sym = sn.build(mx, name)
    exe = sym.simple_bind(mx.cpu(), grad_req="write", **shapes)
    n_classes = sym.infer_shape(**shapes)[1][0][1]
    rng = np.random.default_rng(0)
    for key, arr in exe.arg_dict.items():
        if key == "softmax_label":
            arr[:] = mx.nd.array(rng.integers(0, n_classes, size=arr.shape))
        elif key not in shapes:
            arr[:] = mx.nd.array(rng.standard_normal(arr.shape) * 0.3)
    exe.arg_dict["data"][:] = mx.nd.array(rng.standard_normal(shapes["data"]))
    losses = []
    for _ in range(15):
        out = exe.forward(is_train=True)[0].asnumpy()
        labels = exe.arg_dict["softmax_label"].asnumpy().astype(int)
        losses.append(-np.mean(np.log(out[np.arange(len(labels)), labels] + 1e-12)))
        exe.backward()
        for key, arr in exe.arg_dict.items():
            grad = exe.grad_dict[key]
            if key not in shapes and key != "softmax_label":
                arr._data -= 0.05 * grad._data
    assert losses[-1] < losses[0]


def _simple():
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w")
    return mx.sym.sum(x * w + w * 2.0, axis=1, name="s")


def test_grad_req_write_add_null():
    sym = _simple()
    exe = sym.simple_bind(mx.cpu(), grad_req={"x": "add", "w": "write"}, x=(2, 3), w=(2, 3))
    exe.arg_dict["x"][:] = 1.0
    exe.arg_dict["w"][:] = 3.0
    for _ in range(2):
        exe.forward(is_train=True)
        exe.backward(mx.nd.ones((2,)))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), np.full((2, 3), 6.0))
    np.testing.assert_allclose(exe.grad_dict["w"].asnumpy(), np.full((2, 3), 3.0))
    exe2 = sym.simple_bind(mx.cpu(), grad_req="null", x=(2, 3), w=(2, 3))
    assert exe2.grad_arrays == [None, None]
    exe2.forward()
    exe2.backward(mx.nd.ones((2,)))  # nothing to write, no error


@pytest.mark.parametrize("grad_req, expected", [
    ("write", ["write", "write"]),
    (["null", "add"], ["null", "add"]),
    ({"w": "add"}, ["null", "add"]),
], ids=["str", "list", "dict-defaults-null"])
def test_grad_req_forms(grad_req, expected):
    exe = _simple().simple_bind(mx.cpu(), grad_req=grad_req, x=(2, 3), w=(2, 3))
    assert exe._grad_reqs == expected
    assert [g is None for g in exe.grad_arrays] == [r == "null" for r in expected]


@pytest.mark.parametrize("grad_req, exc, text", [
    ("sometimes", ValueError, "grad_req"),
    ({"nope": "write"}, ValueError, "nope"),
    (["write"], ValueError, "grad_req"),
    (3, TypeError, "grad_req"),
], ids=["bad-str", "unknown-name", "short-list", "bad-type"])
def test_grad_req_errors(grad_req, exc, text):
    with pytest.raises(exc, match=text):
        _simple().simple_bind(mx.cpu(), grad_req=grad_req, x=(2, 3), w=(2, 3))


def test_bind_with_lists_and_dicts_keeps_the_given_arrays():
    sym = _simple()
    x, w = mx.nd.ones((2, 3)), mx.nd.full((2, 3), 2.0)
    gx, gw = mx.nd.zeros((2, 3)), mx.nd.zeros((2, 3))
    exe = sym.bind(mx.cpu(), args=[x, w], args_grad={"w": gw})
    assert exe.arg_dict["x"] is x and exe.arg_dict["w"] is w
    assert exe.grad_dict == {"x": None, "w": gw}
    out = exe.forward()[0]
    np.testing.assert_allclose(out.asnumpy(), [18.0, 18.0])
    w._data[...] = 0.0  # an optimizer updating in place is seen by the next forward
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), [0.0, 0.0])
    exe.backward(mx.nd.ones((2,)))
    np.testing.assert_allclose(gw.asnumpy(), np.full((2, 3), 3.0))
    assert gx.asnumpy().sum() == 0


def test_outputs_are_the_same_objects_across_forwards():
    exe = _simple().bind(mx.cpu(), args={"x": mx.nd.ones((2, 3)), "w": mx.nd.ones((2, 3))})
    first = exe.forward()[0]
    exe.arg_dict["x"][:] = 2.0
    second = exe.forward()[0]
    assert first is second
    np.testing.assert_allclose(first.asnumpy(), [12.0, 12.0])
    assert list(exe.output_dict) == ["s_output"]


def test_forward_kwargs_copy_and_validate():
    exe = _simple().simple_bind(mx.cpu(), x=(2, 3), w=(2, 3))
    exe.forward(x=np.ones((2, 3), np.float32), w=mx.nd.ones((2, 3)))
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), [9.0, 9.0])
    with pytest.raises(TypeError, match="Unknown argument"):
        exe.forward(y=mx.nd.ones((2, 3)))
    with pytest.raises(ValueError, match="Shape not match"):
        exe.forward(x=mx.nd.ones((3, 3)))


def test_loss_heads_need_no_out_grads_and_shared_values_accumulate():
    x = mx.sym.Variable("x")
    y = mx.sym.MakeLoss(x * x + x, name="loss")
    exe = y.simple_bind(mx.cpu(), x=(3,))
    exe.arg_dict["x"][:] = mx.nd.array([1.0, 2.0, 3.0])
    exe.forward(is_train=True)
    exe.backward()
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), [3.0, 5.0, 7.0])


def test_non_loss_head_defaults_to_ones():
    x = mx.sym.Variable("x")
    exe = (x * 3.0).simple_bind(mx.cpu(), x=(2,))
    exe.forward(is_train=True)
    exe.backward()
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), [3.0, 3.0])


def test_backward_errors():
    exe = _simple().simple_bind(mx.cpu(), x=(2, 3), w=(2, 3))
    with pytest.raises(MXNetError, match="before forward"):
        exe.backward(mx.nd.ones((2,)))
    exe.forward(is_train=True)
    with pytest.raises(ValueError, match="head gradient"):
        exe.backward(mx.nd.ones((3,)))
    with pytest.raises(ValueError, match="1 outputs"):
        exe.backward([mx.nd.ones((2,)), mx.nd.ones((2,))])


def test_shared_exec_shares_parameter_memory():
    _have("FullyConnected", "SoftmaxOutput", "Activation")
    sym = sn.build(mx, "mlp")
    big = sym.simple_bind(mx.cpu(), data=(8, 12))
    small = sym.simple_bind(mx.cpu(), data=(2, 12), shared_exec=big)
    for key in ("fc1_weight", "fc1_bias", "fc2_weight"):
        assert small.arg_dict[key] is big.arg_dict[key]
        assert small.grad_dict[key] is big.grad_dict[key]
    assert small.arg_dict["data"] is not big.arg_dict["data"]
    big.arg_dict["fc1_weight"]._data[...] = 0.5
    assert np.all(small.arg_dict["fc1_weight"].asnumpy() == 0.5)
    only = sym.simple_bind(mx.cpu(), data=(2, 12), shared_exec=big,
                           shared_arg_names=["fc1_weight"])
    assert only.arg_dict["fc1_weight"] is big.arg_dict["fc1_weight"]
    assert only.arg_dict["fc1_bias"] is not big.arg_dict["fc1_bias"]


def test_shared_exec_shares_aux_states():
    _have("BatchNorm", "FullyConnected", "LinearRegressionOutput")
    sym = sn.build(mx, "bn_net")
    big = sym.simple_bind(mx.cpu(), data=(4, 5))
    small = sym.simple_bind(mx.cpu(), data=(2, 5), shared_exec=big)
    assert small.aux_dict["bn_moving_mean"] is big.aux_dict["bn_moving_mean"]


def test_reshape_shares_memory_and_checks_sizes():
    sym = _simple()
    exe = sym.simple_bind(mx.cpu(), x=(4, 3), w=(4, 3))
    exe.arg_dict["x"][:] = mx.nd.array(np.arange(12).reshape(4, 3))
    small = exe.reshape(x=(2, 3), w=(2, 3))
    assert np.shares_memory(small.arg_dict["x"]._data, exe.arg_dict["x"]._data)
    np.testing.assert_allclose(small.arg_dict["x"].asnumpy(), np.arange(6).reshape(2, 3))
    with pytest.raises(MXNetError, match="allow_up_sizing"):
        exe.reshape(x=(8, 3), w=(8, 3))
    bigger = exe.reshape(allow_up_sizing=True, x=(8, 3), w=(8, 3))
    assert bigger.arg_dict["x"].shape == (8, 3)
    with pytest.raises(MXNetError, match="partial_shaping"):
        exe.reshape(x=(2, 3))
    assert exe.reshape(partial_shaping=True, x=(2, 3)).arg_dict["w"].shape == (2, 3)


def test_reshape_keeps_parameters_of_a_network():
    _have("FullyConnected", "SoftmaxOutput", "Activation")
    sym = sn.build(mx, "mlp")
    exe = sym.simple_bind(mx.cpu(), data=(8, 12))
    new = exe.reshape(data=(3, 12), softmax_label=(3,))
    assert new.arg_dict["fc1_weight"] is exe.arg_dict["fc1_weight"]
    assert new.forward()[0].shape == (3, 4)


def test_copy_params_from():
    exe = _simple().simple_bind(mx.cpu(), x=(2, 3), w=(2, 3))
    exe.copy_params_from({"w": mx.nd.full((2, 3), 7.0)})
    assert np.all(exe.arg_dict["w"].asnumpy() == 7.0)
    with pytest.raises(ValueError, match='Find name "zz"'):
        exe.copy_params_from({"zz": mx.nd.ones((1,))})
    exe.copy_params_from({"zz": mx.nd.ones((1,))}, allow_extra_params=True)
    with pytest.raises(ValueError, match="shape"):
        exe.copy_params_from({"w": mx.nd.ones((3, 3))})
    with pytest.raises(ValueError, match="auxiliary"):
        exe.copy_params_from({}, {"m": mx.nd.ones((1,))})


def test_type_dict_allocates_in_that_dtype():
    exe = _simple().simple_bind(mx.cpu(), type_dict={"x": "float64"}, x=(2, 3), w=(2, 3))
    assert exe.arg_dict["x"].dtype == np.float64
    assert exe.arg_dict["w"].dtype == np.float64  # elementwise ops unify the types


def test_simple_bind_needs_enough_shapes():
    x, w, v = mx.sym.Variable("x"), mx.sym.Variable("w"), mx.sym.Variable("v")
    net = mx.sym.broadcast_add(x, w * v)
    with pytest.raises(MXNetError, match=r"\['w', 'v'\]"):
        net.simple_bind(mx.cpu(), x=(2, 3))


def test_monitor_callback_sees_every_output():
    seen = []
    exe = _simple().simple_bind(mx.cpu(), x=(2, 3), w=(2, 3))
    exe.set_monitor_callback(lambda name, arr: seen.append((name, arr.shape)))
    exe.forward()
    assert ("s_output", (2,)) in seen
    assert len(seen) == 4


def test_simple_bind_placement_arguments():
    sym = _simple()
    exe = sym.simple_bind(mx.cpu(), stype_dict={"x": "default"}, group2ctx={"dev1": mx.cpu()},
                          x=(2, 3), w=(2, 3))
    assert exe.arg_dict["x"].shape == (2, 3)
    exe = sym.simple_bind(mx.cpu(), stype_dict={"w": "row_sparse"}, x=(2, 3), w=(2, 3))
    assert exe.arg_dict["w"].stype == "row_sparse"  # sparse storage: issue 16, tests/sparse
    with pytest.raises(ValueError, match="stype"):
        sym.simple_bind(mx.cpu(), stype_dict={"w": "coo"}, x=(2, 3), w=(2, 3))
    with pytest.raises(TypeError, match="group2ctx"):
        sym.simple_bind(mx.cpu(), group2ctx={"dev1": "cpu"}, x=(2, 3), w=(2, 3))


@registry.register
class _OverwritesFirstInput(registry.Operator):
    """Test operator: returns 2*x and, like BatchNorm with fix_gamma, writes 1 into input 0."""

    name = "_test_overwrites_first_input"
    params: dict = {}

    def mutable_inputs(self, p):
        return [0]

    def forward(self, p, inputs, aux, is_train):
        out = 2 * inputs[0]
        inputs[0][...] = 1
        return [out], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [2 * out_grads[0]]


def test_mutable_inputs_reach_bound_arrays_but_not_imperative_inputs():
    x = mx.nd.full((2,), 5.0)
    exe = mx.sym._test_overwrites_first_input(mx.sym.Variable("x")).bind(mx.cpu(), args=[x])
    np.testing.assert_allclose(exe.forward()[0].asnumpy(), [10.0, 10.0])
    np.testing.assert_allclose(x.asnumpy(), [1.0, 1.0])
    y = mx.nd.full((2,), 5.0)
    from mxlite.ndarray import op as ndop

    np.testing.assert_allclose(ndop._test_overwrites_first_input(y).asnumpy(), [10.0, 10.0])
    np.testing.assert_allclose(y.asnumpy(), [5.0, 5.0])


def test_outputs_exist_before_forward_and_bind_checks_shapes():
    exe = _simple().simple_bind(mx.cpu(), x=(2, 3), w=(2, 3))
    assert [o.shape for o in exe.outputs] == [(2,)]
    with pytest.raises(MXNetError, match="_mul"):
        _simple().bind(mx.cpu(), args={"x": mx.nd.ones((2, 3)), "w": mx.nd.ones((3, 3))})


def test_two_variables_with_one_name_cannot_be_bound():
    net = mx.sym.Variable("x") + mx.sym.Variable("x")
    assert net.list_arguments() == ["x", "x"]
    with pytest.raises(ValueError, match="Duplicate names"):
        net.simple_bind(mx.cpu(), x=(2,))


@pytest.mark.parametrize("args, exc, text", [
    ({"x": mx.nd.ones((2, 3))}, ValueError, "'w'"),
    ([mx.nd.ones((2, 3)), None], ValueError, "'w'"),
    ([mx.nd.ones((2, 3))], ValueError, "1 arrays given for 2"),
    ({"x": np.ones((2, 3)), "w": mx.nd.ones((2, 3))}, TypeError, "NDArray"),
    ((mx.nd.ones((2, 3)) for _ in range(2)), TypeError, "list or dict"),
], ids=["dict-missing", "list-none", "list-short", "numpy-array", "generator"])
def test_bind_argument_errors(args, exc, text):
    with pytest.raises(exc, match=text):
        _simple().bind(mx.cpu(), args=args)


def test_monitor_all_names_inputs_like_mxnet():
    _have("FullyConnected", "BatchNorm", "Activation")
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=2, name="fc1")
    net = mx.sym.BatchNorm(mx.sym.Activation(fc, act_type="relu", name="r"), name="bn")
    exe = net.simple_bind(mx.cpu(), data=(2, 3))
    names = []
    exe.set_monitor_callback(lambda name, arr: names.append(name), monitor_all=True)
    exe.forward()
    # MXNet 1.9.1 (MKLDNN build) reports the same sequence, except that it also reports
    # BatchNorm's hidden outputs bn_mean / bn_var
    assert names == ["data", "fc1_data", "fc1_weight", "fc1_weight", "fc1_bias", "fc1_bias",
                     "fc1_output", "r_input0", "r_output", "bn_data", "bn_gamma", "bn_gamma",
                     "bn_beta", "bn_beta", "bn_moving_mean", "bn_moving_mean", "bn_moving_var",
                     "bn_moving_var", "bn_output"]


@pytest.mark.parametrize("layer", ["fc", "conv"])
def test_data_gradient_is_skipped_when_nobody_needs_it(layer, monkeypatch):
    """FullyConnected / Convolution on the data skip the data-gradient GEMM when the data's
    grad_req is null; the weight gradients are those of a full backward."""
    data = mx.sym.Variable("data")
    if layer == "fc":
        net = mx.sym.FullyConnected(data, num_hidden=3, name="l")
        shape = (4, 5)
    else:
        net = mx.sym.Convolution(data, kernel=(3, 3), num_filter=2, pad=(1, 1), name="l")
        shape = (2, 3, 5, 5)
    net = mx.sym.sum(mx.sym.tanh(net))
    op = registry.get("FullyConnected" if layer == "fc" else "Convolution")
    seen = []
    real = type(op).backward

    def spy(self, p, out_grads, inputs, outputs, aux, saved, need=None, **kw):
        grads = real(self, p, out_grads, inputs, outputs, aux, saved, need=need, **kw)
        seen.append((need, grads[0] is None))
        return grads

    monkeypatch.setattr(type(op), "backward", spy)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    results = {}
    for req in ("null", "write"):
        exe = net.simple_bind(mx.cpu(), grad_req={"data": req, "l_weight": "write",
                                                  "l_bias": "write"}, data=shape)
        exe.arg_dict["data"][:] = x
        exe.arg_dict["l_weight"][:] = 0.3
        exe.forward(is_train=True)
        exe.backward()
        results[req] = {n: g.asnumpy() for n, g in exe.grad_dict.items() if g is not None}
    assert seen == [([False, True, True], True), ([True, True, True], False)]
    for name in ("l_weight", "l_bias"):
        np.testing.assert_array_equal(results["null"][name], results["write"][name])
    assert np.abs(results["write"]["data"]).sum() > 0


def test_debug_str_reports_planned_memory():
    """MXNet's last debug_str line; stop_gradient leaves only the forward pass (issue 15)."""
    import re

    def total(sym, **kwargs):
        text = sym.simple_bind(mx.cpu(), data=(4, 256, 256), **kwargs).debug_str()
        return int(re.search(r"Total (\d+) MB allocated", text).group(1))

    data = mx.sym.var("data")
    for _ in range(4):
        data = data * data
    full, forward_only = total(data), total(data, grad_req="null")
    assert full == 2 * forward_only == 8  # four 1 MB outputs, and their gradients
    assert total(mx.sym.stop_gradient(data)) == forward_only


def test_get_optimized_symbol_is_the_bound_graph():
    net = mx.sym.var("a") + mx.sym.var("b")
    exe = net.simple_bind(mx.cpu(), a=(2,), b=(2,))
    assert exe.get_optimized_symbol().tojson() == net.tojson()
