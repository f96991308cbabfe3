"""Symbol construction, naming, attributes, indexing, inference, JSON and error messages."""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.symbol.name import NameManager, Prefix


@pytest.fixture(autouse=True)
def _fresh_names():
    with NameManager():
        yield


# ---------------------------------------------------------------------- naming
def test_automatic_names_count_per_hint():
    data = mx.sym.Variable("data")
    a = mx.sym.FullyConnected(data, num_hidden=3)
    b = mx.sym.FullyConnected(a, num_hidden=3)
    c = mx.sym.Flatten(b)
    d = mx.sym.flatten(c)
    assert [a.name, b.name, c.name, d.name] == ["fullyconnected0", "fullyconnected1",
                                                "flatten0", "flatten1"]
    assert b.list_arguments() == ["data", "fullyconnected0_weight", "fullyconnected0_bias",
                                  "fullyconnected1_weight", "fullyconnected1_bias"]


def test_prefix_applies_to_operator_names_not_variables():
    with Prefix("net_"):
        data = mx.sym.Variable("data")
        fc = mx.sym.FullyConnected(data, num_hidden=2)
        named = mx.sym.Activation(fc, act_type="relu", name="act")
    assert data.name == "data"
    assert fc.name == "net_fullyconnected0"
    assert named.name == "net_act"


def test_attr_scope_tags_operators_and_created_variables():
    with mx.sym.AttrScope(ctx_group="dev1", __mirror__="x"):
        fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2, name="fc")
    attrs = fc.attr_dict()
    assert attrs["fc"]["__ctx_group__"] == "dev1" and attrs["fc"]["ctx_group"] == "dev1"
    assert attrs["fc_weight"]["__mirror__"] == "x"
    assert attrs["data"] == {"__ctx_group__": "dev1", "ctx_group": "dev1", "__mirror__": "x"}
    with pytest.raises(ValueError, match="string"):
        mx.sym.AttrScope(ctx_group=1)


# ---------------------------------------------------------------------- construction
def test_inputs_by_keyword_and_params_positionally():
    x = mx.sym.Variable("x")
    w = mx.sym.Variable("w")
    fc = mx.sym.FullyConnected(data=x, weight=w, num_hidden=4, no_bias=True, name="fc")
    assert fc.list_arguments() == ["x", "w"]
    clipped = mx.sym.clip(x, 0, 1)
    assert clipped.attr("a_min") == "0" and clipped.attr("a_max") == "1"


def test_created_variables_copy_the_operator_attributes():
    fc = mx.sym.FullyConnected(mx.sym.Variable("d"), num_hidden=5, name="fc",
                               attr={"lr_mult": "2"})
    assert fc.attr_dict()["fc_bias"] == {"num_hidden": "5", "__lr_mult__": "2", "lr_mult": "2"}


def test_concat_counts_its_inputs():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    c = mx.sym.Concat(a, b, a, dim=0)
    assert c.attr("num_args") == "3"
    assert c.list_arguments() == ["a", "b"]
    assert c.infer_shape(a=(1, 2), b=(3, 2))[1] == [(5, 2)]
    with pytest.raises(MXNetError, match="num_args=2"):
        mx.sym.Concat(a, b, a, num_args=2)


