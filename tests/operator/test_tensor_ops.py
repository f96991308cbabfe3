"""Tensor operators: MXNet 1.9.1 golden forward/backward, float64 gradient checks, errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from gradcheck import check_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ndarray import op as ndop
from mxlite.operator import registry

HERE = os.path.dirname(__file__)
with open(os.path.join(HERE, "..", "golden", "symbol_tensor_ops.json")) as _f:
    CASES = json.load(_f)["cases"]
GOLD = np.load(os.path.join(HERE, "..", "golden", "symbol_tensor_ops.npz"))
IDS = [c["id"] for c in CASES]


def _params(case):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in case["params"].items()}


def _inputs(case):
    return [GOLD[f"{case['id']}:in{i}"] for i in range(case["n_in"])]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_symbol_forward_backward_match_mxnet(case):
    cid = case["id"]
    ins = [mx.sym.Variable(f"in{i}") for i in range(case["n_in"])]
    sym = getattr(mx.sym, case["op"])(*ins, **_params(case))
    data = _inputs(case)
    args = {f"in{i}": mx.nd.array(x) for i, x in enumerate(data)}
    grads = {f"in{i}": mx.nd.zeros(x.shape) for i, x in enumerate(data)}
    exe = sym.bind(mx.cpu(), args=args, args_grad=grads)
    outs = exe.forward(is_train=True)
    assert len(outs) == case["n_out"]
    heads = [mx.nd.array(GOLD[f"{cid}:og{k}"], dtype=outs[k].dtype) for k in range(len(outs))]
    exe.backward(heads)
    for k, out in enumerate(outs):
        expected = GOLD[f"{cid}:out{k}"]
        assert out.dtype == expected.dtype
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5, atol=1e-6)
    for i in range(case["n_in"]):
        np.testing.assert_allclose(grads[f"in{i}"].asnumpy(), GOLD[f"{cid}:grad{i}"],
                                   rtol=1e-5, atol=1e-6, err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_nd_function_matches_mxnet_forward(case):
    # through mxlite.ndarray.op directly: mx.nd's own functions (mx.nd.sum, ...) take precedence
    # over the registry wrappers for names they define
    outs = getattr(ndop, case["op"])(*[mx.nd.array(x) for x in _inputs(case)],
                                    **_params(case))
    outs = outs if isinstance(outs, list) else [outs]
    for k, out in enumerate(outs):
        np.testing.assert_allclose(out.asnumpy(), GOLD[f"{case['id']}:out{k}"],
                                   rtol=1e-5, atol=1e-6)


def _makeloss_objective(p):
    def objective(outs, xs):
        x = xs[0]
        scale = p.get("grad_scale", 1.0)
        norm = p.get("normalization", "null")
        if norm == "batch":
            scale /= x.shape[0]
        elif norm == "valid":
            scale /= max(1, int(np.count_nonzero(x > p.get("valid_thresh", 0.0))))
        return scale * float(np.sum(outs[0]))
    return objective


NO_GRADCHECK = {
    "blockgrad": "stops the gradient by design (checked below)",
    "cast_float16": "float16 rounding swamps finite differences (float64 cast is checked)",
}


def _differentiable(case) -> list[int]:
    """Inputs to check by finite differences: not indices, masks or small integers (whose
    comparisons would flip under a perturbation)."""
    return [i for i, kind in enumerate(case["kinds"])
            if not (kind.startswith("idx:") or kind in ("mask", "small"))]


GRAD_CASES = [c for c in CASES if c["id"] not in NO_GRADCHECK and _differentiable(c)]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c["id"] for c in GRAD_CASES])
def test_gradient_matches_finite_differences(case):
    params = _params(case)
    op = registry.get(case["op"])
    if op.variadic:
        params[op.variadic] = case["n_in"]
    objective = _makeloss_objective(params) if op.loss else None
    check_gradient(case["op"], params, [x.astype(np.float64) for x in _inputs(case)],
                   wrt=_differentiable(case), objective=objective, rtol=1e-5, atol=1e-7)


def test_blockgrad_gives_no_gradient():
    x = mx.sym.Variable("x")
    y = mx.sym.BlockGrad(x) * 3 + x
    exe = y.simple_bind(mx.cpu(), x=(2, 2))
    exe.arg_dict["x"][:] = 1.0
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((2, 2)))
    np.testing.assert_array_equal(exe.grad_dict["x"].asnumpy(), np.ones((2, 2)))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data())
def test_broadcast_gradients_have_input_shapes(shape, data):
    other = [data.draw(st.sampled_from([1, d])) for d in shape]
    a = np.random.default_rng(0).standard_normal(shape)
    b = np.random.default_rng(1).standard_normal(other)
    op = registry.get("broadcast_mul")
    p = op.parse_params({})
    outs, saved = op.forward(p, [a, b], [], True)
    ga, gb = op.backward(p, [np.ones_like(outs[0])], [a, b], outs, [], saved)
    assert ga.shape == a.shape and gb.shape == b.shape
    axes = tuple(i for i, (d, s) in enumerate(zip(other, shape, strict=True)) if d == 1 != s)
    np.testing.assert_allclose(gb, np.sum(a, axis=axes, keepdims=True))
    np.testing.assert_allclose(ga, np.broadcast_to(b, a.shape))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_split_then_concat_is_identity(n, rest, parts):
    x = np.arange(2 * n * parts * rest, dtype=np.float32).reshape(2, n * parts, rest)
    pieces = mx.nd.SliceChannel(mx.nd.array(x), num_outputs=parts, axis=1)
    pieces = pieces if isinstance(pieces, list) else [pieces]
    back = mx.nd.Concat(*pieces, dim=1)
    np.testing.assert_array_equal(back.asnumpy(), x)


ERRORS = [
    ("reshape_size", "Reshape", {"shape": (5, -1)}, [(2, 3)], "Reshape"),
    ("concat_mismatch", "Concat", {"dim": 1}, [(2, 3), (3, 3)], "Concat"),
    ("split_indivisible", "SliceChannel", {"num_outputs": 4}, [(2, 6)], "divisible"),
    ("elemwise_shapes", "elemwise_add", {}, [(2, 3), (3, 2)], "elemwise_add"),
    ("broadcast_shapes", "broadcast_add", {}, [(2, 3), (4, 3)], "broadcast"),
    ("transpose_axes", "transpose", {"axes": (0, 0)}, [(2, 3)], "permutation"),
    ("expand_dims_axis", "expand_dims", {"axis": 5}, [(2, 3)], "axis"),
]


@pytest.mark.parametrize("cid, op, params, shapes, text", ERRORS, ids=[e[0] for e in ERRORS])
def test_shape_errors_name_the_symbol(cid, op, params, shapes, text):
    ins = [mx.sym.Variable(f"in{i}") for i in range(len(shapes))]
    sym = getattr(mx.sym, op)(*ins, name="bad", **params)
    with pytest.raises(MXNetError, match="bad") as info:
        sym.infer_shape(**{f"in{i}": s for i, s in enumerate(shapes)})
    assert text in str(info.value)


BAD_PARAMS = [
    ("missing_required", "SliceChannel", {}, "required parameter 'num_outputs'"),
    ("bad_choice", "MakeLoss", {"normalization": "sum"}, "normalization"),
    ("bad_type", "clip", {"a_min": "low", "a_max": 1}, "a_min"),
    ("unknown", "Flatten", {"axis": 1}, "unknown parameter"),
    ("cast_dtype", "Cast", {"dtype": "complex64"}, "dtype"),
]


@pytest.mark.parametrize("cid, op, params, text", BAD_PARAMS, ids=[b[0] for b in BAD_PARAMS])
def test_bad_parameters_raise(cid, op, params, text):
    with pytest.raises(MXNetError, match=text):
        getattr(mx.sym, op)(mx.sym.Variable("x"), **params)


def test_every_tensor_operator_has_golden_and_gradient_cases():
    registry.list_operators()  # load the built-in families
    ops = {type(o).name for o in registry._OPERATORS.values()
           if type(o).__module__.startswith("mxlite.operator.tensor.")}
    golden = {registry.get(c["op"]).name for c in CASES}
    # issue 15's operators have their MXNet goldens and gradient checks in test_extra_ops.py
    # and test_math_ops.py (tests/golden/extra_ops.json)
    from test_extra_ops import GRAD_CHECKED as EXTRA_CHECKED
    from test_math_ops import GRAD_CHECKED as MATH_CHECKED

    from gen_golden_extra_ops import CASES as EXTRA_CASES

    golden |= {registry.get(c[1]).name for c in EXTRA_CASES}
    assert ops - golden == set()
    checked = {registry.get(c["op"]).name for c in GRAD_CASES}
    checked |= {registry.get(n).name for n in EXTRA_CHECKED | MATH_CHECKED}
    no_inputs = {"_zeros", "_ones", "_full", "_arange"}  # nothing to differentiate
    comparisons = {n for n in ops if any(w in n for w in ("equal", "greater", "lesser"))}
    # BlockGrad stops gradients by design; one_hot and comparisons only take index-like inputs
    exempt = {"BlockGrad", "one_hot"} | no_inputs | comparisons
    assert ops - checked - exempt == set()
