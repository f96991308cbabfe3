"""Pickling (incl. copy/deepcopy) and repr/str like MXNet: ``<NDArray 2x3 @cpu(0)>``."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import mxlite as mx

ARRAYS = [
    ("float32-2d", lambda: mx.nd.array([[1, 2, 3], [4, 5, 6]])),
    ("int32", lambda: mx.nd.array([[1, -2]], dtype="int32")),
    ("float64-3d", lambda: mx.nd.arange(24, dtype="float64").reshape((2, 3, 4))),
    ("float16", lambda: mx.nd.array([0.5, 1.5], dtype="float16")),
    ("uint8", lambda: mx.nd.array([0, 255], dtype="uint8")),
    ("empty", lambda: mx.nd.zeros((0, 3))),
    ("view", lambda: mx.nd.arange(12).reshape((3, 4))[1]),
    ("cpu1", lambda: mx.nd.ones((2,), ctx=mx.cpu(1))),
]


@pytest.mark.parametrize("make", [m for _, m in ARRAYS], ids=[n for n, _ in ARRAYS])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL], ids=["p2", "highest"])
def test_pickle_round_trip(make, protocol):
    a = make()
    b = pickle.loads(pickle.dumps(a, protocol=protocol))
    assert isinstance(b, mx.nd.NDArray)
    assert b.shape == a.shape and b.dtype is a.dtype and b.context == a.context
    np.testing.assert_array_equal(b.asnumpy(), a.asnumpy())
    if a.size:
        b[:] = 7
        assert not (a.asnumpy() == 7).all()


def test_pickle_of_a_view_holds_only_the_view():
    base = mx.nd.arange(1000).reshape((10, 100))
    row = base[3]
    assert len(pickle.dumps(row)) < len(pickle.dumps(base)) / 3


def test_pickle_inside_containers():
    data = {"w": mx.nd.ones((2, 2)), "b": [mx.nd.zeros((2,))]}
    back = pickle.loads(pickle.dumps(data))
    assert back["w"].asnumpy().tolist() == [[1, 1], [1, 1]]
    assert back["b"][0].shape == (2,)


@pytest.mark.parametrize("fn", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_module(fn):
    a = mx.nd.array([[1, 2], [3, 4]])
    b = fn(a)
    b[:] = 0
    assert a.asnumpy().tolist() == [[1, 2], [3, 4]]


REPRS = [
    (
        lambda: mx.nd.array([[1, 2, 3], [4, 5, 6]]),
        "\n[[1. 2. 3.]\n [4. 5. 6.]]\n<NDArray 2x3 @cpu(0)>",
    ),
    (lambda: mx.nd.array([1, 2]), "\n[1. 2.]\n<NDArray 2 @cpu(0)>"),
    (lambda: mx.nd.zeros((2,), dtype="int32"), "\n[0 0]\n<NDArray 2 @cpu(0)>"),
    (lambda: mx.nd.ones((1, 2, 2)), "\n[[[1. 1.]\n  [1. 1.]]]\n<NDArray 1x2x2 @cpu(0)>"),
    (lambda: mx.nd.ones((2,), ctx=mx.cpu(1)), "\n[1. 1.]\n<NDArray 2 @cpu(1)>"),
]


@pytest.mark.parametrize("make, expected", REPRS, ids=["2x3", "1d", "int", "3d", "cpu1"])
def test_repr_and_str(make, expected):
    a = make()
    assert repr(a) == expected
    assert str(a) == expected


def test_repr_in_containers():
    assert "<NDArray 2 @cpu(0)>" in repr([mx.nd.ones((2,))])
