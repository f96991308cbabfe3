"""Attributes and conversion: shape, dtype, size, ndim, context, stype, T, asnumpy, asscalar,
astype, copy, copyto, as_in_context, wait_to_read, __bool__, len, iteration."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError


@pytest.fixture
def a():
    return mx.nd.array([[1, -2, 3], [-4, 5, -6]])


ATTRS = [
    ("shape", (2, 3)),
    ("size", 6),
    ("ndim", 2),
    ("dtype", np.float32),
    ("stype", "default"),
    ("context", mx.cpu(0)),
    ("ctx", mx.cpu(0)),
]


@pytest.mark.parametrize("name, expected", ATTRS, ids=[n for n, _ in ATTRS])
def test_attribute(a, name, expected):
    assert getattr(a, name) == expected


def test_dtype_is_numpy_type(a):
    assert a.dtype is np.float32
    assert mx.nd.zeros((1,), dtype="int64").dtype is np.int64


@pytest.mark.parametrize(
    "shape, expected", [((2, 3), (3, 2)), ((2, 3, 4), (4, 3, 2)), ((3,), (3,))],
    ids=["2d", "3d", "1d-unchanged"],
)
def test_T(shape, expected):
    x = mx.nd.arange(int(np.prod(shape))).reshape(shape)
    assert x.T.shape == expected
    np.testing.assert_array_equal(x.T.asnumpy(), x.asnumpy().T)


def test_T_of_1d_is_self():
    c = mx.nd.array([1, 2])
    assert c.T is c


def test_asnumpy_is_a_copy(a):
    n = a.asnumpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    n[:] = 0
    assert a.asnumpy()[0, 0] == 1


def test_numpy_protocol(a):
    assert np.asarray(a).tolist() == a.asnumpy().tolist()
    assert np.array(a, dtype=np.float64).dtype == np.float64


def test_asscalar():
    s = mx.nd.array([2.5]).asscalar()
    assert s == 2.5 and type(s) is np.float32
    assert type(mx.nd.array([2], dtype="int32").asscalar()) is np.int32
    assert mx.nd.ones((1, 1, 1)).asscalar() == 1


@pytest.mark.parametrize("shape", [(3,), (2, 2), (0,)], ids=["3", "2x2", "empty"])
def test_asscalar_error(shape):
    with pytest.raises(ValueError, match="not a scalar"):
        mx.nd.zeros(shape).asscalar()


@pytest.mark.parametrize(
    "src, dtype, expected",
    [([1.7, -1.7], "int32", [1, -1]), ([300, -1], "uint8", [44, 255]),
     ([1, 2], np.float64, [1.0, 2.0]), ([1.5, 2.5], "float16", [1.5, 2.5])],
    ids=["float-to-int-truncates", "int-to-uint8-wraps", "float64", "float16"],
)
def test_astype(src, dtype, expected):
    a = mx.nd.array(src, dtype="int32" if dtype == "uint8" else None)
    b = a.astype(dtype)
    assert b.dtype is np.dtype(dtype).type
    assert b.asnumpy().tolist() == expected


def test_astype_copy_semantics(a):
    assert a.astype("float32", copy=False) is a
    assert a.astype("float32") is not a
    assert a.astype("int32", copy=False) is not a


def test_copy_is_independent(a):
    b = a.copy()
    b[:] = 0
    assert a.asnumpy()[0, 0] == 1
    assert b.context == a.context


def test_copyto_ndarray_casts(a):
    target = mx.nd.zeros((2, 3), dtype="int32")
    assert a.copyto(target) is target
    assert target.asnumpy().tolist() == [[1, -2, 3], [-4, 5, -6]]


def test_copyto_shape_mismatch(a):
    with pytest.raises(MXNetError, match=r"\[2,3\].*\[3,2\]"):
        a.copyto(mx.nd.zeros((3, 2)))


def test_copyto_context(a):
    b = a.copyto(mx.cpu(1))
    assert b.context == mx.cpu(1) and b is not a
    b[:] = 0
    assert a.asnumpy()[0, 0] == 1


def test_copyto_bad_type(a):
    with pytest.raises(TypeError, match="numpy"):
        a.copyto(np.zeros((2, 3)))


def test_as_in_context(a):
    assert a.as_in_context(mx.cpu()) is a
    b = a.as_in_context(mx.cpu(2))
    assert b is not a and b.context == mx.cpu(2)
    assert a.as_in_ctx(mx.cpu()) is a


def test_wait_and_waitall(a):
    assert a.wait_to_read() is None
    assert a.wait_to_write() is None
    assert mx.nd.waitall() is None


@pytest.mark.parametrize(
    "src, expected", [([0], False), ([2], True), ([[0.5]], True), ([], False)],
    ids=["zero", "nonzero", "1x1", "empty"],
)
def test_bool(src, expected):
    assert bool(mx.nd.array(src)) is expected


def test_bool_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mx.nd.array([1, 2]))


def test_len_and_iter(a):
    assert len(a) == 2
    rows = list(a)
    assert [r.shape for r in rows] == [(3,), (3,)]
    assert [r.shape for r in mx.nd.array([1, 2])] == [(1,), (1,)]


def test_tostype(a):
    assert a.tostype("default") is a
    with pytest.raises(ValueError, match="stype must be one of"):
        a.tostype("coo")
    csr = a.tostype("csr")  # storage types of issue 16: see tests/sparse
    assert csr.stype == "csr"
    np.testing.assert_array_equal(csr.asnumpy(), a.asnumpy())


def test_handle_shares_memory(a):
    a.handle[0, 0] = 42
    assert a.asnumpy()[0, 0] == 42


def test_tolist(a):
    assert a.tolist() == [[1, -2, 3], [-4, 5, -6]]


def test_constructor_checks_type():
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        mx.nd.NDArray([1, 2])


def test_constructor_shares_the_buffer():
    buf = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert mx.nd.NDArray(buf)._data is buf  # shared, not copied
    strided = mx.nd.NDArray(buf[:, ::2])
    strided[:] = -1  # a strided view stays a view of its base
    assert buf.tolist() == [[-1, 1, -1], [-1, 4, -1]]
    assert strided[0].asnumpy().tolist() == [-1, -1]
