"""Python operators through mx.operator.CustomOp / CustomOpProp / register."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError


class _Affine(mx.operator.CustomOp):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * self.a + self.b)
        aux[0][:] += 1  # counts training calls in an auxiliary state

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * self.a)


@mx.operator.register("test_affine")
class _AffineProp(mx.operator.CustomOpProp):
    def __init__(self, a="1", b="0"):
        super().__init__(need_top_grad=True)
        self.a, self.b = float(a), float(b)

    def list_auxiliary_states(self):
        return ["calls"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], [(1,)]

    def create_operator(self, ctx, shapes, dtypes):
        return _Affine(self.a, self.b)


class _HalfSquares(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0]
        self.assign(out_data[0], req[0], (x * x).sum() * 0.5)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], in_data[0])


@mx.operator.register("test_half_squares")
class _HalfSquaresProp(mx.operator.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=False)

    def infer_shape(self, in_shape):
        return in_shape, [(1,)], []

    def create_operator(self, ctx, shapes, dtypes):
        return _HalfSquares()


def test_custom_symbol_json_shapes_and_gradients():
    x = mx.sym.Variable("x")
    y = mx.sym.Custom(x, op_type="test_affine", a=3, b=0.5, name="aff")
    assert y.list_arguments() == ["x"]
    assert y.list_auxiliary_states() == ["aff_calls"]
    assert y.list_outputs() == ["aff_output"]
    node = json.loads(y.tojson())["nodes"][-1]
    assert node["op"] == "Custom"
    assert node["attrs"] == {"a": "3", "b": "0.5", "op_type": "test_affine"}
    assert y.infer_shape(x=(2, 2)) == ([(2, 2)], [(2, 2)], [(1,)])
    again = mx.sym.load_json(y.tojson())
    exe = again.simple_bind(mx.cpu(), x=(2, 2))
    exe.arg_dict["x"][:] = 1.0
    out = exe.forward(is_train=True)[0]
    np.testing.assert_allclose(out.asnumpy(), np.full((2, 2), 3.5))
    exe.backward(mx.nd.ones((2, 2)))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), np.full((2, 2), 3.0))
    assert exe.aux_dict["aff_calls"].asnumpy()[0] == 1.0


def test_custom_loss_needs_no_head_gradient():
    x = mx.sym.Variable("x")
    loss = mx.sym.Custom(x, op_type="test_half_squares")
    with mx.sym.name.NameManager():
        assert mx.sym.Custom(x, op_type="test_half_squares").name == "custom0"
    exe = loss.simple_bind(mx.cpu(), x=(3,))
    exe.arg_dict["x"][:] = mx.nd.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(exe.forward(is_train=True)[0].asnumpy(), [7.0])
    exe.backward()
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), [1.0, 2.0, 3.0])


def test_custom_nd_call():
    out = mx.nd.Custom(mx.nd.ones((2,)), mx.nd.zeros((1,)), op_type="test_affine", a=2)
    np.testing.assert_allclose(out.asnumpy(), [2.0, 2.0])


@pytest.mark.parametrize("case, fn, exc, text", [
    ("unknown-op-type", lambda: mx.sym.Custom(mx.sym.Variable("x"), op_type="nope"),
     MXNetError, "op_type='nope'"),
    ("missing-op-type", lambda: mx.sym.Custom(mx.sym.Variable("x")), MXNetError, "op_type"),
    ("register-non-prop", lambda: mx.operator.register("bad")(int), TypeError, "CustomOpProp"),
    ("register-bad-name", lambda: mx.operator.register(""), TypeError, "name"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_custom_errors(case, fn, exc, text):
    with pytest.raises(exc, match=text):
        fn()


def test_assign_modes():
    op = mx.operator.CustomOp()
    dst = mx.nd.ones((2,))
    op.assign(dst, "add", mx.nd.ones((2,)))
    np.testing.assert_allclose(dst.asnumpy(), [2.0, 2.0])
    op.assign(dst, "null", mx.nd.zeros((2,)))
    op.assign(dst, "write", mx.nd.zeros((2,)))
    np.testing.assert_allclose(dst.asnumpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match="req"):
        op.assign(dst, "replace", dst)


# weighted_logistic_regression.py's pattern: the label's shape comes from the data's, through
# the Python infer_shape called with the unknown label shape as [] (MXNet 1.9.1 semantics)
class _WeightedLogistic(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], 1 / (1 + mx.nd.exp(-in_data[0])))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_data[0] - in_data[1])


@mx.operator.register("i15_weighted_logistic")
class _WeightedLogisticProp(mx.operator.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=False)

    def list_arguments(self):
        return ["data", "label"]

    def infer_shape(self, in_shape):
        shape = in_shape[0]
        return [shape, shape], [shape]

    def create_operator(self, ctx, shapes, dtypes):
        return _WeightedLogistic()


def test_custom_infer_shape_fills_unknown_label():
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=1, name="fc")
    net = mx.sym.Custom(fc, mx.sym.var("label"), op_type="i15_weighted_logistic")
    arg_shapes, out_shapes, _ = net.infer_shape(data=(5, 3))
    assert dict(zip(net.list_arguments(), arg_shapes, strict=True))["label"] == (5, 1)
    assert out_shapes == [(5, 1)]
    mod = mx.mod.Module(net, label_names=["label"])
    mod.bind([("data", (5, 3))], [("label", (5, 1))])
    mod.init_params()
    mod.forward_backward(mx.io.DataBatch([mx.nd.ones((5, 3))], [mx.nd.ones((5, 1))]))
    assert mod.get_outputs()[0].shape == (5, 1)


class _PickyProp(mx.operator.CustomOpProp):
    def infer_shape(self, in_shape):
        return [in_shape[0]], [[in_shape[0][0] * 2]]  # fails on an unknown (empty) shape


def test_custom_infer_shape_that_needs_known_shapes_waits():
    mx.operator.register("i15_picky")(_PickyProp)
    net = mx.sym.Custom(mx.sym.var("x"), op_type="i15_picky")
    assert net.infer_shape_partial()[1] == [()]
    assert net.infer_shape(x=(3,))[1] == [(6,)]