ERRORS = [
    ("unknown-op", lambda: mx.sym.NoSuchOperator, AttributeError, "NoSuchOperator"),
    ("close-match", lambda: mx.sym.FullyConected, AttributeError, "FullyConnected"),
    ("missing-param", lambda: mx.sym.FullyConnected(mx.sym.Variable("x")), MXNetError,
     "required parameter 'num_hidden'"),
    ("unknown-param", lambda: mx.sym.Flatten(mx.sym.Variable("x"), axis=1), MXNetError,
     "unknown parameter 'axis'"),
    ("bad-value", lambda: mx.sym.Reshape(mx.sym.Variable("x"), shape="abc"), MXNetError,
     "shape"),
    ("too-many-inputs", lambda: mx.sym.Flatten(mx.sym.Variable("x"), mx.sym.Variable("y")),
     MXNetError, "at most 1"),
    ("unknown-input", lambda: mx.sym.Flatten(foo=mx.sym.Variable("x")), MXNetError,
     "unknown input 'foo'"),
    ("group-input", lambda: mx.sym.Flatten(mx.sym.split(mx.sym.Variable("x"), num_outputs=2)),
     MXNetError, "single output"),
    ("variable-name", lambda: mx.sym.Variable(3), TypeError, "string"),
    ("variable-attr", lambda: mx.sym.Variable("v", foo=1), ValueError, "double underscores"),
    ("op-attr", lambda: mx.sym.Flatten(mx.sym.Variable("x"), attr={"foo": "1"}), ValueError,
     "double underscores"),
    ("variable-stype", lambda: mx.sym.Variable("v", stype="dense"), ValueError, "stype"),
]


@pytest.mark.parametrize("case, fn, exc, text", ERRORS, ids=[e[0] for e in ERRORS])
def test_construction_errors(case, fn, exc, text):
    with pytest.raises(exc, match=text):
        fn()


# ---------------------------------------------------------------------- structure
def test_indexing_iteration_and_internals():
    x = mx.sym.Variable("x")
    parts = mx.sym.split(x, num_outputs=3, name="sp")
    assert len(parts) == 3
    assert parts.list_outputs() == ["sp_output0", "sp_output1", "sp_output2"]
    assert parts[1].list_outputs() == ["sp_output1"]
    assert parts["sp_output2"].list_outputs() == ["sp_output2"]
    assert parts[-1].list_outputs() == ["sp_output2"]
    assert parts[0:2].list_outputs() == ["sp_output0", "sp_output1"]
    assert [p.list_outputs()[0] for p in parts] == parts.list_outputs()
    assert parts.name == "sp"
    with pytest.raises(ValueError, match='"nope"'):
        parts["nope"]
    with pytest.raises(IndexError):
        parts[3]
    net = mx.sym.sum(parts[0] * 2.0, name="total")
    internals = net.get_internals()
    assert internals.list_outputs() == ["x", "sp_output0", "sp_output1", "sp_output2",
                                        "_mulscalar0_output", "total_output"]
    assert internals["_mulscalar0_output"].get_children().list_outputs() == ["sp_output0"]
    assert x.get_children() is None
    group = mx.sym.Group([net, x])
    assert group.list_outputs() == ["total_output", "x"] and group.name is None
    assert repr(group) == "<Symbol group [total, x]>" and repr(net) == "<Symbol total>"


def test_attributes_set_and_listed():
    x = mx.sym.Variable("x", lr_mult=0.1)
    y = x * 2
    y._set_attr(wd_mult="0", __note__="n")
    assert y.attr("wd_mult") == "0" and y.attr("__wd_mult__") == "0"
    assert y.list_attr() == {"scalar": "2", "__wd_mult__": "0", "wd_mult": "0",
                             "__note__": "n"}
    assert x.attr("lr_mult") == "0.1"
    assert y.attr("missing") is None
    with pytest.raises(ValueError, match="string"):
        y._set_attr(wd_mult=0)


def test_compose_replaces_arguments():
    x, y = mx.sym.Variable("x"), mx.sym.Variable("y")
    net = mx.sym.elemwise_add(x, y, name="add")
    z = mx.sym.Variable("z")
    composed = net(x=z * 2)
    assert composed.list_arguments() == ["z", "y"]
    assert net.list_arguments() == ["x", "y"]  # the original is unchanged
    positional = net(z, z)
    assert positional.list_arguments() == ["z"]
    with pytest.raises(TypeError, match="not an argument"):
        net(w=z)


