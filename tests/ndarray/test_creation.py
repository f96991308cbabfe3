"""Creation: array, zeros, ones, full, empty, arange, *_like, concat, stack."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

ARRAY_DTYPES = [
    # (source, dtype argument, expected dtype)
    ([1, 2, 3], None, np.float32),
    (np.array([1, 2], dtype=np.int64), None, np.float32),
    (np.array([0.5, 0.25]), None, np.float32),
    ((1, 2), None, np.float32),
    (range(3), None, np.float32),
    ([True, False], None, np.float32),
    ([1.7, -1.7], "int32", np.int32),
    ([1, 2], np.float64, np.float64),
    ([1, 2], "float16", np.float16),
    ([1, 2], "uint8", np.uint8),
]


@pytest.mark.parametrize(
    "source, dtype, expected", ARRAY_DTYPES,
    ids=["list", "numpy-int64", "numpy-float64", "tuple", "range", "bool", "int32", "float64",
         "float16", "uint8"],
)
def test_array_dtype(source, dtype, expected):
    a = mx.nd.array(source, dtype=dtype)
    assert a.dtype is expected
    np.testing.assert_array_equal(a.asnumpy(), np.array(source).astype(expected))


def test_array_truncates_to_int():
    assert mx.nd.array([1.7, -1.7], dtype="int32").asnumpy().tolist() == [1, -1]


def test_array_of_ndarray_keeps_dtype_and_copies():
    src = mx.nd.array([1, 2], dtype="int32")
    a = mx.nd.array(src)
    assert a.dtype is np.int32
    a[:] = 9
    assert src.asnumpy().tolist() == [1, 2]
    assert mx.nd.array(src, dtype="float64").dtype is np.float64


def test_array_of_numpy_copies():
    src = np.array([1.0, 2.0], dtype=np.float32)
    a = mx.nd.array(src)
    src[0] = 100
    assert a.asnumpy().tolist() == [1.0, 2.0]


@pytest.mark.parametrize("scalar", [5, 2.5, np.float64(3.0), np.array(4.0)],
                         ids=["int", "float", "numpy-scalar", "0d-numpy"])
def test_array_of_scalar_is_0d(scalar):
    # MXNet 1.9.1: shape (), inside and outside np_shape
    a = mx.nd.array(scalar)
    assert a.shape == ()
    assert a.asscalar() == np.float32(scalar)


@pytest.mark.parametrize("bad", [[[1, 2], [3]], "abc", {"a": 1}], ids=["ragged", "str", "dict"])
def test_array_rejects_non_arrays(bad):
    with pytest.raises(TypeError, match="source_array"):
        mx.nd.array(bad)


@pytest.mark.parametrize(
    "fn, fill", [(mx.nd.zeros, 0), (mx.nd.ones, 1)], ids=["zeros", "ones"]
)
@pytest.mark.parametrize("dtype", [None, "float64", "int32", "int8", np.uint8],
                         ids=["default", "float64", "int32", "int8", "uint8"])
def test_zeros_ones(fn, fill, dtype):
    a = fn((2, 3), dtype=dtype)
    assert a.shape == (2, 3)
    assert a.dtype is (np.dtype(dtype).type if dtype else np.float32)
    assert (a.asnumpy() == fill).all()


def test_zeros_int_shape_and_ctx():
    a = mx.nd.zeros(3, ctx=mx.cpu(1))
    assert a.shape == (3,)
    assert a.context == mx.cpu(1)


@pytest.mark.parametrize(
    "fn", [mx.nd.zeros, mx.nd.ones, mx.nd.empty], ids=["zeros", "ones", "empty"]
)
def test_negative_shape_raises(fn):
    with pytest.raises(MXNetError, match=r"\(2, -1\)"):
        fn((2, -1))


def test_bad_dtype_raises_type_error():
    with pytest.raises(TypeError, match="'foo'"):
        mx.nd.zeros((2,), dtype="foo")


def test_bad_shape_type():
    with pytest.raises(TypeError, match="shape"):
        mx.nd.zeros("ab")


@pytest.mark.parametrize(
    "val, dtype, expected",
    [(3.7, None, np.float32(3.7)), (3.7, "int32", 3), (-1, "uint8", 255), (1e10, "float64", 1e10),
     (2, "int64", 2)],
    ids=["float", "int32-truncates", "uint8-wraps", "float64", "int64"],
)
def test_full(val, dtype, expected):
    a = mx.nd.full((2, 2), val, dtype=dtype)
    assert a.dtype is (np.dtype(dtype).type if dtype else np.float32)
    assert (a.asnumpy() == expected).all()


def test_full_nan():
    assert np.isnan(mx.nd.full((2,), np.nan).asnumpy()).all()


@pytest.mark.parametrize("fn", ["zeros", "ones", "full"])
def test_creation_out(fn):
    out = mx.nd.array([[7, 7], [7, 7]])
    args = ((2, 2), 5) if fn == "full" else ((2, 2),)
    res = getattr(mx.nd, fn)(*args, out=out)
    assert res is out
    assert out.asnumpy().tolist() == [[{"zeros": 0, "ones": 1, "full": 5}[fn]] * 2] * 2


def test_empty():
    a = mx.nd.empty((2, 3), dtype="float64")
    assert a.shape == (2, 3) and a.dtype is np.float64


ARANGE = [
    ((5,), {}, [0, 1, 2, 3, 4], np.float32),
    ((1, 5), {}, [1, 2, 3, 4], np.float32),
    ((1, 5, 1.5), {}, [1, 2.5, 4], np.float32),
    ((5, 1, -1), {}, [5, 4, 3, 2], np.float32),
    ((3,), {"repeat": 2}, [0, 0, 1, 1, 2, 2], np.float32),
    ((3,), {"dtype": "int32"}, [0, 1, 2], np.int32),
    ((0.5, 3), {"dtype": "int32"}, [0, 1, 2], np.int32),
    ((0.5, 3, 0.5), {"dtype": "int32"}, [0, 0, 0, 0, 0], np.int32),
    ((2.5,), {}, [0, 1, 2], np.float32),
    ((0, 1, 0.25), {"dtype": "float64"}, [0, 0.25, 0.5, 0.75], np.float64),
]


@pytest.mark.parametrize(
    "args, kwargs, expected, dtype", ARANGE,
    ids=["stop", "start-stop", "step", "negative-step", "repeat", "int32", "int32-float-start",
         "int32-step-truncated", "fractional-stop", "float64"],
)
def test_arange(args, kwargs, expected, dtype):
    a = mx.nd.arange(*args, **kwargs)
    assert a.dtype is dtype
    np.testing.assert_array_equal(a.asnumpy(), np.array(expected, dtype=dtype))


def test_arange_computes_in_dtype():
    # element i is float32(start) + i * float32(step), as MXNet: 3 * 0.3f != 0.9f
    a = mx.nd.arange(0, 2, 0.3).asnumpy()
    assert a.shape == (7,)
    assert a[3] == np.float32(3) * np.float32(0.3)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [((1, 5, 0), {}, "step"), ((0, 0), {}, "invalid range"), ((5, 1), {}, "invalid range"),
     ((3,), {"repeat": 0}, "repeat")],
    ids=["zero-step", "empty", "backwards", "repeat-0"],
)
def test_arange_errors(args, kwargs, match):
    with pytest.raises(MXNetError, match=match):
        mx.nd.arange(*args, **kwargs)


@pytest.mark.parametrize("fn, fill", [(mx.nd.zeros_like, 0), (mx.nd.ones_like, 1)],
                         ids=["zeros_like", "ones_like"])
def test_like(fn, fill):
    src = mx.nd.array([[1, 2]], dtype="int32", ctx=mx.cpu(2))
    a = fn(src)
    assert a.shape == (1, 2) and a.dtype is np.int32 and a.context == mx.cpu(2)
    assert (a.asnumpy() == fill).all()
    assert getattr(src, fn.__name__)().asnumpy().tolist() == [[fill, fill]]


def test_concat_default_dim_is_1():
    a, b = mx.nd.ones((2, 3)), mx.nd.zeros((2, 1))
    assert mx.nd.concat(a, b).asnumpy().tolist() == [[1, 1, 1, 0], [1, 1, 1, 0]]


@pytest.mark.parametrize(
    "shapes, dim, expected",
    [([(2, 3), (1, 3)], 0, (3, 3)), ([(2, 2)] * 3, 0, (6, 2)), ([(2, 2), (2, 3)], -1, (2, 5)),
     ([(2,), (3,)], 0, (5,)), ([(2, 2)], 1, (2, 2))],
    ids=["dim0", "three", "negative-dim", "1d", "single"],
)
def test_concat_shapes(shapes, dim, expected):
    arrays = [mx.nd.ones(s) * k for k, s in enumerate(shapes)]
    res = mx.nd.concat(*arrays, dim=dim)
    assert res.shape == expected
    np.testing.assert_array_equal(
        res.asnumpy(), np.concatenate([x.asnumpy() for x in arrays], axis=dim)
    )


@pytest.mark.parametrize(
    "arrays, dim, match",
    [([(2, 3), (1, 3)], 1, "cannot join"), ([(2,), (3,)], 1, "cannot join"),
     ([(2, 2), (2, 2)], 2, "cannot join"), ([], 1, "at least one")],
    ids=["shape", "1d-default-dim", "dim-out-of-range", "nothing"],
)
def test_concat_errors(arrays, dim, match):
    with pytest.raises(MXNetError, match=match):
        mx.nd.concat(*[mx.nd.ones(s) for s in arrays], dim=dim)


def test_concat_dtype_mismatch():
    with pytest.raises(MXNetError, match="int32"):
        mx.nd.concat(mx.nd.ones((2, 2)), mx.nd.ones((2, 2), dtype="int32"))


def test_concat_out():
    out = mx.nd.zeros((2, 4))
    assert mx.nd.concat(mx.nd.ones((2, 2)), mx.nd.ones((2, 2)), out=out) is out
    assert out.asnumpy().sum() == 8


@pytest.mark.parametrize("axis, expected", [(0, (2, 2, 3)), (1, (2, 2, 3)), (2, (2, 3, 2)),
                                            (-1, (2, 3, 2))],
                         ids=["0", "1", "2", "-1"])
def test_stack(axis, expected):
    a, b = mx.nd.ones((2, 3)), mx.nd.zeros((2, 3))
    res = mx.nd.stack(a, b, axis=axis)
    assert res.shape == expected
    np.testing.assert_array_equal(res.asnumpy(), np.stack([a.asnumpy(), b.asnumpy()], axis))


@pytest.mark.parametrize(
    "arrays, axis, match",
    [([(2,), (3,)], 0, "differ"), ([(2, 2), (2, 2)], 3, "out of bounds"), ([], 0, "at least")],
    ids=["shape", "axis", "nothing"],
)
def test_stack_errors(arrays, axis, match):
    with pytest.raises(MXNetError, match=match):
        mx.nd.stack(*[mx.nd.ones(s) for s in arrays], axis=axis)


def test_stack_dtype_mismatch():
    with pytest.raises(MXNetError, match="incompatible dtypes"):
        mx.nd.stack(mx.nd.ones((2,)), mx.nd.ones((2,), dtype="int32"))


def test_concatenate_legacy_axis0():
    res = mx.nd.concatenate([mx.nd.ones((1, 2)), mx.nd.zeros((1, 2))])
    assert res.asnumpy().tolist() == [[1, 1], [0, 0]]
