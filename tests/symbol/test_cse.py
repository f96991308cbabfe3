"""Common-subexpression elimination at bind against MXNet 1.9.1 (tests/golden/cse.json, from
tools/gen_golden_cse.py): the optimized graph node for node, and the numbers unchanged."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from cse_graphs import GRAPHS, build, describe

import mxlite as mx
from mxlite.symbol import _cse

GOLDEN = os.path.join(os.path.dirname(__file__), os.pardir, "golden", "cse.json")
with open(GOLDEN) as _f:
    EXPECTED = json.load(_f)["graphs"]
CASES = [(name, mode) for name in GRAPHS for mode in ("on", "off")]


def _bind(name, monkeypatch, enabled, grad_req="write"):
    monkeypatch.setenv("MXNET_ELIMINATE_COMMON_EXPR", "1" if enabled else "0")
    sym, shapes = build(mx, name)
    return sym, sym.simple_bind(mx.cpu(), grad_req=grad_req, **shapes)


@pytest.mark.parametrize("name, mode", CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_optimized_graph_is_mxnets(name, mode, monkeypatch):
    sym, exe = _bind(name, monkeypatch, mode == "on")
    want = dict(EXPECTED[name][mode])
    assert want.pop("original_internals") == len(sym.get_internals())
    assert describe(exe.get_optimized_symbol()) == want


@pytest.mark.parametrize("grad_req", ["write", "add"])
@pytest.mark.parametrize("name", [n for n in GRAPHS if n != "dropout"])
def test_numbers_are_unchanged(name, grad_req, monkeypatch):
    runs = []
    for enabled in (False, True):
        rng = np.random.default_rng(3)
        _, exe = _bind(name, monkeypatch, enabled, grad_req)
        for arr in exe.arg_arrays + exe.aux_arrays:
            arr[:] = mx.nd.array(np.random.default_rng(arr.size).uniform(0.5, 1.5, arr.shape))
        outs = exe.forward(is_train=True)
        heads = [mx.nd.array(rng.uniform(size=o.shape)) for o in outs]
        exe.backward(heads)
        runs.append(([o.asnumpy() for o in outs],
                     [None if g is None else g.asnumpy() for g in exe.grad_arrays]))
    (o_off, g_off), (o_on, g_on) = runs
    for a, b in zip(o_off, o_on, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    for a, b in zip(g_off, g_on, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_merged_outputs_are_separate_arrays(monkeypatch):
    _, exe = _bind("two_equal_outputs", monkeypatch, True)
    first, second = exe.forward()
    assert not np.shares_memory(first._data, second._data)
    assert list(exe.output_dict) == ["_mul0_output", "_mul1_output"]  # the bound names


def test_the_bound_symbol_is_not_changed(monkeypatch):
    sym, exe = _bind("nested_twice", monkeypatch, True)
    before = sym.tojson()
    exe.forward()
    assert sym.tojson() == before
    assert len(exe.symbol.get_internals()) == 8


def test_merging_saves_the_work(monkeypatch):
    calls = []
    _, exe = _bind("same_sum_twice", monkeypatch, True)
    exe.set_monitor_callback(lambda name, arr: calls.append(name))
    exe.forward()
    assert calls == ["_plus0_output", "_plus2_output"]


@pytest.mark.parametrize("value, on", [("1", True), ("0", False), ("false", False), (None, True)],
                         ids=["1", "0", "false", "unset"])
def test_environment_switch(value, on, monkeypatch):
    if value is None:
        monkeypatch.delenv("MXNET_ELIMINATE_COMMON_EXPR", raising=False)
    else:
        monkeypatch.setenv("MXNET_ELIMINATE_COMMON_EXPR", value)
    assert _cse.enabled() is on
