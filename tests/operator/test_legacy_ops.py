"""mx.operator.NumpyOp / NDArrayOp: the legacy Python operators of old examples."""

import numpy as np
import pytest

import mxlite as mx


class NumpySoftmax(mx.operator.NumpyOp):
    """The loss of MXNet's old numpy-ops example: softmax forward, (p - onehot) backward."""

    def __init__(self):
        super().__init__(need_top_grad=False)

    def list_arguments(self):
        return ["data", "label"]

    def list_outputs(self):
        return ["output"]

    def infer_shape(self, in_shape):
        return [in_shape[0], [in_shape[0][0]]], [in_shape[0]]

    def forward(self, in_data, out_data):
        x = in_data[0]
        e = np.exp(x - x.max(axis=1, keepdims=True))
        out_data[0][:] = e / e.sum(axis=1, keepdims=True)

    def backward(self, out_grad, in_data, out_data, in_grad):
        label = in_data[1].astype(int)
        g = out_data[0].copy()
        g[np.arange(label.size), label] -= 1
        in_grad[0][:] = g


class NDArrayScale(mx.operator.NDArrayOp):
    def forward(self, in_data, out_data):
        assert isinstance(in_data[0], mx.nd.NDArray)
        out_data[0][:] = in_data[0] * 3

    def backward(self, out_grad, in_data, out_data, in_grad):
        in_grad[0][:] = out_grad[0] * 3


def test_numpy_op_loss_trains_like_softmax_output():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4)).astype("f4")
    y = (x[:, 0] > 0).astype("f4")
    results = []
    for make in (lambda fc: NumpySoftmax()(fc, mx.sym.var("softmax_label"), name="softmax"),
                 lambda fc: mx.sym.SoftmaxOutput(fc, name="softmax")):
        fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc")
        mod = mx.mod.Module(make(fc))
        mod.bind([("data", (10, 4))], [("softmax_label", (10,))])
        mod.init_params(mx.init.Constant(0.1))
        mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
        for start in (0, 10):
            mod.forward_backward(mx.io.DataBatch([mx.nd.array(x[start:start + 10])],
                                                 [mx.nd.array(y[start:start + 10])]))
            mod.update()
        results.append(mod.get_params()[0]["fc_weight"].asnumpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_ndarray_op_forward_backward():
    y = NDArrayScale()(mx.sym.var("x"))
    exe = y.bind(mx.cpu(), {"x": mx.nd.array([1.0, 2.0])}, args_grad={"x": mx.nd.zeros(2)})
    np.testing.assert_allclose(exe.forward(is_train=True)[0].asnumpy(), [3.0, 6.0])
    exe.backward(mx.nd.ones(2))
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), [3.0, 3.0])


def test_missing_methods_and_instances_raise():
    class Bare(mx.operator.NumpyOp):
        pass

    exe = Bare()(mx.sym.var("x")).bind(mx.cpu(), {"x": mx.nd.ones(2)})
    with pytest.raises(mx.MXNetError, match="must define forward"):
        exe.forward()
    # a graph naming an instance this process never made
    text = Bare()(mx.sym.var("x")).tojson().replace("Bare:", "Gone:")
    with pytest.raises(mx.MXNetError, match="no Python operator instance"):
        mx.sym.load_json(text).infer_shape(x=(2,))
