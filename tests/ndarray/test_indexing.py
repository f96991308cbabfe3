"""Indexing: a[i] stays an array, contiguous basic selections are views, other indexing copies,
assignment with broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mxlite as mx

A = np.array([[1, -2, 3], [-4, 5, -6]], dtype=np.float32)
X3 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def _a():
    return mx.nd.array(A)


GET = [
    # (key, expected numpy result): mxlite must agree with NumPy except that a single element
    # comes back with shape (1,)
    (1, A[1]),
    (-1, A[-1]),
    ((1, 2), A[1, 2:3]),
    (slice(1, 2), A[1:2]),
    (slice(1, 1), A[1:1]),
    ((slice(None), 1), A[:, 1]),
    ((slice(None), slice(None, None, 2)), A[:, ::2]),
    (slice(None, None, -1), A[::-1]),
    (None, A[None]),
    ((Ellipsis, 1), A[..., 1]),
    ((1, slice(1, None)), A[1, 1:]),
    ([1, 0], A[[1, 0]]),
    ((1, [0, 2]), A[1, [0, 2]]),
    ((slice(None), [0, 2]), A[:, [0, 2]]),
    (([1, 0], [2, 2]), A[[1, 0], [2, 2]]),
    (np.int64(1), A[1]),
    ((np.int32(0), np.int64(1)), A[0, 1:2]),
    (np.array([1, 0]), A[[1, 0]]),
]


@pytest.mark.parametrize(
    "key, expected", GET,
    ids=["int", "negative-int", "two-ints", "slice", "empty-slice", "column", "step",
         "reverse", "none", "ellipsis", "int-slice", "list", "int-list", "slice-list",
         "two-lists", "numpy-int", "numpy-int-pair", "numpy-array"],
)
def test_getitem(key, expected):
    res = _a()[key]
    assert isinstance(res, mx.nd.NDArray)
    assert res.shape == expected.shape
    np.testing.assert_array_equal(res.asnumpy(), expected)


def test_getitem_ndarray_index():
    a = _a()
    assert a[mx.nd.array([1, 0, 1])].asnumpy().tolist() == A[[1, 0, 1]].tolist()
    assert a[mx.nd.array([1, 0], dtype="int32")].shape == (2, 3)
    assert a[mx.nd.array([[1, 0], [0, 0]])].shape == (2, 2, 3)
    assert a[mx.nd.array([1, 0]), mx.nd.array([2, 2])].asnumpy().tolist() == [-6, 3]


@pytest.mark.parametrize("key", [0, 1, -1, np.int64(2)], ids=["0", "1", "-1", "numpy"])
def test_1d_int_index_is_shape_1(key):
    c = mx.nd.array([1, 2, 3])
    res = c[key]
    assert res.shape == (1,)
    assert res.asscalar() == [1, 2, 3][int(key)]


def test_3d_mixed_keys():
    x = mx.nd.array(X3)
    np.testing.assert_array_equal(x[1, :, 2].asnumpy(), X3[1, :, 2])
    np.testing.assert_array_equal(x[:, 1:, ::2].asnumpy(), X3[:, 1:, ::2])
    np.testing.assert_array_equal(x[1, 2, 3].asnumpy(), [23])
    np.testing.assert_array_equal(x[..., 1, 2].asnumpy(), X3[..., 1, 2])
    np.testing.assert_array_equal(x[1, ..., 2].asnumpy(), X3[1, ..., 2])


@pytest.mark.parametrize(
    "key, error",
    [(2, IndexError), (-3, IndexError), ((1, 2, 3), IndexError), (1.5, ValueError),
     ("a", ValueError), (mx.nd.array([3]), IndexError), (True, ValueError)],
    ids=["int-high", "int-low", "too-many", "float", "str", "ndarray-out-of-range", "bool"],
)
def test_getitem_errors(key, error):
    with pytest.raises(error):
        _a()[key]


def test_getitem_1d_out_of_range():
    with pytest.raises(IndexError, match="out of bounds"):
        mx.nd.array([1, 2, 3])[3]


VIEWS = [
    # (key, is a view) -- a view when the selected region is contiguous in memory, as MXNet
    (1, True),
    (slice(1, None), True),
    ((1, 2), True),
    ((1, slice(1, None)), True),
    (None, True),
    (Ellipsis, True),
    ((slice(None), slice(None)), True),
    (slice(None, None, 2), True),  # one row: contiguous
    (slice(1, 0, -1), True),
    ((slice(None), 1), False),
    ((slice(0, 2), slice(0, 2)), False),
    ([1], False),
    (mx.nd.array([0]), False),
]


@pytest.mark.parametrize(
    "key, is_view", VIEWS,
    ids=["int", "slice", "element", "int-slice", "none", "ellipsis", "full", "step-one-row",
         "reverse-one-row", "column", "block", "list", "ndarray"],
)
def test_view_or_copy(key, is_view):
    a = _a()
    sub = a[key]
    sub[:] = 0
    changed = not np.array_equal(a.asnumpy(), A)
    assert changed is is_view


def test_chained_views_propagate():
    a = _a()
    a[1][1:][:] = 0
    assert a.asnumpy().tolist() == [[1, -2, 3], [-4, 0, 0]]
    c = mx.nd.array([1, 2, 3])
    c[1][:] = 9
    assert c.asnumpy().tolist() == [1, 9, 3]


def test_step_slice_of_several_rows_copies():
    x = mx.nd.array(X3)
    sub = x[::2, ::2]
    sub[:] = -1
    np.testing.assert_array_equal(x.asnumpy(), X3)


def test_views_are_contiguous():
    a = _a()
    for key in [1, (slice(None), 1), (slice(None), slice(None, None, 2)), slice(None, None, -1)]:
        assert a[key]._data.flags.c_contiguous


def test_view_sees_later_writes():
    a = _a()
    row = a[0]
    a[:] = 5
    assert row.asnumpy().tolist() == [5, 5, 5]
    a += 1
    assert row.asnumpy().tolist() == [6, 6, 6]


SET = [
    # (key, value, expected)
    (slice(None), 7, np.full((2, 3), 7)),
    (slice(None), mx.nd.array([1, 2, 3]), np.array([[1, 2, 3], [1, 2, 3]])),
    (slice(None), np.array([[1], [2]]), np.array([[1, 1, 1], [2, 2, 2]])),
    (slice(None), mx.nd.array([1, 2, 3], dtype="int32"), np.array([[1, 2, 3], [1, 2, 3]])),
    (1, 0, np.array([[1, -2, 3], [0, 0, 0]])),
    (1, mx.nd.array([[7, 8, 9]]), np.array([[1, -2, 3], [7, 8, 9]])),
    ((1, 2), 0, np.array([[1, -2, 3], [-4, 5, 0]])),
    ((slice(None), 1), mx.nd.array([8, 9]), np.array([[1, 8, 3], [-4, 9, -6]])),
    (slice(0, 1), [[9, 9, 9]], np.array([[9, 9, 9], [-4, 5, -6]])),
    (([0, 1], [1, 2]), 9, np.array([[1, 9, 3], [-4, 5, 9]])),
    (mx.nd.array([1]), 0, np.array([[1, -2, 3], [0, 0, 0]])),
    ((slice(1, 2), 1), np.float64(9), np.array([[1, -2, 3], [-4, 9, -6]])),
    (-1, (1, 2, 3), np.array([[1, -2, 3], [1, 2, 3]])),
    ((slice(None), slice(None, None, 2)), 0, np.array([[0, -2, 0], [0, 5, 0]])),
]


@pytest.mark.parametrize(
    "key, value, expected", SET,
    ids=["all-scalar", "all-row-broadcast", "all-numpy-column", "all-other-dtype", "row-scalar",
         "row-from-2d", "element", "column", "slice-list", "fancy", "ndarray-index",
         "numpy-scalar", "negative-row-tuple", "strided"],
)
def test_setitem(key, value, expected):
    a = _a()
    obj = id(a)
    a[key] = value
    assert id(a) == obj
    np.testing.assert_array_equal(a.asnumpy(), expected.astype(np.float32))


def test_setitem_1d():
    c = mx.nd.array([1, 2, 3])
    c[-1] = 9
    c[1] = mx.nd.array([8])
    c[0] = np.float32(7)
    assert c.asnumpy().tolist() == [7, 8, 9]
    c[:] = [4, 5, 6]
    assert c.asnumpy().tolist() == [4, 5, 6]


def test_setitem_int_array_truncates_float():
    i = mx.nd.array([1, 2], dtype="int32")
    i[:] = 2.7
    assert i.asnumpy().tolist() == [2, 2]


@pytest.mark.parametrize(
    "key, value",
    [(slice(None), mx.nd.array([1, 2])), ((slice(None), 0), mx.nd.array([[7], [8]])),
     (1, mx.nd.array([[7, 8, 9], [1, 1, 1]]))],
    ids=["bad-broadcast", "column-2d", "row-2-rows"],
)
def test_setitem_shape_error_names_shapes(key, value):
    a = _a()
    with pytest.raises(ValueError, match=r"shape \["):
        a[key] = value
    np.testing.assert_array_equal(a.asnumpy(), A)


@pytest.mark.parametrize("key", [5, -4], ids=["high", "low"])
def test_setitem_out_of_range(key):
    c = mx.nd.array([1, 2, 3])
    with pytest.raises(IndexError):
        c[key] = 1
    with pytest.raises(IndexError):
        _a()[key] = 1


@pytest.mark.parametrize("value", ["x", None, object(), ["a", "b", "c"]],
                         ids=["str", "none", "object", "str-list"])
def test_setitem_bad_value(value):
    with pytest.raises(TypeError, match="NDArray does not support assignment"):
        mx.nd.array([1, 2, 3])[:] = value


def test_setitem_through_view_and_broadcast():
    x = mx.nd.array(X3)
    x[1][:] = mx.nd.array([1, 2, 3, 4])
    assert x.asnumpy()[1].tolist() == [[1, 2, 3, 4]] * 3
    np.testing.assert_array_equal(x.asnumpy()[0], X3[0])


# ---------------------------------------------------------------------- properties
_SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)


@st.composite
def _array_and_basic_key(draw):
    shape = draw(_SHAPES)
    key = draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape), key


@settings(max_examples=150, deadline=None)
@given(case=_array_and_basic_key())
def test_property_basic_indexing_matches_numpy(case):
    x, key = case
    a = mx.nd.array(x)
    expected = np.asarray(x[key])
    got = a[key]
    if expected.ndim == 0:
        expected = expected.reshape(1)  # a single element stays an array of shape (1,)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.asnumpy(), expected)
    # a view exactly when the selection is contiguous in memory (MXNet's rule)
    view = x[key]
    contiguous = not isinstance(view, np.ndarray) or view.ndim == 0 or view.flags.c_contiguous
    got[:] = -1
    assert (a.asnumpy() == -1).any() == (contiguous and got.size > 0)


@settings(max_examples=150, deadline=None)
@given(case=_array_and_basic_key(), value=st.floats(-5, 5, width=32))
def test_property_basic_setitem_matches_numpy(case, value):
    x, key = case
    a = mx.nd.array(x)
    a[key] = value
    expected = x.copy()
    expected[key] = value
    np.testing.assert_array_equal(a.asnumpy(), expected)
