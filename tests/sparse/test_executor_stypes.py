"""Storage types of bound executors' outputs and of simple_bind's gradients against MXNet 1.9.1
(cases of tools/gen_golden_sparse_executor.py, tests/golden/sparse_executor.json).

Each case is a symbol over variables of given storage types: ``bind`` with arrays of those
types and ``forward`` must give MXNet's output storage types and values (or raise where MXNet
refuses the inputs); ``simple_bind(stype_dict=...)`` must allocate gradients of MXNet's storage
types, and forward/backward must give its output storage types and gradient values.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from hypothesis.extra.numpy import arrays as harrays

import mxlite as mx
from mxlite import _storage_inference as si

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "golden", "sparse_executor.json")) as f:
    GOLDEN = json.load(f)
ARRAYS = GOLDEN["arrays"]
CASES = GOLDEN["cases"]
IDS = sorted(CASES)

#: where MXNet 1.9.1 raises and mxlite computes (case -> mxlite's output storage; the values
#: are checked against the same graph on dense inputs)
BIND_WORKS = {
    # MXNet's MKL-DNN build fails a storage check for a row_sparse FullyConnected weight; the
    # storage fallback computes it
    "fc_w-row_sparse": "default",
    # MXNet raises for broadcast_div(csr, dense) of equal shapes; its csr / dense kernel is used
    "broadcast_div-csr-default": "csr",
    # MXNet refuses these inputs; each has a clear answer, which mxlite computes
    **{f"{case}-{st}": "default" for case in ("square_sum0", "square_sum1", "square_sum1k",
                                              "retain") for st in ("default", "csr")},
    "cast_csr-row_sparse": "csr", "cast_rsp-csr": "row_sparse",
    "clip_moves_zero-row_sparse": "default", "clip_moves_zero-csr": "default",
}
SIMPLE_BIND_WORKS = {
    *(k for k in BIND_WORKS if k != "fc_w-row_sparse"),
    # MXNet has no _backward_sparse_retain for a row_sparse head gradient; mxlite computes it
    "retain-row_sparse",
    # MXNet fails reading the gradient of _square_sum(rsp, axis=1, keepdims=True) after backward
    "square_sum1k-row_sparse",
    "broadcast_div-csr-default",
}


def _symbol(case):
    env = {"mx": mx}
    for var, _, st in case["inputs"]:
        kw = {} if st in ("default", "aux") else {"stype": st}
        env[var] = mx.sym.Variable(var, **kw)
    return eval(case["expr"], env)


def _array(name, stype):
    arr = mx.nd.array(np.asarray(ARRAYS[name], dtype=np.float32))
    return arr if stype in ("default", "aux") else arr.tostype(stype)


def _inputs(case):
    args = {v: _array(a, st) for v, a, st in case["inputs"] if st != "aux"}
    aux = {v: _array(a, st) for v, a, st in case["inputs"] if st == "aux"}
    return args, aux


def _close(got, want, what):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6, equal_nan=True, err_msg=what)


def _stored_only(case, dense_result, cid):
    """A sparse result of a sparse first input is computed on its stored entries only."""
    if BIND_WORKS[cid] == "default":
        return dense_result
    first = np.asarray(ARRAYS[case["inputs"][0][1]])
    return np.where(first != 0, dense_result, 0)


def _bind(case):
    sym = _symbol(case)
    args, aux = _inputs(case)
    exe = sym.bind(mx.cpu(), args={n: args[n] for n in sym.list_arguments()},
                   aux_states={n: aux[n].copy() for n in sym.list_auxiliary_states()} or None)
    exe.forward(is_train=False)
    return exe


@pytest.mark.parametrize("cid", IDS, ids=IDS)
def test_bind_output_stypes_and_values(cid):
    case = CASES[cid]
    want = case["bind"]
    if "error" in want and cid not in BIND_WORKS:
        with pytest.raises(mx.MXNetError):
            _bind(case)
        return
    exe = _bind(case)
    if cid in BIND_WORKS:  # mxlite's answer: the numbers of the dense computation
        assert exe.outputs[0].stype == BIND_WORKS[cid]
        dense = {v: _array(a, "default") for v, a, st in case["inputs"] if st != "aux"}
        sym = _symbol(case)
        ref = sym.bind(mx.cpu(), args={n: dense[n] for n in sym.list_arguments()})
        ref.forward()
        _close(exe.outputs[0].asnumpy(), _stored_only(case, ref.outputs[0].asnumpy(), cid), cid)
        return
    assert [o.stype for o in exe.outputs] == want["stypes"]
    for k, (o, v) in enumerate(zip(exe.outputs, want["values"], strict=True)):
        _close(o.asnumpy(), v, f"{cid} output {k}")


def _simple_bind(case):
    sym = _symbol(case)
    args, aux = _inputs(case)
    names = sym.list_arguments()
    reqs = {n: ("null" if n in ("i", "t", "c") else "write") for n in names}
    return sym.simple_bind(mx.cpu(), grad_req=reqs,
                           stype_dict={n: args[n].stype for n in names},
                           **{n: args[n].shape for n in names}), args, aux


@pytest.mark.parametrize("cid", IDS, ids=IDS)
def test_simple_bind_grad_stypes_and_values(cid):
    case = CASES[cid]
    want = case["simple_bind"]
    if "grad_stypes" not in want and cid not in SIMPLE_BIND_WORKS:
        with pytest.raises(mx.MXNetError):
            _simple_bind(case)
        return
    exe, args, aux = _simple_bind(case)
    if "grad_stypes" in want:
        got = {n: g.stype for n, g in exe.grad_dict.items() if g is not None}
        assert got == want["grad_stypes"]
        assert {n: a.stype for n, a in exe.arg_dict.items()} == want["arg_stypes"]
    for n, a in args.items():
        a.copyto(exe.arg_dict[n])
    for n, a in aux.items():
        a.copyto(exe.aux_dict[n])
    exe.forward(is_train=True)
    if "out_stypes" in want:
        assert [o.stype for o in exe.outputs] == want["out_stypes"]
    exe.backward([mx.nd.ones(o.shape) for o in exe.outputs])
    if "grads" in want:
        for n, g in want["grads"].items():
            _close(exe.grad_dict[n].asnumpy(), g, f"{cid} gradient of {n}")
    else:  # mxlite computes what MXNet cannot: check the gradient against the dense graph
        dense = {v: _array(a, "default") for v, a, st in case["inputs"] if st != "aux"}
        sym = _symbol(case)
        ref = sym.simple_bind(mx.cpu(), grad_req="write",
                              **{n: a.shape for n, a in dense.items()})
        for n, a in dense.items():
            a.copyto(ref.arg_dict[n])
        ref.forward(is_train=True)
        ref.backward([mx.nd.ones(o.shape) for o in ref.outputs])
        for n, g in exe.grad_dict.items():
            if g is not None and n not in ("i", "t", "c"):
                _close(g.asnumpy(), ref.grad_dict[n].asnumpy(), f"{cid} gradient of {n}")


# ---------------------------------------------------------------------- the rules themselves
@pytest.mark.parametrize("stypes,expected", [
    (["default", "default"], (["default"], "dense")),
    (["row_sparse", "row_sparse"], (["row_sparse"], "sparse")),
    (["csr", "csr"], (["csr"], "sparse")),
    (["default", "row_sparse"], (["default"], "sparse")),
    (["row_sparse", "csr"], (["default"], "fallback")),
], ids=["dns-dns", "rsp-rsp", "csr-csr", "dns-rsp", "rsp-csr"])
def test_elemwise_add_rule(stypes, expected):
    op = mx.operator.registry.get("elemwise_add")
    assert op.infer_storage_type(op.parse_params({}), stypes) == expected


@pytest.mark.parametrize("terms,expected", [
    (["row_sparse"], "row_sparse"), (["csr"], "csr"), (["row_sparse", "row_sparse"], "row_sparse"),
    (["csr", "csr"], "default"), (["row_sparse", "default"], "default"),
], ids=["one-rsp", "one-csr", "rsp+rsp", "csr+csr", "rsp+dns"])
def test_summed_gradient_storage(terms, expected):
    assert si.sum_grad_stypes(terms) == expected


def test_unlisted_operator_falls_back_to_dense():
    op = mx.operator.registry.get("exp")
    assert op.infer_storage_type(op.parse_params({}), ["csr"]) == (["default"], "fallback")
    assert op.infer_grad_storage_type(op.parse_params({}), ["csr"], ["default"],
                                      ["default"]) == ["default"]


def test_fallback_warning_logged_once(caplog, monkeypatch):
    monkeypatch.setenv("MXNET_STORAGE_FALLBACK_LOG_VERBOSE", "1")
    monkeypatch.setattr(si, "_logged", set())
    x = mx.sym.Variable("x", stype="csr")
    arr = _array("x", "csr")
    with caplog.at_level("WARNING", logger="mxlite.storage"):
        for _ in range(2):
            mx.sym.exp(x).bind(mx.cpu(), args={"x": arr}).forward()
    msgs = [r.getMessage() for r in caplog.records if "fallback" in r.getMessage()]
    assert len(msgs) == 1
    assert "operator = exp" in msgs[0] and "input storage types = [csr, ]" in msgs[0]


def test_fallback_warning_silenced(caplog, monkeypatch):
    monkeypatch.setenv("MXNET_STORAGE_FALLBACK_LOG_VERBOSE", "0")
    monkeypatch.setattr(si, "_logged", set())
    x = mx.sym.Variable("x", stype="csr")
    with caplog.at_level("WARNING", logger="mxlite.storage"):
        mx.sym.exp(x).bind(mx.cpu(), args={"x": _array("x", "csr")}).forward()
    assert not [r for r in caplog.records if "fallback" in r.getMessage()]


def test_sparse_outputs_are_the_same_objects_each_forward():
    x = mx.sym.Variable("x", stype="row_sparse")
    exe = mx.sym.square(x).bind(mx.cpu(), args={"x": _array("x", "row_sparse")})
    first = exe.outputs[0]
    assert first.stype == "row_sparse"  # before forward: zeros of the inferred storage
    assert first.asnumpy().sum() == 0
    exe.forward()
    assert exe.outputs[0] is first
    _close(first.asnumpy(), np.square(np.asarray(ARRAYS["x"])), "square")
    exe.arg_dict["x"][:] = _array("y", "row_sparse")
    exe.forward()
    _close(first.asnumpy(), np.square(np.asarray(ARRAYS["y"])), "square of y")


def test_executor_keeps_a_csr_input_sparse_through_dot():
    """dot(csr, w) in a bound graph never densifies the csr input (the LibSVM case)."""
    x = mx.sym.Variable("x", stype="csr")
    w = mx.sym.Variable("w")
    exe = mx.sym.dot(x, w).simple_bind(mx.cpu(), x=(4, 3), w=(3, 2))
    assert exe.grad_dict["w"].stype == "row_sparse"
    _array("x", "csr").copyto(exe.arg_dict["x"])
    _array("w", "default").copyto(exe.arg_dict["w"])
    calls = []
    original = mx.nd.sparse.CSRNDArray._dense

    def spy(self):
        calls.append(self.shape)
        return original(self)

    try:
        mx.nd.sparse.CSRNDArray._dense = spy
        exe.forward(is_train=True)
        exe.backward(mx.nd.ones((4, 2)))
    finally:
        mx.nd.sparse.CSRNDArray._dense = original
    assert calls == []
    x_np, w_np = np.asarray(ARRAYS["x"]), np.asarray(ARRAYS["w"])
    _close(exe.outputs[0].asnumpy(), x_np @ w_np, "dot")
    _close(exe.grad_dict["w"].asnumpy(), x_np.T @ np.ones((4, 2)), "dot gradient")
    assert exe.grad_dict["w"].indices.asnumpy().tolist() == [0, 1, 2]


ND_IDS = sorted(c for c in IDS if "nd" in CASES[c])
#: ``mx.nd.sparse.retain`` keeps refusing what is not row_sparse (TypeError), as MXNet does
ND_REFUSES = {"retain-default", "retain-csr"}


@pytest.mark.parametrize("cid", ND_IDS, ids=ND_IDS)
def test_imperative_stypes_and_values(cid):
    """The same expressions on NDArrays (``mx.nd``): MXNet's imperative storage inference."""
    case = CASES[cid]
    want = case["nd"]
    args, _ = _inputs(case)
    expr = case["expr"].replace("mx.sym", "mx.nd")
    if ("error" in want and cid not in BIND_WORKS) or cid in ND_REFUSES:
        with pytest.raises((mx.MXNetError, TypeError)):
            eval(expr, {"mx": mx, **args})
        return
    got = eval(expr, {"mx": mx, **args})
    if "error" in want or cid in BIND_WORKS:
        assert got.stype == BIND_WORKS[cid]
        dense = {n: mx.nd.array(a.asnumpy()) for n, a in args.items()}
        ref = eval(expr, {"mx": mx, **dense}).asnumpy()
        _close(got.asnumpy(), _stored_only(case, ref, cid), cid)
        return
    assert got.stype == want["stype"]
    _close(got.asnumpy(), want["values"], cid)