def test_copies_and_pickles_roundtrip():
    net = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=2, name="fc") + 1
    for other in (copy.copy(net), copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert other.tojson() == net.tojson()
        assert other is not net


# ---------------------------------------------------------------------- inference
def test_infer_shape_positional_partial_and_attribute():
    x = mx.sym.Variable("x")
    b = mx.sym.Variable("b", shape=(2, 3))
    net = mx.sym.broadcast_mul(x, b)
    assert net.infer_shape((1, 3)) == ([(1, 3), (2, 3)], [(2, 3)], [])
    assert net.infer_shape_partial() == ([(), (2, 3)], [()], [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert net.infer_shape() == (None, None, None)
    assert "x: ()" in str(caught[0].message)


def test_partial_shape_variable_is_refined():
    x = mx.sym.Variable("x", shape=(0, 3))
    y = mx.sym.Variable("y")
    net = x + y
    assert net.infer_shape(y=(4, 3)) == ([(4, 3), (4, 3)], [(4, 3)], [])


def test_infer_shape_conflict_names_operator_and_shapes():
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=10, name="fc")
    with pytest.raises(MXNetError, match=r"fc.*\(3, 3\).*\(10, 5\)|fc.*\(10, 5\).*\(3, 3\)"):
        fc.infer_shape(data=(4, 5), fc_weight=(3, 3))
    with pytest.raises(MXNetError, match="'nope' not found"):
        fc.infer_shape(nope=(1,))


def test_infer_type_uses_dtype_attribute_and_cast():
    x = mx.sym.Variable("x", dtype="float16")
    net = mx.sym.Cast(x * 2, dtype="float64")
    assert net.infer_type() == ([np.float16], [np.float64], [])
    assert mx.sym.Variable("v").infer_type_partial() == ([None], [None], [])


# ---------------------------------------------------------------------- JSON
def test_save_and_load(tmp_path):
    net = mx.sym.MakeLoss(mx.sym.sum(mx.sym.Variable("x") ** 2), name="loss")
    path = tmp_path / "net-symbol.json"
    net.save(str(path))
    back = mx.sym.load(str(path))
    assert back.tojson() == net.tojson()
    graph = json.loads(back.tojson())
    assert graph["attrs"] == {"mxnet_version": ["int", 10901]}
    assert [n["op"] for n in graph["nodes"]] == ["null", "_power_scalar", "sum", "MakeLoss"]


LEGACY = {
    "nodes": [
        {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "fc_weight", "inputs": [],
         "backward_source_id": -1, "attr": {"lr_mult": "2"}},
        {"op": "null", "param": {}, "name": "fc_bias", "inputs": [], "backward_source_id": -1},
        {"op": "FullyConnected", "param": {"no_bias": "False", "num_hidden": "3"},
         "name": "fc", "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1,
         "attr": {"ctx_group": "stage1"}},
    ],
    "arg_nodes": [0, 1, 2],
    "heads": [[3, 0]],
}


def test_load_legacy_json_with_param_and_attr_keys():
    sym = mx.sym.load_json(json.dumps(LEGACY))
    assert sym.list_arguments() == ["data", "fc_weight", "fc_bias"]
    assert sym.attr("num_hidden") == "3"
    assert sym.attr("ctx_group") == "stage1"
    assert sym.infer_shape(data=(2, 4))[1] == [(2, 3)]
    node = json.loads(sym.tojson())["nodes"][3]
    assert node["attrs"] == {"__ctx_group__": "stage1", "no_bias": "False", "num_hidden": "3"}


BAD_JSON = [
    ("not-json", "{nodes", "not a symbol JSON"),
    ("unknown-op", json.dumps({"nodes": [{"op": "Nope", "name": "n", "inputs": []}],
                               "heads": [[0, 0, 0]]}), "Nope"),
    ("bad-input-count", json.dumps({"nodes": [
        {"op": "null", "name": "x", "inputs": []},
        {"op": "elemwise_add", "name": "a", "inputs": [[0, 0, 0]]}],
        "heads": [[1, 0, 0]]}), "1 inputs, expected 2"),
    ("bad-param", json.dumps({"nodes": [
        {"op": "null", "name": "x", "inputs": []},
        {"op": "Flatten", "name": "f", "attrs": {"bogus": "1"}, "inputs": [[0, 0, 0]]}],
        "heads": [[1, 0, 0]]}), "bogus"),
]


@pytest.mark.parametrize("case, text, match", BAD_JSON, ids=[b[0] for b in BAD_JSON])
def test_load_json_errors(case, text, match):
    with pytest.raises(MXNetError, match=match):
        mx.sym.load_json(text)


# ---------------------------------------------------------------------- mx.nd wrappers
def test_nd_operator_functions():
    x = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert mx.nd.Reshape(x, shape=(3, -1)).shape == (3, 2)
    parts = mx.nd.SliceChannel(x, num_outputs=3, axis=1)
    assert [p.shape for p in parts] == [(2, 1)] * 3
    out = mx.nd.zeros((2, 3))
    res = mx.nd.elemwise_add(lhs=x, rhs=x, out=out)
    assert res is out and out.asnumpy()[1, 2] == 10
    assert mx.nd.add_n(x, x, x).asnumpy()[1, 2] == 15
    with pytest.raises(MXNetError, match="missing"):
        mx.nd.Flatten()
    with pytest.raises(AttributeError):
        mx.nd.NoSuchOperator  # noqa: B018


def test_eval_runs_forward():
    x = mx.sym.Variable("x")
    (out,) = (x * 2 + 1).eval(x=mx.nd.ones((2,)))
    np.testing.assert_allclose(out.asnumpy(), [3.0, 3.0])


CREATION = [
    ("zeros", lambda: mx.sym.zeros((2, 3), name="z"), "_zeros", np.zeros((2, 3))),
    ("ones", lambda: mx.sym.ones((2,), dtype="float64"), "_ones", np.ones(2)),
    ("full", lambda: mx.sym.full((2,), 3.5), "_full", np.full(2, 3.5)),
    ("arange", lambda: mx.sym.arange(0, 5, 2), "_arange", np.array([0.0, 2.0, 4.0])),
    ("arange_repeat", lambda: mx.sym.arange(3, repeat=2), "_arange",
     np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])),
]


