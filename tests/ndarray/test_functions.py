"""Functions: elementwise math, clip, maximum/minimum, where, cast, dot, transpose, shape ops,
broadcast_*, one_hot, take/pick, softmax, and ``out=``."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

X = np.array([[0.5, -2.0, 3.0], [-4.0, 0.0, 6.25]], dtype=np.float32)
POS = np.array([[0.25, 1.0, 4.0], [9.0, 2.0, 6.25]], dtype=np.float32)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x.astype(np.float64)))


UNARY = [
    # (name, input, numpy reference)
    ("sqrt", POS, np.sqrt),
    ("rsqrt", POS, lambda x: 1 / np.sqrt(x)),
    ("square", X, np.square),
    ("abs", X, np.abs),
    ("sign", X, np.sign),
    ("exp", X, np.exp),
    ("expm1", X, np.expm1),
    ("log", POS, np.log),
    ("log1p", POS, np.log1p),
    ("sigmoid", X, _sigmoid),
    ("relu", X, lambda x: np.maximum(x, 0)),
    ("tanh", X, np.tanh),
    ("negative", X, np.negative),
    ("reciprocal", POS, np.reciprocal),
    ("floor", X * 1.5, np.floor),
    ("ceil", X * 1.5, np.ceil),
]


@pytest.mark.parametrize("name, x, ref", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, x, ref):
    res = getattr(mx.nd, name)(mx.nd.array(x))
    assert res.dtype is np.float32 and res.shape == x.shape
    np.testing.assert_allclose(res.asnumpy(), ref(x).astype(np.float32), rtol=1e-6)
    method = getattr(mx.nd.array(x), name, None)
    if method is not None:
        np.testing.assert_array_equal(method().asnumpy(), res.asnumpy())


@pytest.mark.parametrize("name, x, ref", UNARY, ids=[u[0] for u in UNARY])
def test_unary_out(name, x, ref):
    out = mx.nd.zeros(x.shape)
    res = getattr(mx.nd, name)(mx.nd.array(x), out=out)
    assert res is out
    np.testing.assert_allclose(out.asnumpy(), ref(x).astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize(
    "name, src, expected",
    [("sqrt", [4, 9, 5], [2, 3, 2]), ("exp", [0, 1, 2], [1, 2, 7]), ("abs", [-3, 2, 0], [3, 2, 0]),
     ("sign", [-3, 2, 0], [-1, 1, 0]), ("relu", [-3, 2, 0], [0, 2, 0]),
     ("square", [-3, 2, 0], [9, 4, 0])],
    ids=["sqrt", "exp", "abs", "sign", "relu", "square"],
)
def test_unary_int_keeps_dtype(name, src, expected):
    res = getattr(mx.nd, name)(mx.nd.array(src, dtype="int32"))
    assert res.dtype is np.int32
    assert res.asnumpy().tolist() == expected


def test_sign_nan_is_zero():
    assert mx.nd.sign(mx.nd.array([-4, 0, np.nan])).asnumpy().tolist() == [-1, 0, 0]


def test_round_half_away_from_zero():
    res = mx.nd.round(mx.nd.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 1.2]))
    assert res.asnumpy().tolist() == [-3, -2, -1, 1, 2, 3, 1]


def test_sigmoid_saturates_without_warnings():
    res = mx.nd.sigmoid(mx.nd.array([-1000, 0, 1000])).asnumpy()
    assert res.tolist() == [0, 0.5, 1]


def test_unary_rejects_non_ndarray():
    with pytest.raises(TypeError, match="data must be an NDArray"):
        mx.nd.sqrt(np.ones(3))


def test_unary_out_shape_error():
    with pytest.raises(MXNetError, match=r"\[3\].*\[2\]"):
        mx.nd.sqrt(mx.nd.ones((2,)), out=mx.nd.zeros((3,)))


def test_out_dtype_must_match():
    with pytest.raises(MXNetError, match="dtype"):
        mx.nd.relu(mx.nd.ones((2,)), out=mx.nd.zeros((2,), dtype="int32"))


def test_out_may_alias_input():
    a = mx.nd.array([-1, 2])
    assert mx.nd.relu(a, out=a) is a
    assert a.asnumpy().tolist() == [0, 2]


@pytest.mark.parametrize(
    "args, expected",
    [((-1, 2), [-1, -1, 2, 2]), ((0, 0), [0, 0, 0, 0])],
    ids=["range", "point"],
)
def test_clip(args, expected):
    a = mx.nd.array([-4, -1, 2, 9])
    assert mx.nd.clip(a, *args).asnumpy().tolist() == expected
    assert a.clip(*args).asnumpy().tolist() == expected
    assert mx.nd.clip(a, a_min=args[0], a_max=args[1]).asnumpy().tolist() == expected


def test_clip_int_bounds_cast():
    res = mx.nd.clip(mx.nd.array([-4, 0, 9], dtype="int32"), -1.5, 2.5)
    assert res.dtype is np.int32 and res.asnumpy().tolist() == [-1, 0, 2]


def test_clip_bad_bounds():
    with pytest.raises(ValueError, match=r"a_min \(2\).*a_max \(-1\)"):
        mx.nd.clip(mx.nd.ones((2,)), 2, -1)


@pytest.mark.parametrize(
    "fn, lhs, rhs, expected",
    [(mx.nd.maximum, [-4, 0, 9], 1, [1, 1, 9]), (mx.nd.maximum, 2, [-4, 0, 9], [2, 2, 9]),
     (mx.nd.minimum, [-4, 0, 9], [1, -1, 10], [-4, -1, 9]),
     (mx.nd.maximum, [[-4, 0, 9]], [[1], [5]], [[1, 1, 9], [5, 5, 9]])],
    ids=["max-scalar", "max-scalar-left", "min-arrays", "max-broadcast"],
)
def test_maximum_minimum(fn, lhs, rhs, expected):
    wrap = lambda v: mx.nd.array(v) if isinstance(v, list) else v  # noqa: E731
    assert fn(wrap(lhs), wrap(rhs)).asnumpy().tolist() == expected


def test_maximum_of_scalars_is_python():
    assert mx.nd.maximum(2, 3) == 3 and mx.nd.minimum(2, 3) == 2


def test_where():
    cond = mx.nd.array([[1, 0, 1], [0, 0, 1]])
    x, y = mx.nd.array(X), mx.nd.zeros((2, 3))
    np.testing.assert_array_equal(mx.nd.where(cond, x, y).asnumpy(), np.where(cond.asnumpy(), X, 0))
    row = mx.nd.where(mx.nd.array([1, 0]), x, y).asnumpy()
    np.testing.assert_array_equal(row, np.stack([X[0], np.zeros(3)]))
    nan_cond = mx.nd.where(mx.nd.array([np.nan, 0]), mx.nd.ones((2,)), mx.nd.zeros((2,)))
    assert nan_cond.asnumpy().tolist() == [1, 0]


@pytest.mark.parametrize(
    "cond, x, y, match",
    [((3,), (3,), (2,), "differ"), ((2,), (3,), (3,), "condition"),
     ((3,), (3,), "int32", "dtypes")],
    ids=["xy-shape", "condition-shape", "dtype"],
)
def test_where_errors(cond, x, y, match):
    yv = mx.nd.ones((3,), dtype="int32") if y == "int32" else mx.nd.ones(y)
    with pytest.raises(MXNetError, match=match):
        mx.nd.where(mx.nd.ones(cond), mx.nd.ones(x), yv)


@pytest.mark.parametrize(
    "dtype, expected",
    [("int32", [1, -2, 300]), ("uint8", [1, 254, 44]), ("float16", [1.5, -2.5, 300])],
    ids=["int32", "uint8", "float16"],
)
def test_cast(dtype, expected):
    res = mx.nd.cast(mx.nd.array([1.5, -2.5, 300]), dtype=dtype)
    assert res.dtype is np.dtype(dtype).type
    assert res.asnumpy().tolist() == expected


DOTS = [
    ((3,), (3,), {}, (1,)),
    ((2, 3), (3,), {}, (2,)),
    ((2,), (2, 3), {}, (3,)),
    ((2, 3), (3, 4), {}, (2, 4)),
    ((3, 2), (3, 4), {"transpose_a": True}, (2, 4)),
    ((2, 3), (4, 3), {"transpose_b": True}, (2, 4)),
    ((3, 2), (4, 3), {"transpose_a": True, "transpose_b": True}, (2, 4)),
    ((2, 3, 4), (4, 5), {}, (2, 3, 5)),
    ((2, 3, 2), (2, 3), {"transpose_a": True}, (3, 2, 3)),
]


@pytest.mark.parametrize(
    "ls, rs, kw, shape", DOTS,
    ids=["1d-1d", "2d-1d", "1d-2d", "2d-2d", "ta", "tb", "ta-tb", "3d-2d", "3d-ta"],
)
def test_dot(ls, rs, kw, shape):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(ls).astype(np.float32)
    b = rng.standard_normal(rs).astype(np.float32)
    res = mx.nd.dot(mx.nd.array(a), mx.nd.array(b), **kw)
    na = np.moveaxis(a, 0, -1) if kw.get("transpose_a") else a
    nb = np.moveaxis(b, -1, 0) if kw.get("transpose_b") else b
    expected = np.tensordot(na, nb, axes=1).reshape(shape)
    assert res.shape == shape and res.dtype is np.float32
    np.testing.assert_allclose(res.asnumpy(), expected, rtol=1e-5, atol=1e-6)


def test_dot_errors():
    with pytest.raises(MXNetError, match=r"\[2,3\] and \[2,3\]"):
        mx.nd.dot(mx.nd.ones((2, 3)), mx.nd.ones((2, 3)))
    with pytest.raises(MXNetError, match="int32"):
        mx.nd.dot(mx.nd.ones((2, 3)), mx.nd.ones((3, 2), dtype="int32"))


def test_dot_out():
    out = mx.nd.zeros((2, 2))
    assert mx.nd.dot(mx.nd.ones((2, 3)), mx.nd.ones((3, 2)), out=out) is out
    assert out.asnumpy().tolist() == [[3, 3], [3, 3]]


def test_transpose():
    x = mx.nd.arange(24).reshape((2, 3, 4))
    assert mx.nd.transpose(x).shape == (4, 3, 2)
    np.testing.assert_array_equal(
        mx.nd.transpose(x, axes=(1, 0, 2)).asnumpy(), x.asnumpy().transpose(1, 0, 2)
    )
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)
    assert x.transpose(2, 0, 1).shape == (4, 2, 3)
    with pytest.raises(MXNetError, match="permutation"):
        mx.nd.transpose(x, axes=(1, 0))


SHAPE_OPS = [
    ("swapaxes", lambda x: mx.nd.swapaxes(x, 0, 2), lambda n: np.swapaxes(n, 0, 2)),
    ("flatten", mx.nd.flatten, lambda n: n.reshape(2, 12)),
    ("expand_dims", lambda x: mx.nd.expand_dims(x, axis=1), lambda n: n[:, None]),
    ("expand_dims_neg", lambda x: x.expand_dims(-1), lambda n: n[..., None]),
    ("tile", lambda x: mx.nd.tile(x, reps=(1, 2, 1)), lambda n: np.tile(n, (1, 2, 1))),
    ("repeat", lambda x: mx.nd.repeat(x, repeats=2, axis=1), lambda n: np.repeat(n, 2, 1)),
    ("repeat_flat", lambda x: mx.nd.repeat(x, repeats=2), lambda n: np.repeat(n, 2)),
    ("flip", lambda x: mx.nd.flip(x, axis=1), lambda n: n[:, ::-1]),
    ("slice_axis", lambda x: mx.nd.slice_axis(x, axis=2, begin=1, end=3), lambda n: n[:, :, 1:3]),
    ("slice_axis_neg", lambda x: x.slice_axis(1, -2, None), lambda n: n[:, -2:]),
    ("broadcast_axis", lambda x: mx.nd.broadcast_axis(x[:, :1], axis=1, size=3),
     lambda n: np.repeat(n[:, :1], 3, 1)),
    ("reshape_like", lambda x: mx.nd.reshape_like(x, mx.nd.zeros((4, 6))),
     lambda n: n.reshape(4, 6)),
    ("sort_desc", lambda x: mx.nd.sort(x, is_ascend=False), lambda n: -np.sort(-n)),
    ("argsort", lambda x: mx.nd.argsort(x[:, :, ::-1]),
     lambda n: np.argsort(n[:, :, ::-1]).astype(np.float32)),
]


@pytest.mark.parametrize("name, op, ref", SHAPE_OPS, ids=[s[0] for s in SHAPE_OPS])
def test_shape_ops_copy(name, op, ref):
    x = mx.nd.arange(24).reshape((2, 3, 4))
    before = x.asnumpy()
    res = op(x)
    np.testing.assert_array_equal(res.asnumpy(), ref(before))
    res[:] = -1
    np.testing.assert_array_equal(x.asnumpy(), before)  # operators never alias their input


def test_squeeze():
    assert mx.nd.squeeze(mx.nd.ones((1, 3, 1))).shape == (3,)
    assert mx.nd.squeeze(mx.nd.ones((1, 3, 1)), axis=2).shape == (1, 3)
    assert mx.nd.squeeze(mx.nd.ones((1, 1))).shape == (1,)
    with pytest.raises(MXNetError, match="not 1"):
        mx.nd.squeeze(mx.nd.ones((2, 3)), axis=0)


def test_split():
    parts = mx.nd.split(mx.nd.arange(24).reshape((2, 3, 4)), num_outputs=2, axis=2)
    assert [p.shape for p in parts] == [(2, 3, 2), (2, 3, 2)]
    rows = mx.nd.split(mx.nd.ones((2, 3)), num_outputs=2, axis=0, squeeze_axis=True)
    assert [r.shape for r in rows] == [(3,), (3,)]
    with pytest.raises(MXNetError, match="divisible"):
        mx.nd.split(mx.nd.ones((2, 3)), num_outputs=2, axis=1)


@pytest.mark.parametrize(
    "name, lhs, rhs, expected",
    [("broadcast_add", (2, 1), (1, 3), [[11, 12, 13], [21, 22, 23]]),
     ("broadcast_sub", (2, 1), (1, 3), [[9, 8, 7], [19, 18, 17]]),
     ("broadcast_mul", (2, 1), (1, 3), [[10, 20, 30], [20, 40, 60]]),
     ("broadcast_div", (2, 1), (1, 3), [[10, 5, 10 / 3], [20, 10, 20 / 3]]),
     ("broadcast_maximum", (2, 1), (1, 3), [[10, 10, 10], [20, 20, 20]]),
     ("broadcast_power", (2, 1), (1, 3), [[10, 100, 1000], [20, 400, 8000]])],
    ids=["add", "sub", "mul", "div", "maximum", "power"],
)
def test_broadcast_binary(name, lhs, rhs, expected):
    left = mx.nd.array([[10], [20]]).reshape(lhs)
    right = mx.nd.array([1, 2, 3]).reshape(rhs)
    np.testing.assert_allclose(getattr(mx.nd, name)(left, right).asnumpy(), expected, rtol=1e-6)


def test_broadcast_binary_errors():
    with pytest.raises(MXNetError, match=r"\[1,2\] \[1,3\]"):
        mx.nd.broadcast_add(mx.nd.ones((1, 2)), mx.nd.ones((1, 3)))
    with pytest.raises(TypeError, match="rhs must be an NDArray"):
        mx.nd.broadcast_add(mx.nd.ones((1, 2)), 3)


def test_broadcast_out():
    out = mx.nd.zeros((2, 3))
    assert mx.nd.broadcast_mul(mx.nd.ones((2, 1)), mx.nd.ones((1, 3)), out=out) is out
    assert out.asnumpy().sum() == 6


def test_elemwise_requires_equal_shapes():
    assert mx.nd.elemwise_add(mx.nd.ones((2,)), mx.nd.ones((2,))).asnumpy().tolist() == [2, 2]
    with pytest.raises(MXNetError, match="must be equal"):
        mx.nd.elemwise_add(mx.nd.ones((2, 1)), mx.nd.ones((2, 3)))


def test_broadcast_to():
    col = mx.nd.array([[1], [2]])
    assert mx.nd.broadcast_to(col, shape=(2, 3)).asnumpy().tolist() == [[1, 1, 1], [2, 2, 2]]
    assert mx.nd.broadcast_to(col, shape=(0, 3)).shape == (2, 3)
    assert col.broadcast_like(mx.nd.ones((2, 4))).shape == (2, 4)
    with pytest.raises(MXNetError, match=r"\[2,1\] to \[3,3\]"):
        mx.nd.broadcast_to(col, shape=(3, 3))
    with pytest.raises(MXNetError, match="dims"):
        mx.nd.broadcast_to(mx.nd.ones((2,)), shape=(3, 2))


@pytest.mark.parametrize(
    "indices, kwargs, expected",
    [([1, 0, 3, -1], {}, [[0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]]),
     ([1.7, 0], {}, [[0, 1, 0], [1, 0, 0]]),
     ([1, 0], {"on_value": 5, "off_value": -1, "dtype": "int32"}, [[-1, 5, -1], [5, -1, -1]])],
    ids=["out-of-range-rows", "float-truncates", "values-dtype"],
)
def test_one_hot(indices, kwargs, expected):
    res = mx.nd.one_hot(mx.nd.array(indices), 3, **kwargs)
    assert res.asnumpy().tolist() == expected
    assert res.dtype is np.dtype(kwargs.get("dtype", "float32")).type


def test_one_hot_shapes():
    assert mx.nd.one_hot(mx.nd.array([[1, 0], [2, 2]]), 3).shape == (2, 2, 3)
    assert mx.nd.one_hot(mx.nd.array([1, 0]), 0).shape == (2, 0)
    assert mx.nd.array([2, 0]).one_hot(3).asnumpy().tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(MXNetError, match="depth"):
        mx.nd.one_hot(mx.nd.array([1]), -1)


def test_take_and_pick():
    a = mx.nd.array(X)
    np.testing.assert_array_equal(mx.nd.take(a, mx.nd.array([1, 0, 5])).asnumpy(), X[[1, 0, 1]])
    np.testing.assert_array_equal(
        mx.nd.take(a, mx.nd.array([1, -1, 5]), mode="wrap").asnumpy(), X[[1, 1, 1]]
    )
    assert mx.nd.pick(a, mx.nd.array([0, 2]), axis=1).asnumpy().tolist() == [0.5, 6.25]
    assert mx.nd.pick(a, mx.nd.array([1, 0, 1]), axis=0, keepdims=True).shape == (1, 3)
    # an index that already has the picked axis (size 1), as MXNet accepts
    kept = mx.nd.pick(a, mx.nd.array([[0], [2]]), axis=1, keepdims=True)
    assert kept.asnumpy().tolist() == [[0.5], [6.25]]


def test_softmax_and_log_softmax():
    a = mx.nd.array(X)
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    sm = e / e.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(mx.nd.softmax(a).asnumpy(), sm, rtol=1e-6)
    np.testing.assert_allclose(mx.nd.log_softmax(a).asnumpy(), np.log(sm), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mx.nd.softmax(a, axis=0).asnumpy().sum(axis=0), [1, 1, 1],
                               rtol=1e-6)


def test_operators_keep_context():
    a = mx.nd.ones((2, 3), ctx=mx.cpu(3))
    for res in (a + 1, -a, mx.nd.sqrt(a), a.sum(), mx.nd.dot(a, a.T), a[0], a.reshape((3, 2))):
        assert res.context == mx.cpu(3)