# ---------------------------------------------------------------------- properties
_MATRIX = harrays(np.float32, hst.tuples(hst.integers(1, 5), hst.integers(1, 4)),
                  elements=hst.sampled_from([0.0, 0.0, 0.0, 0.5, -2.0, 3.0]))
_GRAPHS = {
    "square*3": lambda v: mx.sym.square(v) * 3,
    "abs+relu": lambda v: mx.sym.elemwise_add(mx.sym.abs(v), mx.sym.relu(v)),
    "exp": lambda v: mx.sym.exp(v),
    "sum_sq": lambda v: mx.sym.sum(mx.sym.square(v), axis=1),
    "sign-neg": lambda v: mx.sym.elemwise_sub(mx.sym.sign(v), mx.sym.negative(v)),
    "mul_self": lambda v: mx.sym.elemwise_mul(v, mx.sym._internal._div_scalar(v, scalar=2)),
}


@settings(max_examples=30, deadline=None)
@given(_MATRIX, hst.sampled_from(["row_sparse", "csr"]), hst.sampled_from(sorted(_GRAPHS)))
def test_sparse_graph_equals_dense_graph(x, stype, graph):
    """A graph bound to a sparse array gives the numbers of the same graph on the dense array
    (forward and gradients), its outputs in the storage the rules infer."""
    sym = _GRAPHS[graph](mx.sym.Variable("v", stype=stype))
    sparse_exe = sym.simple_bind(mx.cpu(), v=x.shape)
    dense_exe = _GRAPHS[graph](mx.sym.Variable("v")).simple_bind(mx.cpu(), v=x.shape)
    mx.nd.array(x).tostype(stype).copyto(sparse_exe.arg_dict["v"])
    dense_exe.arg_dict["v"][:] = x
    outs = []
    for exe in (sparse_exe, dense_exe):
        exe.forward(is_train=True)
        exe.backward([mx.nd.ones(o.shape) for o in exe.outputs])
        outs.append((exe.outputs[0].asnumpy(), exe.grad_dict["v"].asnumpy()))
    for got, want in zip(outs[0], outs[1], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    expected = si._infer_nodes(sym, {"v": stype})[(id(sym._outputs[0][0]), 0)]
    assert sparse_exe.outputs[0].stype == expected
