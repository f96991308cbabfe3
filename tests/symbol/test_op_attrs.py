"""Attributes every operator accepts (lr_mult, wd_mult, __dunder__), as MXNet 1.9.1 stores them;
PReLU's 0.25 start; get_children; NotImplementedForSymbol."""

import json

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import NotImplementedForSymbol


def _node(sym, name):
    return next(n for n in json.loads(sym.tojson())["nodes"] if n["name"] == name)


# the node attributes MXNet 1.9.1 writes (read from its tojson())
@pytest.mark.parametrize(
    "make, node, attrs",
    [(lambda d: mx.sym.FullyConnected(d, num_hidden=3, lr_mult=2, wd_mult=0.5, name="fc"),
      "fc", {"__lr_mult__": "2", "__wd_mult__": "0.5", "num_hidden": "3"}),
     (lambda d: mx.sym.Activation(d, act_type="relu", __layout__="NC", __lr_mult__=3, name="a"),
      "a", {"__layout__": "NC", "__lr_mult__": "3", "act_type": "relu"}),
     (lambda d: mx.sym.LeakyReLU(d, act_type="prelu", name="l"), "l_gamma",
      {"__init__": '["Constant", {"value": 0.25}]', "act_type": "prelu"})],
    ids=["fc-mults", "activation-dunder", "prelu-gamma-init"],
)
def test_attributes_written_as_mxnet(make, node, attrs):
    assert _node(make(mx.sym.var("data")), node)["attrs"] == attrs


def test_lr_mult_on_op_reaches_its_weights():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, lr_mult=2, name="fc")
    assert fc.attr_dict()["fc_weight"]["__lr_mult__"] == "2"
    assert fc.list_attr()["lr_mult"] == "2"


def test_unknown_plain_parameter_still_rejected():
    with pytest.raises(mx.MXNetError, match="unknown parameter 'foo'"):
        mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, foo=2)


def test_prelu_gamma_initialised_to_quarter():
    sym = mx.sym.LeakyReLU(mx.sym.var("data"), act_type="prelu")
    mod = mx.mod.Module(sym, label_names=None)
    mod.bind(data_shapes=[("data", (4, 5))])
    mod.init_params()
    (gamma,) = mod.get_params()[0].values()
    np.testing.assert_array_equal(gamma.asnumpy(), np.full(5, 0.25, np.float32))


def test_get_children_lists_each_node_once():
    data = mx.sym.var("data")
    sliced = mx.sym.SliceChannel(data, num_outputs=3, name="slice")
    concat = mx.sym.Concat(*list(sliced))
    assert concat.get_children().list_outputs() == [f"slice_output{i}" for i in range(3)]
    assert sliced.get_children().list_outputs() == ["data"]
    assert data.get_children() is None


def test_symbol_truth_value_raises_mxnet_error():
    with pytest.raises(NotImplementedForSymbol, match="only available in NDArray"):
        bool(mx.sym.var("x"))


def test_fluent_method_takes_name():
    assert mx.sym.var("x").abs(name="abs0").name == "abs0"


@pytest.mark.parametrize("flag", [False, True])
def test_is_np_shape_recorded_in_json(flag):
    with mx.util.np_shape(flag):
        attrs = json.loads(mx.sym.var("x").tojson())["attrs"]
    assert ("is_np_shape" in attrs) is flag
    if flag:
        assert attrs["is_np_shape"] == ["int", 1]


def test_unknown_zero_dims_flow_through_cast_and_convolution():
    # MXNet 1.x: 0 in a shape is an unknown dim; partial inference keeps what is known
    data = mx.sym.var("data", shape=(1, 0, 0, 0))
    weight = mx.sym.var("weight")
    conv = mx.sym.Convolution(mx.sym.cast(data, dtype="float16"),
                              mx.sym.cast(weight, dtype="float16"), pad=(3, 3),
                              num_filter=64, stride=(2, 2), no_bias=True, kernel=(7, 7))
    arg, _, _ = conv.infer_shape_partial()
    shapes = dict(zip(conv.list_arguments(), arg, strict=True))
    assert shapes == {"data": (1, 0, 0, 0), "weight": (64, 0, 7, 7)}
    arg, out, _ = conv.infer_shape(data=(1, 3, 16, 16))
    assert arg[1] == (64, 3, 7, 7) and out == [(1, 64, 8, 8)]


def test_elementwise_shapes_inferred_backwards():
    x, z = mx.sym.var("x"), mx.sym.var("z")
    arg, out, _ = (mx.sym.exp(x) + z).infer_shape(z=(2, 3))
    assert arg == [(2, 3), (2, 3)] and out == [(2, 3)]