@pytest.mark.parametrize("cid, make, op, expected", CREATION, ids=[c[0] for c in CREATION])
def test_creation_symbols(cid, make, op, expected):
    sym = make()
    assert json.loads(sym.tojson())["nodes"][0]["op"] == op
    assert sym.list_arguments() == []
    assert sym.infer_shape()[1] == [expected.shape]
    (out,) = sym.eval()
    np.testing.assert_allclose(out.asnumpy(), expected)


def test_fluent_methods_name_like_mxnet():
    x = mx.sym.Variable("x")
    assert [x.exp().name, x.swapaxes(0, 1).name, x.max(axis=1).name] == \
        ["exp0", "swapaxes0", "max0"]
    assert x.swapaxes(0, 1).attr("dim2") == "1"
    y = x.reshape((0, -1)).transpose().sum(axis=0).astype("float64")
    assert y.infer_type(x="float32")[1] == [np.float64]


LEGACY_BN = {
    "nodes": [
        {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "bn_gamma", "inputs": [], "backward_source_id": -1},
        {"op": "null", "param": {}, "name": "bn_beta", "inputs": [], "backward_source_id": -1},
        {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "True", "momentum": "0.9",
                                      "use_global_stats": "False"},
         "name": "bn", "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},
    ],
    "arg_nodes": [0, 1, 2],
    "heads": [[3, 0]],
}


def test_load_pre_0_9_json_creates_implicit_auxiliary_states():
    sym = mx.sym.load_json(json.dumps(LEGACY_BN))
    assert sym.list_arguments() == ["data", "bn_gamma", "bn_beta"]
    assert sym.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert sym.attr_dict()["bn_moving_var"] == {"__init__": '["one", {}]'}
    modern = dict(LEGACY_BN, attrs={"mxnet_version": ["int", 10901]})
    with pytest.raises(MXNetError, match="3 inputs, expected 5"):
        mx.sym.load_json(json.dumps(modern))
