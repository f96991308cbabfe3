"""Network builders shared by the golden generator (run with MXNet 1.9.1) and the tests.

Each builder takes the framework module (``mxnet`` or ``mxlite``) and returns a Symbol, so both
sides build the very same graph from the same code.  Auto-naming is reset by building inside a
fresh ``NameManager``.
"""

from __future__ import annotations

import numpy as np


def _name_manager(mx):
    return mx.name.NameManager() if hasattr(mx, "name") and hasattr(mx.name, "NameManager") \
        else mx.sym.name.NameManager()


def mlp(mx):
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=16, name="fc1")
    act1 = mx.sym.Activation(fc1, act_type="relu", name="relu1")
    fc2 = mx.sym.FullyConnected(act1, num_hidden=8, name="fc2")
    act2 = mx.sym.Activation(fc2, act_type="tanh")
    fc3 = mx.sym.FullyConnected(act2, num_hidden=4)
    return mx.sym.SoftmaxOutput(fc3, name="softmax")


def lenet(mx):
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv1")
    a1 = mx.sym.Activation(c1, act_type="tanh")
    p1 = mx.sym.Pooling(a1, kernel=(2, 2), stride=(2, 2), pool_type="max")
    c2 = mx.sym.Convolution(p1, kernel=(3, 3), num_filter=6, name="conv2")
    a2 = mx.sym.Activation(c2, act_type="relu")
    p2 = mx.sym.Pooling(a2, kernel=(2, 2), stride=(2, 2), pool_type="avg")
    flat = mx.sym.Flatten(p2)
    fc1 = mx.sym.FullyConnected(flat, num_hidden=10, name="fc1")
    a3 = mx.sym.Activation(fc1, act_type="tanh")
    fc2 = mx.sym.FullyConnected(a3, num_hidden=3, name="fc2")
    return mx.sym.SoftmaxOutput(fc2, name="softmax")


def bn_net(mx):
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=6, name="fc")
    bn = mx.sym.BatchNorm(fc, name="bn", fix_gamma=False, eps=1e-3)
    act = mx.sym.Activation(bn, act_type="relu")
    out = mx.sym.FullyConnected(act, num_hidden=2, name="out")
    return mx.sym.LinearRegressionOutput(out, name="lro")


def tensor_net(mx):
    """Only tensor operators: arithmetic, reshape, split/concat, reductions."""
    a = mx.sym.Variable("a")
    b = mx.sym.Variable("b", shape=(2, 6))
    c = a * b + 2.0
    d = 3 - c / (b + 1.5)
    e = mx.sym.Reshape(d, shape=(0, 3, -1))
    parts = mx.sym.split(e, num_outputs=3, axis=1)
    f = mx.sym.Concat(parts[2], parts[0], dim=2)
    g = mx.sym.transpose(f, axes=(1, 0, 2))
    h = mx.sym.broadcast_mul(mx.sym.sum(g, axis=2, keepdims=True),
                             parts[1].transpose(axes=(1, 0, 2)))
    i = mx.sym.mean(mx.sym.Flatten(h), axis=1)
    j = mx.sym.clip(i, a_min=-5.0, a_max=5.0) ** 2
    return mx.sym.MakeLoss(j, name="loss")


def arithmetic(mx):
    """A group covering the arithmetic operators' JSON names."""
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    outs = [x + y, x - y, x * y, x / y, x ** y, x + 1, 1 + x, x - 2, 2 - x, x * 3, x / 4,
            4 / x, x ** 2, 2 ** x, -x, x > y, x >= 1, x < y, x <= 1, x == y, x != 1,
            mx.sym.broadcast_add(x, y), mx.sym.elemwise_mul(x, y), mx.sym.identity(x),
            mx.sym.BlockGrad(x), mx.sym.stop_gradient(x), mx.sym.Cast(x, dtype="float16"),
            mx.sym.expand_dims(x, axis=1), mx.sym.add_n(x, y, x)]
    return mx.sym.Group(outs)


NETS = {"mlp": mlp, "lenet": lenet, "bn_net": bn_net, "tensor_net": tensor_net,
        "arithmetic": arithmetic}

# input shapes used for inference / binding
SHAPES = {
    "mlp": {"data": (5, 12)},
    "lenet": {"data": (2, 1, 14, 14)},
    "bn_net": {"data": (4, 5)},
    "tensor_net": {"a": (2, 6)},
    "arithmetic": {"x": (2, 3), "y": (2, 3)},
}


def build(mx, name):
    with _name_manager(mx):
        return NETS[name](mx)


def define_custom_ops(mx):
    """Register two Python operators with the framework ``mx`` (same code for both)."""

    class ScaledSquare(mx.operator.CustomOp):
        def __init__(self, scale):
            super().__init__()
            self.scale = scale

        def forward(self, is_train, req, in_data, out_data, aux):
            self.assign(out_data[0], req[0], in_data[0] * in_data[0] * self.scale)

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            self.assign(in_grad[0], req[0], out_grad[0] * in_data[0] * (2 * self.scale))

    @mx.operator.register("scaled_square")
    class ScaledSquareProp(mx.operator.CustomOpProp):
        def __init__(self, scale="1.0"):
            super().__init__(need_top_grad=True)
            self.scale = float(scale)

        def create_operator(self, ctx, shapes, dtypes):
            return ScaledSquare(self.scale)

    class SoftmaxLoss(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            x = in_data[0].asnumpy()
            e = np.exp(x - x.max(axis=1, keepdims=True))
            self.assign(out_data[0], req[0], mx.nd.array(e / e.sum(axis=1, keepdims=True)))

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            label = in_data[1].asnumpy().astype(int)
            grad = out_data[0].asnumpy().copy()
            grad[np.arange(len(label)), label] -= 1.0
            self.assign(in_grad[0], req[0], mx.nd.array(grad))
            self.assign(in_grad[1], req[1], mx.nd.zeros(in_data[1].shape))

    @mx.operator.register("softmax_loss")
    class SoftmaxLossProp(mx.operator.CustomOpProp):
        def __init__(self):
            super().__init__(need_top_grad=False)

        def list_arguments(self):
            return ["data", "label"]

        def infer_shape(self, in_shape):
            return [in_shape[0], (in_shape[0][0],)], [in_shape[0]], []

        def create_operator(self, ctx, shapes, dtypes):
            return SoftmaxLoss()


def custom_net(mx):
    define_custom_ops(mx)
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    sq = mx.sym.Custom(fc, op_type="scaled_square", scale=0.5, name="sq")
    return mx.sym.Custom(sq, mx.sym.Variable("label"), op_type="softmax_loss", name="loss")


NETS["custom_net"] = custom_net
SHAPES["custom_net"] = {"data": (4, 5), "label": (4,)}
