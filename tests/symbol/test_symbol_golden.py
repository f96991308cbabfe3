"""Symbol API results against MXNet 1.9.1 (fixtures from tools/gen_golden_symbol.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import symbol_nets as sn

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.operator import registry

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "symbol_api.json")
with open(GOLDEN) as _f:
    API = json.load(_f)

NETS = sorted(API["nets"])


def _missing_ops(graph: dict) -> list[str]:
    missing = []
    for node in graph["nodes"]:
        if node["op"] != "null":
            try:
                registry.get(node["op"])
            except MXNetError:
                missing.append(node["op"])
    return sorted(set(missing))


def _build(name):
    missing = _missing_ops(API["nets"][name]["json"])
    if missing:
        pytest.skip(f"operators not implemented yet: {missing}")
    return sn.build(mx, name)


def _comparable(graph: dict) -> dict:
    """MXNet's JSON minus node_row_ptr, whose hidden-output counts depend on the backend
    (MKLDNN max pooling keeps a workspace output)."""
    return {k: v for k, v in graph.items() if k != "node_row_ptr"}


@pytest.mark.parametrize("name", NETS)
@pytest.mark.parametrize("method", ["list_arguments", "list_outputs", "list_auxiliary_states",
                                    "list_inputs"])
def test_lists_match_mxnet(name, method):
    sym = _build(name)
    assert getattr(sym, method)() == API["nets"][name][method]


@pytest.mark.parametrize("name", NETS)
def test_internals_and_attr_dict_match_mxnet(name):
    sym = _build(name)
    exp = API["nets"][name]
    assert sym.get_internals().list_outputs() == exp["internals"]
    assert sym.attr_dict() == exp["attr_dict"]


@pytest.mark.parametrize("name", NETS)
def test_tojson_matches_mxnet(name):
    sym = _build(name)
    mine = json.loads(sym.tojson())
    exp = API["nets"][name]["json"]
    assert _comparable(mine) == _comparable(exp)
    assert len(mine["node_row_ptr"]) == len(exp["node_row_ptr"])


@pytest.mark.parametrize("name", NETS)
def test_load_mxnet_json_roundtrips(name):
    exp = API["nets"][name]["json"]
    missing = _missing_ops(exp)
    if missing:
        pytest.skip(f"operators not implemented yet: {missing}")
    sym = mx.sym.load_json(json.dumps(exp))
    assert sym.list_arguments() == API["nets"][name]["list_arguments"]
    assert sym.list_auxiliary_states() == API["nets"][name]["list_auxiliary_states"]
    assert _comparable(json.loads(sym.tojson())) == _comparable(exp)
    again = mx.sym.load_json(sym.tojson())
    assert again.tojson() == sym.tojson()


@pytest.mark.parametrize("name", NETS)
def test_infer_shape_and_type_match_mxnet(name):
    sym = _build(name)
    exp = API["nets"][name]
    arg, out, aux = sym.infer_shape(**sn.SHAPES[name])
    assert [list(s) for s in arg] == exp["arg_shapes"]
    assert [list(s) for s in out] == exp["out_shapes"]
    assert [list(s) for s in aux] == exp["aux_shapes"]
    arg_t, out_t, aux_t = sym.infer_type(**{k: "float32" for k in sn.SHAPES[name]})
    assert [np.dtype(t).name for t in arg_t] == exp["arg_types"]
    assert [np.dtype(t).name for t in out_t] == exp["out_types"]
    assert [np.dtype(t).name for t in aux_t] == exp["aux_types"]


@pytest.mark.parametrize("name", NETS)
def test_infer_shape_partial_agrees_with_mxnet(name):
    """Everything MXNet decides without input shapes we decide identically (our operators may
    decide more, e.g. a FullyConnected bias from num_hidden alone)."""
    sym = _build(name)
    exp = API["nets"][name]
    if not exp["partial_arg_shapes"]:
        pytest.skip("MXNet fails here (it calls the Python infer_shape with unknown shapes)")
    arg, out, _ = sym.infer_shape_partial()
    for mine, theirs in zip(arg + out, exp["partial_arg_shapes"] + exp["partial_out_shapes"],
                            strict=True):
        if theirs:
            assert list(mine) == theirs


def test_mlp_partial_with_weight_matches_mxnet():
    sym = _build("mlp")
    arg, _, _ = sym.infer_shape_partial(fc1_weight=(16, 12))
    exp_arg = API["mlp_partial_fc1_weight"][0]
    assert list(arg[1]) == exp_arg[1]
    for mine, theirs in zip(arg, exp_arg, strict=True):
        if theirs:
            assert list(mine) == theirs


VARIABLE_CASES = {
    "shape": {"shape": (2, 3)},
    "mults": {"lr_mult": 2.0, "wd_mult": 0},
    "dtype": {"dtype": "float16"},
    "init_str": {"init": "zeros"},
    "init_obj": {"init": "xavier-instance"},
    "stype": {"stype": "row_sparse"},
    "attr": {"attr": {"__foo__": "bar"}, "__extra__": 3},
    "all": {"shape": (4,), "lr_mult": 0.5, "dtype": "float64", "init": "ones"},
}


@pytest.mark.parametrize("vid", sorted(VARIABLE_CASES))
def test_variable_attributes_match_mxnet(vid):
    kwargs = dict(VARIABLE_CASES[vid])
    if kwargs.get("init") == "xavier-instance":
        init_mod = pytest.importorskip("mxlite.initializer")
        kwargs["init"] = init_mod.Xavier(magnitude=2.0)
    v = mx.sym.Variable("v", **kwargs)
    exp = API["variables"][vid]
    if vid == "init_obj":
        # the initializer's dumps() is compared as JSON (key order is the initializer's business)
        mine = json.loads(v.attr_dict()["v"]["__init__"])
        theirs = json.loads(exp["attr_dict"]["v"]["__init__"])
        assert mine == theirs
        return
    assert json.loads(v.tojson()) == exp["json"]
    assert v.attr_dict() == exp["attr_dict"]


# lenet's max Pooling has a hidden workspace output only under MXNet's MKLDNN backend, which
# changes node_row_ptr; every other network must be written byte for byte like MXNet
TEXT_NETS = [n for n in NETS if n != "lenet"]


@pytest.mark.parametrize("name", TEXT_NETS)
def test_tojson_text_is_byte_identical_to_mxnet(name):
    sym = _build(name)
    assert sym.tojson() == API["nets"][name]["json_text"]
