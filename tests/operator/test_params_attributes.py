"""Parsed operator parameters: attribute reads are plain lookups, copies and pickles keep them
in step with the mapping, and a parameter named like a dict method leaves the methods alone."""

import copy
import pickle

import pytest

from mxlite.operator.registry import Params, get


@pytest.mark.parametrize("make", [lambda p: p, copy.copy, copy.deepcopy,
                                  lambda p: pickle.loads(pickle.dumps(p))],
                         ids=["parsed", "copy", "deepcopy", "pickle"])
def test_attributes_follow_the_mapping(make):
    p = make(get("FullyConnected").parse_params({"num_hidden": 3}))
    assert type(p) is Params
    assert p.num_hidden == 3 and p.no_bias is False
    p["num_hidden"] = 7  # a later change is seen through the attribute
    assert p.num_hidden == 7
    assert p.__dict__ is p  # the fast path: the mapping is the attribute dictionary
    with pytest.raises(AttributeError):
        _ = p.not_a_parameter


def test_parameter_named_like_a_dict_method_keeps_the_methods():
    p = get("Custom").parse_params({"op_type": "x", "items": "3", "keys": "a"})
    assert p["items"] == "3" and p["keys"] == "a"
    assert sorted(p.items())[0] == ("items", "3")  # dict.items, not the parameter
    assert p.op_type == "x"  # still readable as an attribute (the __getattr__ fallback)
