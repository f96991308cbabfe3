"""Reductions: sum, mean, max, min, prod, norm, argmax/argmin, topk, sort; full reductions give
shape (1,); property tests against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mxlite as mx
from mxlite.base import MXNetError

X = np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32)
REDUCERS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}


@pytest.mark.parametrize("name", REDUCERS)
def test_full_reduction_has_shape_1(name):
    a = mx.nd.array(X)
    for res in (getattr(a, name)(), getattr(mx.nd, name)(a)):
        assert res.shape == (1,) and res.dtype is np.float32
        np.testing.assert_allclose(res.asnumpy(), [REDUCERS[name](X)], rtol=1e-6)


AXES = [
    (0, False, False), (1, True, False), (-1, False, False), ((0, 1), True, False),
    ((), False, False), (0, False, True), ((0, 1), False, True), ([0], False, False),
]


@pytest.mark.parametrize("name", REDUCERS)
@pytest.mark.parametrize(
    "axis, keepdims, exclude", AXES,
    ids=["0", "1-keepdims", "-1", "all-keepdims", "empty-tuple", "0-exclude", "all-exclude",
         "list"],
)
def test_reduce_axes(name, axis, keepdims, exclude):
    res = getattr(mx.nd, name)(mx.nd.array(X), axis=axis, keepdims=keepdims, exclude=exclude)
    if axis == ():
        np_axis = None
    elif exclude:
        drop = {a % 2 for a in ((axis,) if isinstance(axis, int) else axis)}
        np_axis = tuple(a for a in range(2) if a not in drop)
    else:
        np_axis = tuple(axis) if isinstance(axis, list) else axis
    expected = np.asarray(REDUCERS[name](X, axis=np_axis, keepdims=keepdims))
    if expected.ndim == 0:
        expected = expected.reshape(1)
    assert res.shape == expected.shape
    np.testing.assert_allclose(res.asnumpy(), expected, rtol=1e-6)


def test_positional_axis():
    a = mx.nd.array(X)
    assert mx.nd.sum(a, 1).asnumpy().tolist() == [2, -5]
    assert a.max(0).asnumpy().tolist() == [1, 5, 3]


@pytest.mark.parametrize(
    "axis, match", [(2, "out of bounds"), ((0, 0), "more than once"), (-3, "out of bounds")],
    ids=["too-big", "duplicate", "too-small"],
)
def test_axis_errors(axis, match):
    with pytest.raises(MXNetError, match=match):
        mx.nd.sum(mx.nd.array(X), axis=axis)


@pytest.mark.parametrize(
    "expr, dtype, expected",
    [("mx.nd.array([1, 2], dtype='int32').mean()", np.int32, [1]),
     ("mx.nd.array([[-1, -6], [-4, -9]], dtype='int32').mean(axis=1)", np.int32, [-3, -6]),
     ("mx.nd.array([[100, 100, 100]], dtype='int8').sum(axis=1)", np.int8, [44]),
     ("mx.nd.array([0.5, 1.5, -2.5], dtype='float16').sum()", np.float16, [-0.5]),
     ("mx.nd.array([[1.5, -2.5]], dtype='float64').sum(axis=0)", np.float64, [1.5, -2.5])],
    ids=["int-mean-truncates", "int-mean-negative", "int8-sum-wraps", "float16", "float64"],
)
def test_reduce_keeps_dtype(expr, dtype, expected):
    res = eval(expr, {"mx": mx})
    assert res.dtype is dtype
    assert res.asnumpy().tolist() == expected


def test_empty_reductions():
    e = mx.nd.zeros((0, 3))
    assert e.sum().asnumpy().tolist() == [0]
    assert e.sum(axis=0).asnumpy().tolist() == [0, 0, 0]
    assert np.isnan(e.mean().asscalar())
    with pytest.raises(MXNetError, match="zero-size"):
        e.max()
    with pytest.raises(MXNetError, match="zero-size"):
        mx.nd.min(e, axis=0)


def test_reduce_out():
    out = mx.nd.zeros((2,))
    assert mx.nd.sum(mx.nd.array(X), axis=1, out=out) is out
    assert out.asnumpy().tolist() == [2, -5]
    with pytest.raises(MXNetError, match="shape"):
        mx.nd.sum(mx.nd.array(X), axis=1, out=mx.nd.zeros((3,)))


NORMS = [
    ({}, np.sqrt((X.astype(np.float64) ** 2).sum()).reshape(1)),
    ({"ord": 1}, np.abs(X).sum().reshape(1)),
    ({"axis": 1}, np.sqrt((X.astype(np.float64) ** 2).sum(axis=1))),
    ({"ord": 1, "axis": 0, "keepdims": True}, np.abs(X).sum(axis=0, keepdims=True)),
    ({"axis": (0, 1), "keepdims": True}, np.sqrt((X.astype(np.float64) ** 2).sum()).reshape(1, 1)),
]


@pytest.mark.parametrize("kwargs, expected", NORMS,
                         ids=["l2", "l1", "axis", "l1-axis-keepdims", "tuple-keepdims"])
def test_norm(kwargs, expected):
    res = mx.nd.norm(mx.nd.array(X), **kwargs)
    assert res.shape == expected.shape and res.dtype is np.float32
    np.testing.assert_allclose(res.asnumpy(), expected, rtol=1e-6)


def test_norm_does_not_overflow_float32():
    res = mx.nd.norm(mx.nd.array([1e30, 1e30])).asscalar()
    assert np.isclose(res, np.sqrt(2) * 1e30, rtol=1e-6)


def test_norm_errors():
    with pytest.raises(MXNetError, match="ord"):
        mx.nd.norm(mx.nd.array(X), ord=3)
    with pytest.raises(MXNetError, match="axis 2"):
        mx.nd.norm(mx.nd.array(X), axis=(0, 1, 2))


@pytest.mark.parametrize(
    "fn, kwargs, expected",
    [(mx.nd.argmax, {}, [4.0]), (mx.nd.argmax, {"axis": 1}, [2.0, 1.0]),
     (mx.nd.argmax, {"axis": 0}, [0.0, 1.0, 0.0]), (mx.nd.argmax, {"axis": -1}, [2.0, 1.0]),
     (mx.nd.argmin, {}, [5.0]), (mx.nd.argmin, {"axis": 1}, [1.0, 2.0])],
    ids=["argmax-flat", "argmax-1", "argmax-0", "argmax-neg", "argmin-flat", "argmin-1"],
)
def test_argmax_argmin(fn, kwargs, expected):
    res = fn(mx.nd.array(X), **kwargs)
    assert res.dtype is np.float32
    assert res.asnumpy().tolist() == expected


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32", "int64", "uint8"])
def test_argmax_returns_input_dtype(dtype):
    res = mx.nd.argmax(mx.nd.array([[1, 5], [3, 2]], dtype=dtype), axis=1)
    assert res.dtype is np.dtype(dtype).type
    assert res.asnumpy().tolist() == [1, 0]


def test_argmax_keepdims_ties_and_errors():
    a = mx.nd.array([[1, 5, 5], [7, 4, 7]])
    assert mx.nd.argmax(a, axis=1, keepdims=True).shape == (2, 1)
    assert mx.nd.argmax(a, axis=1).asnumpy().tolist() == [1, 0]
    with pytest.raises(MXNetError, match="axis 2"):
        mx.nd.argmax(a, axis=2)
    with pytest.raises(MXNetError, match="empty"):
        mx.nd.argmax(mx.nd.zeros((0,)))


TOPK = [
    ({}, [[2], [1]]),
    ({"k": 2}, [[2, 0], [1, 0]]),
    ({"k": 2, "ret_typ": "value"}, [[3, 1], [5, -4]]),
    ({"k": 2, "ret_typ": "mask"}, [[1, 0, 1], [1, 1, 0]]),
    ({"k": 2, "is_ascend": True}, [[1, 0], [2, 0]]),
    ({"k": 1, "axis": 0}, [[0, 1, 0]]),
    ({"k": 0}, [[2, 0, 1], [1, 0, 2]]),
    ({"k": 2, "axis": None}, [4, 2]),
]


@pytest.mark.parametrize(
    "kwargs, expected", TOPK,
    ids=["default", "k2", "value", "mask", "ascend", "axis0", "k0-all", "flat"],
)
def test_topk(kwargs, expected):
    res = mx.nd.topk(mx.nd.array(X), **kwargs)
    assert res.dtype is np.float32
    assert res.asnumpy().tolist() == expected


def test_topk_both_and_dtype():
    values, indices = mx.nd.topk(mx.nd.array(X), k=2, ret_typ="both")
    assert values.asnumpy().tolist() == [[3, 1], [5, -4]]
    assert indices.asnumpy().tolist() == [[2, 0], [1, 0]]
    assert isinstance(mx.nd.topk(mx.nd.array(X), ret_typ="both"), list)
    assert mx.nd.topk(mx.nd.array(X), k=2, dtype="int32").dtype is np.int32
    assert mx.nd.array(X).topk(k=2).asnumpy().tolist() == [[2, 0], [1, 0]]


def test_topk_ties_keep_index_order():
    a = mx.nd.array([[1, 5, 5], [7, 9, 9]])
    assert mx.nd.topk(a, k=2).asnumpy().tolist() == [[1, 2], [1, 2]]
    assert mx.nd.topk(mx.nd.array([0, 7, 200], dtype="uint8"), k=2).asnumpy().tolist() == [2, 1]


def test_topk_errors():
    with pytest.raises(MXNetError, match="k=4"):
        mx.nd.topk(mx.nd.array(X), k=4)
    with pytest.raises(MXNetError, match="ret_typ"):
        mx.nd.topk(mx.nd.array(X), ret_typ="foo")


def test_sort_argsort():
    v = mx.nd.array([3, 1, 4, 1, 5])
    assert mx.nd.sort(v).asnumpy().tolist() == [1, 1, 3, 4, 5]
    assert v.sort(is_ascend=False).asnumpy().tolist() == [5, 4, 3, 1, 1]
    assert mx.nd.argsort(v).asnumpy().tolist() == [1, 3, 0, 2, 4]
    assert v.argsort().dtype is np.float32


# ---------------------------------------------------------------------- properties
_ARRAYS = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4),
    elements=st.floats(-10, 10, allow_nan=False, width=32),
)


@st.composite
def _array_and_axis(draw):
    x = draw(_ARRAYS)
    axes = draw(st.none() | st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1,
                                     max_size=x.ndim, unique_by=lambda a: a % x.ndim))
    return x, (tuple(axes) if axes is not None else None)


@settings(max_examples=80, deadline=None)
@given(case=_array_and_axis(), name=st.sampled_from(sorted(REDUCERS)), keepdims=st.booleans())
def test_property_reductions_match_numpy(case, name, keepdims):
    x, axis = case
    if name == "prod":  # no partial product may overflow float32 (inf * 0 is order-dependent)
        assume(np.prod(np.maximum(np.abs(x.astype(np.float64)), 1.0)) < 1e38)
    res = getattr(mx.nd, name)(mx.nd.array(x), axis=axis, keepdims=keepdims)
    expected = np.asarray(REDUCERS[name](x.astype(np.float64), axis=axis, keepdims=keepdims))
    if expected.ndim == 0:
        expected = expected.reshape(1)
    assert res.shape == expected.shape and res.dtype is np.float32
    expected = expected.astype(np.float32)
    np.testing.assert_allclose(res.asnumpy(), expected, rtol=1e-4, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(case=_array_and_axis(), exclude=st.booleans())
def test_property_exclude_complements_axes(case, exclude):
    x, axis = case
    assume_axis = axis if axis is not None else tuple(range(x.ndim))
    others = tuple(a for a in range(x.ndim) if a not in {b % x.ndim for b in assume_axis})
    got = mx.nd.sum(mx.nd.array(x), axis=assume_axis, exclude=True)
    if others:
        want = mx.nd.sum(mx.nd.array(x), axis=others)
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-6)
    else:
        np.testing.assert_array_equal(got.asnumpy(), x)


@settings(max_examples=60, deadline=None)
@given(case=_array_and_axis(), ord_=st.sampled_from([1, 2]))
def test_property_norm_matches_numpy(case, ord_):
    x, axis = case
    res = mx.nd.norm(mx.nd.array(x), ord=ord_, axis=axis)
    xf = x.astype(np.float64)
    ref = np.abs(xf).sum(axis=axis) if ord_ == 1 else np.sqrt((xf**2).sum(axis=axis))
    np.testing.assert_allclose(res.asnumpy(), np.asarray(ref).reshape(res.shape), rtol=1e-5,
                               atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(x=_ARRAYS, data=st.data())
def test_property_argmax_matches_numpy(x, data):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    res = mx.nd.argmax(mx.nd.array(x), axis=axis)
    np.testing.assert_array_equal(res.asnumpy(), np.argmax(x, axis=axis).astype(np.float32))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("ord_", [1, 2])
@pytest.mark.parametrize("keepdims", [False, True], ids=["flat", "keepdims"])
def test_norm_kernel_path_large_arrays(dtype, ord_, keepdims):
    # large contiguous arrays go through the one-pass Numba kernel; it must agree with NumPy
    x = np.random.default_rng(0).standard_normal((64, 300)).astype(dtype) * 1e3
    res = mx.nd.norm(mx.nd.array(x, dtype=dtype), ord=ord_, keepdims=keepdims)
    xf = x.astype(np.float64)
    ref = np.abs(xf).sum() if ord_ == 1 else np.sqrt((xf**2).sum())
    assert res.shape == ((1, 1) if keepdims else (1,)) and res.dtype is np.dtype(dtype).type
    np.testing.assert_allclose(res.asnumpy().ravel(), [ref], rtol=1e-6)
    view = mx.nd.array(x, dtype=dtype)[1:]  # a contiguous view also takes the kernel path
    ref_view = np.sqrt((xf[1:] ** 2).sum()) if ord_ == 2 else np.abs(xf[1:]).sum()
    np.testing.assert_allclose(mx.nd.norm(view, ord=ord_).asnumpy(), [ref_view], rtol=1e-6)
