"""``mx.nd.<name>`` (ndarray.py) and the registered operator of the same name agree.

Each case runs the hand-written ``mx.nd`` function and the operator's forward through
``mxlite.ndarray.op`` on the same inputs and compares shape, dtype and values exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from mxlite.base import MXNetError
from mxlite.ndarray import ndarray as ndmod
from mxlite.ndarray import op as opmod
from mxlite.ndarray.ndarray import NDArray

_RNG = np.random.default_rng(7)


def _a(shape, dtype="float32", low=-3.0, high=3.0):
    data = _RNG.uniform(low, high, size=shape)
    return np.asarray(data).astype(dtype)


_F = _a((3, 4))
_F3 = _a((2, 3, 4))
_I = _a((3, 4), "int32", -5, 5)
_POS = _a((3, 4), "float32", 0.1, 4.0)
_HALF = np.array([[-2.5, -1.5, -0.5, 0.5], [1.5, 2.5, np.nan, 0.0]], np.float32)
_F16 = _a((3, 4), "float16")
_F64 = _a((3, 4), "float64")
_IDX = np.array([0, 3, 1], np.float32)
_IDX_OUT = np.array([-1, 5, 2], np.float32)

# (id, name, inputs (numpy), kwargs)
_UNARY = ["abs", "sign", "sqrt", "rsqrt", "square", "exp", "expm1", "log", "log1p", "sigmoid",
          "relu", "tanh", "negative", "reciprocal", "floor", "ceil", "round"]
CASES = []
for _name in _UNARY:
    for _tag, _x in (("f32", _F), ("pos", _POS), ("half", _HALF), ("i32", _I), ("f64", _F64)):
        CASES.append((f"{_name}-{_tag}", _name, [_x], {}))

_BIN = ["add", "sub", "mul", "div", "mod", "power", "maximum", "minimum", "equal", "not_equal",
        "greater", "greater_equal", "lesser", "lesser_equal"]
for _k in _BIN:
    CASES.append((f"broadcast_{_k}-f32", f"broadcast_{_k}", [_F, _a((1, 4))], {}))
    CASES.append((f"broadcast_{_k}-i32", f"broadcast_{_k}", [_I, _a((3, 1), "int32", 1, 4)], {}))
for _k in ("add", "sub", "mul", "div"):
    CASES.append((f"elemwise_{_k}-f32", f"elemwise_{_k}", [_F, _POS], {}))
    CASES.append((f"elemwise_{_k}-i32", f"elemwise_{_k}", [_I, _a((3, 4), "int32", 1, 4)], {}))
CASES += [
    ("broadcast_div-i32-neg", "broadcast_div", [_I, np.array([[-3]], np.int32)], {}),
    ("broadcast_mod-f32-neg", "broadcast_mod", [_F, np.array([[-1.5]], np.float32)], {}),
    ("broadcast_mod-i32-zero", "broadcast_mod", [_I, np.array([[0, 2, -3, 4]], np.int32)], {}),
    ("broadcast_power-i32-neg", "broadcast_power",
     [_a((3, 4), "int32", -3, 3), np.array([[-1, 2, 0, -2]], np.int32)], {}),
]

for _name in ("sum", "mean", "max", "min"):
    for _tag, _x, _kw in (
        ("all", _F3, {}), ("axis1", _F3, {"axis": 1}), ("axes", _F3, {"axis": (0, 2)}),
        ("neg", _F3, {"axis": -1}), ("keep", _F3, {"axis": 1, "keepdims": True}),
        ("excl", _F3, {"axis": 1, "exclude": True}), ("i32", _I, {"axis": 0}),
        ("f16", _F16, {"axis": 1}), ("keepall", _F3, {"keepdims": True}),
        ("excl-noaxis", _F3, {"exclude": True}), ("f16-all", _a((64, 64), "float16"), {}),
    ):
        CASES.append((f"{_name}-{_tag}", _name, [_x], _kw))
for _tag, _x, _kw in (
    ("l2", _F3, {}), ("l1", _F3, {"ord": 1}), ("axis", _F3, {"axis": 1}),
    ("keep", _F3, {"axis": (0, 2), "keepdims": True}), ("f64", _F64, {"ord": 1, "axis": 0}),
    ("keepall", _F3, {"keepdims": True}), ("big", _a((200, 100)), {}),
    ("huge", np.full((3, 2), 1e20, np.float32), {"axis": 1}),
):
    CASES.append((f"norm-{_tag}", "norm", [_x], _kw))
for _name in ("argmax", "argmin"):
    for _tag, _x, _kw in (
        ("all", _F3, {}), ("axis", _F3, {"axis": 1}), ("keep", _F3, {"axis": -1, "keepdims": True}),
        ("i32", _I, {"axis": 1}), ("keepall", _F3, {"keepdims": True}),
    ):
        CASES.append((f"{_name}-{_tag}", _name, [_x], _kw))

CASES += [
    ("softmax", "softmax", [_F3], {}),
    ("softmax-axis", "softmax", [_F3], {"axis": 1}),
    ("softmax-temp", "softmax", [_F3], {"axis": 0, "temperature": 2.0}),
    ("softmax-f64", "softmax", [_F64], {}),
    ("log_softmax", "log_softmax", [_F3], {}),
    ("log_softmax-temp", "log_softmax", [_F3], {"axis": 1, "temperature": 0.5}),
    ("pick", "pick", [_F, _IDX], {}),
    ("pick-axis0", "pick", [_F, np.array([0, 2, 1, 2], np.float32)], {"axis": 0}),
    ("pick-keep", "pick", [_F, _IDX], {"keepdims": True}),
    ("pick-clip", "pick", [_F, _IDX_OUT], {}),
    ("pick-wrap", "pick", [_F, _IDX_OUT], {"mode": "wrap"}),
    ("pick-1d", "pick", [_a((5,)), np.array([3], np.float32)], {"axis": 0}),
    ("pick-keepshape-index", "pick", [_F, _IDX.reshape(3, 1)], {"keepdims": True}),
    ("take", "take", [_F, np.array([2, 0], np.float32)], {}),
    ("take-raise", "take", [_F, np.array([2, 0], np.float32)], {"mode": "raise"}),
    ("take-axis", "take", [_F3, np.array([[3, 0], [1, 1]], np.float32)], {"axis": 2}),
    ("take-clip", "take", [_F, np.array([-2, 7], np.float32)], {}),
    ("take-wrap", "take", [_F, np.array([-2, 7], np.float32)], {"mode": "wrap"}),
    ("one_hot", "one_hot", [_IDX_OUT], {"depth": 4}),
    ("one_hot-vals", "one_hot", [_IDX], {"depth": 5, "on_value": 3, "off_value": -1,
                                         "dtype": "int32"}),
    ("where", "where", [np.array([[1, 0, 0, 2]] * 3, np.float32), _F, _POS], {}),
    ("where-1d", "where", [np.array([1, 0, 1], np.float32), _F, _POS], {}),
    ("clip", "clip", [_F], {"a_min": -1.0, "a_max": 2.0}),
    ("clip-i32", "clip", [_I], {"a_min": -2.5, "a_max": 2.5}),
    ("one_hot-i8", "one_hot", [_IDX], {"depth": 4, "off_value": -1, "dtype": "int8"}),
    ("cast", "cast", [_F], {"dtype": "int32"}),
    ("tile", "tile", [_F], {"reps": (2, 1)}),
    ("tile-more", "tile", [_F], {"reps": (2, 1, 3)}),
    ("repeat", "repeat", [_F], {"repeats": 2}),
    ("repeat-axis", "repeat", [_F], {"repeats": 3, "axis": 1}),
    ("repeat-neg", "repeat", [_F3], {"repeats": 2, "axis": -1}),
    ("flip", "flip", [_F3], {"axis": 1}),
    ("flip-axes", "flip", [_F3], {"axis": (0, 2)}),
    ("split", "split", [_F3], {"num_outputs": 3}),
    ("split-axis", "split", [_F3], {"num_outputs": 2, "axis": 0, "squeeze_axis": True}),
    ("split-one", "split", [_F3], {"num_outputs": 1, "axis": 2}),
    ("slice_axis", "slice_axis", [_F3], {"axis": 2, "begin": 1, "end": 3}),
    ("slice_axis-neg", "slice_axis", [_F3], {"axis": -1, "begin": -3, "end": None}),
    ("slice_axis-negend", "slice_axis", [_F3], {"axis": 1, "begin": 0, "end": -1}),
    ("reshape_like", "reshape_like", [_F, _a((2, 6))], {}),
    ("transpose", "transpose", [_F3], {}),
    ("transpose-axes", "transpose", [_F3], {"axes": (1, 0, 2)}),
    ("swapaxes", "swapaxes", [_F3], {"dim1": 0, "dim2": 2}),
    ("expand_dims", "expand_dims", [_F], {"axis": 1}),
    ("expand_dims-neg", "expand_dims", [_F], {"axis": -1}),
    ("squeeze", "squeeze", [_a((1, 3, 1))], {}),
    ("squeeze-axis", "squeeze", [_a((1, 3, 1))], {"axis": 2}),
    ("squeeze-all", "squeeze", [_a((1, 1))], {}),
    ("broadcast_to", "broadcast_to", [_a((1, 4))], {"shape": (3, 4)}),
    ("broadcast_to-zero", "broadcast_to", [_a((3, 1))], {"shape": (0, 5)}),
    ("broadcast_axis", "broadcast_axis", [_a((1, 4, 1))], {"axis": (0, 2), "size": (2, 3)}),
    ("reshape", "reshape", [_F3], {"shape": (-1, 4)}),
    ("reshape-codes", "reshape", [_F3], {"shape": (0, -3)}),
    ("reshape-rev", "reshape", [_F3], {"shape": (-1, 0), "reverse": True}),
    ("flatten", "flatten", [_F3], {}),
    ("concat", "concat", [_F, _POS], {"dim": 0}),
    ("stack", "stack", [_F, _POS], {"axis": 1}),
    ("dot", "dot", [_F, _a((4, 2))], {}),
    ("dot-ta", "dot", [_F, _a((3, 2))], {"transpose_a": True}),
    ("dot-tb", "dot", [_F, _a((2, 4))], {"transpose_b": True}),
    ("dot-1d", "dot", [_a((4,)), _a((4,))], {}),
    ("dot-3d", "dot", [_F3, _a((4, 5))], {}),
    ("dot-3d-ta", "dot", [_F3, _a((2, 5))], {"transpose_a": True}),
    ("dot-3d-tb", "dot", [_a((5, 4)), _F3], {"transpose_b": True}),
    ("dot-i32", "dot", [_I, _a((4, 2), "int32", -3, 3)], {}),
    ("zeros_like", "zeros_like", [_F], {}),
    ("ones_like", "ones_like", [_I], {}),
]


def _run(module, name, inputs, kwargs):
    args = [NDArray(x.copy()) for x in inputs]
    if name in ("concat", "stack"):
        return getattr(module, name)(*args, **kwargs)
    return getattr(module, name)(*args, **kwargs)


def _same(a, b, label):
    if isinstance(a, list) or isinstance(b, list):
        assert isinstance(a, list) and isinstance(b, list), label
        assert len(a) == len(b), label
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{label}[{k}]")
        return
    x, y = a.asnumpy(), b.asnumpy()
    assert x.shape == y.shape, f"{label}: shape {x.shape} vs {y.shape}"
    assert x.dtype == y.dtype, f"{label}: dtype {x.dtype} vs {y.dtype}"
    np.testing.assert_array_equal(x, y, err_msg=label)


@pytest.mark.parametrize(("name", "inputs", "kwargs"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_nd_function_matches_operator(name, inputs, kwargs):
    with np.errstate(all="ignore"):
        mine = _run(ndmod, name, inputs, kwargs)
        theirs = _run(opmod, name, inputs, kwargs)
    _same(mine, theirs, name)


ERRORS = [
    # (id, name, inputs, kwargs, exception type both raise)
    ("clip-bounds", "clip", [_F], {"a_min": 2.0, "a_max": 1.0}, ValueError),
    ("take-raise", "take", [_F, np.array([3], np.float32)], {"mode": "raise"}, MXNetError),
    ("sum-axis", "sum", [_F], {"axis": 2}, MXNetError),
    ("sum-dup-axis", "sum", [_F3], {"axis": (1, -2)}, MXNetError),
    ("max-empty", "max", [np.zeros((0, 3), np.float32)], {"axis": 0}, MXNetError),
    ("argmax-axis", "argmax", [_F], {"axis": -3}, MXNetError),
    ("norm-axis", "norm", [_F], {"axis": 5}, MXNetError),
    ("where-dtype", "where", [_F, _F, _I], {}, MXNetError),
    ("where-cond", "where", [np.ones(4, np.float32), _F, _F], {}, MXNetError),
    ("pick-index", "pick", [_F, np.zeros(4, np.float32)], {}, MXNetError),
    ("one_hot-depth", "one_hot", [_IDX], {"depth": -1}, MXNetError),
]


@pytest.mark.parametrize(("name", "inputs", "kwargs", "exc"), [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])
def test_nd_function_and_operator_reject_alike(name, inputs, kwargs, exc):
    for module in (ndmod, opmod):
        with pytest.raises(exc):
            _run(module, name, inputs, kwargs)


SCALAR_OPS = [
    # (operator, the NDArray expression it implements)
    ("_plus_scalar", lambda x, s: x + s), ("_minus_scalar", lambda x, s: x - s),
    ("_rminus_scalar", lambda x, s: s - x), ("_mul_scalar", lambda x, s: x * s),
    ("_div_scalar", lambda x, s: x / s), ("_rdiv_scalar", lambda x, s: s / x),
    ("_power_scalar", lambda x, s: x ** s), ("_rpower_scalar", lambda x, s: s ** x),
    ("_mod_scalar", lambda x, s: x % s), ("_rmod_scalar", lambda x, s: s % x),
    ("_maximum_scalar", lambda x, s: ndmod.maximum(x, s)),
    ("_minimum_scalar", lambda x, s: ndmod.minimum(x, s)),
    ("_equal_scalar", lambda x, s: x == s), ("_greater_scalar", lambda x, s: x > s),
    ("_lesser_equal_scalar", lambda x, s: x <= s),
]
SCALAR_INPUTS = [
    ("f32-2.5", _F, 2.5), ("f32-neg", _F, -1.5), ("i32-2.7", _a((3, 4), "int32", 1, 6), 2.7),
    ("i32-neg", _a((3, 4), "int32", 1, 6), -3.0), ("u8-3", _a((3, 4), "uint8", 1, 9), 3.0),
]


@pytest.mark.parametrize(("opname", "expr"), SCALAR_OPS, ids=[c[0] for c in SCALAR_OPS])
@pytest.mark.parametrize(("x", "scalar"), [c[1:] for c in SCALAR_INPUTS],
                         ids=[c[0] for c in SCALAR_INPUTS])
def test_ndarray_scalar_arithmetic_matches_operator(opname, expr, x, scalar):
    with np.errstate(all="ignore"):
        mine = expr(NDArray(x.copy()), scalar)
        theirs = getattr(opmod, opname)(NDArray(x.copy()), scalar=scalar)
    _same(mine, theirs, opname)
