"""The fast path of ``mx.nd.<op>`` calls (issue 14): parsed parameters cached per (operator,
number of inputs, parameter values), never shared between calls, and the same results and
errors as the full path; and the malloc settings of ``ndarray/_malloc.py``."""

import os
import subprocess
import sys

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd
from mxlite.base import MXNetError
from mxlite.ndarray import _malloc
from mxlite.ndarray import op as nd_op


@pytest.fixture
def spy(monkeypatch):
    """The Params each forward of FullyConnected / Activation receives."""
    seen = []
    ops = [mx.operator.registry.get(n) for n in ("FullyConnected", "Activation")]
    for o in ops:
        orig = type(o).forward

        def forward(self, p, *a, _orig=orig, **k):
            seen.append(p)
            return _orig(self, p, *a, **k)

        monkeypatch.setattr(type(o), "forward", forward)
    return seen


def _x():
    return mx.nd.array(np.arange(6.0).reshape(2, 3) - 2.5)


def test_different_kwargs_get_different_params(spy):
    x = _x()
    mx.nd.Activation(x, act_type="relu")
    mx.nd.Activation(x, act_type="tanh")
    mx.nd.Activation(x, act_type="relu")
    assert [p.act_type for p in spy] == ["relu", "tanh", "relu"]
    assert spy[0] is not spy[2]  # a copy per call, not the cached object


def test_cached_params_not_mutated_by_a_caller(spy):
    x, w = _x(), mx.nd.ones((4, 3))
    first = mx.nd.FullyConnected(x, w, num_hidden=4, no_bias=True).asnumpy()
    spy[0]["num_hidden"] = 99  # a caller (or an operator) scribbling on its params
    spy[0].no_bias = False
    again = mx.nd.FullyConnected(x, w, num_hidden=4, no_bias=True).asnumpy()
    assert spy[1].num_hidden == 4 and spy[1].no_bias is True
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("a, b", [(1, 1.0), (1, True), ((1, 1), (1.0, 1.0)), ("1", 1)],
                         ids=["int-float", "int-bool", "tuple-elems", "str-int"])
def test_key_tells_equal_values_of_other_types_apart(a, b):
    assert nd_op._param_key({"k": a}) != nd_op._param_key({"k": b})


@pytest.mark.parametrize("value", [np.float32(0.5), [1, [2]], {"a": 1}, mx.nd.ones((1,))],
                         ids=["numpy-scalar", "nested-list", "dict", "ndarray"])
def test_unhashable_or_unusual_values_take_the_full_path(value):
    assert nd_op._param_key({"k": value}) is None


def test_operator_registered_anew_is_not_served_from_the_cache(monkeypatch):
    x = _x()
    mx.nd.Activation(x, act_type="relu")
    registry = mx.operator.registry
    old = registry.get("Activation")
    new = type(old)()
    calls = []

    def forward(p, *a, **k):
        calls.append(p.act_type)
        return type(old).forward(new, p, *a, **k)

    new.forward = forward
    monkeypatch.setitem(registry._OPERATORS, "Activation", new)
    mx.nd.Activation(x, act_type="relu")
    assert calls == ["relu"]


def test_cache_is_bounded():
    assert nd_op._layout.cache_info().maxsize == 1024
    x = _x()
    for i in range(1100):
        mx.nd.clip(x, a_min=-float(i), a_max=float(i))
    assert nd_op._layout.cache_info().currsize <= 1024


@pytest.mark.parametrize("call, message", [
    (lambda x: mx.nd.Activation(x, act_type="bogus"), "act_type"),
    (lambda x: mx.nd.Activation(x, x, act_type="relu"), "inputs given"),
    (lambda x: mx.nd.FullyConnected(x, num_hidden=2), "missing"),
    (lambda x: mx.nd.Activation(x, act_type="relu", nope=1), "unknown parameter"),
], ids=["bad-choice", "surplus-input", "missing-input", "unknown-param"])
def test_errors_as_the_full_path(call, message):
    x = _x()
    for _ in range(2):  # the second call would hit a (wrongly) cached entry
        with pytest.raises(MXNetError, match=message):
            call(x)


@pytest.mark.parametrize("name, kwargs, n_inputs", [
    ("FullyConnected", {"num_hidden": 4}, 3),
    ("FullyConnected", {"num_hidden": 4, "no_bias": True, "flatten": False}, 2),
    ("Activation", {"act_type": "sigmoid"}, 1),
    ("Concat", {"dim": 1}, 3),
    ("BatchNorm", {"fix_gamma": False, "eps": 1e-3}, 5),
    ("Convolution", {"kernel": [3, 3], "num_filter": 2, "pad": (1, 1)}, 3),
], ids=lambda v: v if isinstance(v, str) else None)
def test_fast_path_equals_full_path_with_gradients(name, kwargs, n_inputs):
    shapes = {"FullyConnected": [(2, 3), (4, 3), (4,)], "Activation": [(2, 3)],
              "Concat": [(2, 3), (2, 1), (2, 2)], "BatchNorm": [(2, 3, 2, 2)] + [(3,)] * 4,
              "Convolution": [(1, 2, 4, 4), (2, 2, 3, 3), (2,)]}[name][:n_inputs]
    n_diff = 3 if name == "BatchNorm" else n_inputs  # arguments, not auxiliary states
    results = []
    for fast in (True, False):
        rng = np.random.default_rng(0)
        arrays = [mx.nd.array(np.abs(rng.standard_normal(s)) + 0.5) for s in shapes]
        for a in arrays[:n_diff]:
            a.attach_grad()
        with autograd.record():
            if fast:
                out = nd_op.invoke(name, tuple(arrays), dict(kwargs))
            else:
                out = nd_op._invoke_full(name, tuple(arrays), dict(kwargs), None, False)
            out = out[0] if isinstance(out, list) else out
            loss = (out * out).sum()
        loss.backward()
        results.append([out.asnumpy()] + [a.grad.asnumpy() for a in arrays[:n_diff]])
    for f, s in zip(*results, strict=True):
        np.testing.assert_allclose(f, s, rtol=1e-6, atol=1e-6)


def test_fast_path_out_argument():
    x = _x()
    out = mx.nd.zeros((2, 3))
    assert mx.nd.Activation(x, act_type="relu", out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.maximum(x.asnumpy(), 0))


def _probe(env):
    code = ("import mxlite as mx; mx.nd.ones((1,)) + 1; "
            "from mxlite.ndarray import _malloc; print(_malloc._applied)")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return res.stdout.strip()


@pytest.mark.skipif(not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
                    if hasattr(os, "confstr") else True, reason="glibc only")
def test_malloc_tune_applied_and_opt_out():
    assert _malloc.tune() is True
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    assert _probe(env) == "True"
    assert _probe(dict(env, MXLITE_MALLOC_TUNE="0")) == "False"
