"""Module behaviours MXNet 1.9.1's own tests rely on (issue 15): forward with new data shapes,
batches of other types, bind errors; plus metric JSON and Constant dumps."""

import json
from collections import namedtuple

import numpy as np
import pytest

import mxlite as mx


def _conv_net():
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=2, name="conv")
    pooled = mx.sym.sum(mx.sym.flatten(conv), axis=1, keepdims=True)
    return mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(pooled, num_hidden=1,
                                                               name="fc"), name="lro")


@pytest.mark.parametrize("shape", [(4, 3, 8, 8), (2, 3, 12, 10), (6, 3, 5, 5)],
                         ids=["same", "bigger-image", "smaller-image-more-batch"])
def test_forward_with_new_data_shape_reshapes(shape):
    mod = mx.mod.Module(_conv_net(), label_names=["lro_label"])
    mod.bind([("data", (4, 3, 8, 8))], [("lro_label", (4, 1))])
    mod.init_params(mx.init.Constant(0.1))
    mod.init_optimizer()
    batch = mx.io.DataBatch([mx.nd.ones(shape)], [mx.nd.zeros((shape[0], 1))])
    mod.forward(batch, is_train=True)
    mod.backward()
    mod.update()
    assert mod.get_outputs()[0].shape == (shape[0], 1)
    assert mod.data_shapes[0].shape == shape


def test_forward_accepts_namedtuple_batches_and_predict_arrays():
    Batch = namedtuple("Batch", ["data"])
    mod = mx.mod.Module(mx.sym.var("data") * 2, label_names=None)
    mod.bind([("data", (1, 10))])
    mod.init_params()
    mod.forward(Batch([mx.nd.ones((1, 10))]))
    assert mod.get_outputs()[0].shape == (1, 10)
    mod.forward(Batch([mx.nd.ones((3, 5))]))
    assert mod.get_outputs()[0].shape == (3, 5)
    assert mod.predict(np.ones((3, 5))).shape == (3, 5)


def test_bind_with_an_array_as_shape_is_type_error():
    mod = mx.mod.Module(mx.sym.Activation(mx.sym.var("data"), act_type="relu"), ("data",),
                        None, context=[mx.cpu(0), mx.cpu(1)])
    with pytest.raises(TypeError, match="shape must be a tuple"):
        mod.bind(data_shapes=[("data", mx.nd.array([10, 10]))])
    assert not mod.binded
    mod.bind(data_shapes=[("data", (10, 10))])
    assert mod.binded


@pytest.mark.parametrize("name, kwargs", [("acc", {"axis": 0}), ("top_k_accuracy", {"top_k": 3}),
                                          ("f1", {"average": "micro"}), ("mse", {}),
                                          ("pearsonr", {})])
def test_metric_create_from_config_json(name, kwargs):
    metric = mx.metric.create(name, **kwargs)
    again = mx.metric.create(json.dumps(metric.get_config()))
    assert again.get_config() == metric.get_config()
    assert type(again) is type(metric)


def test_metric_create_from_composite_config_and_errors():
    comp = mx.metric.create(["acc", "mse"])
    again = mx.metric.create(json.dumps(comp.get_config()))
    assert [type(m) for m in again.metrics] == [type(m) for m in comp.metrics]
    with pytest.raises(ValueError, match="malformed"):
        mx.metric.create("{not json")
    with pytest.raises(ValueError, match="'metric' name"):
        mx.metric.create('{"name": "x"}')


@pytest.mark.parametrize("value", [mx.nd.ones((2, 3)), np.ones((2, 3)), 1],
                         ids=["ndarray", "numpy", "scalar"])
def test_constant_dumps_is_json_of_kwargs(value):
    init = mx.init.Constant(value)
    assert init.dumps() == json.dumps(["constant", init._kwargs])


def test_variable_with_int_shape():
    v = mx.sym.var("w", shape=3)
    assert v.infer_shape()[0] == [(3,)]
