"""mx.nd.contrib's sparse-aware functions (getnnz, quadratic, allclose), the mx.sym.contrib and
mx.sym._internal namespaces, and contrib.SparseEmbedding's row_sparse weight gradient.

Expected numbers were printed by MXNet 1.9.1 for the same inputs (values small enough to read)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

DENSE = np.array([[0, 1, 0, 2, 0], [0, 0, 0, 0, 0], [3, 0, 0, 4, 5]], dtype=np.float32)


def _csr():
    return mx.nd.sparse.csr_matrix(DENSE)


@pytest.mark.parametrize("axis, expected", [(None, [5]), (1, [2, 0, 3])], ids=["all", "rows"])
def test_getnnz(axis, expected):
    out = mx.nd.contrib.getnnz(_csr(), axis=axis)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.asnumpy(), expected)


@pytest.mark.parametrize("data, axis", [("csr", 0), ("dense", None)], ids=["axis0", "dense"])
def test_getnnz_rejects_what_mxnet_rejects(data, axis):
    arr = _csr() if data == "csr" else mx.nd.array(DENSE)
    with pytest.raises(MXNetError, match="getnnz"):
        mx.nd.contrib.getnnz(arr, axis=axis)


@pytest.mark.parametrize("stype, c, out_stype", [
    ("csr", 0.0, "csr"), ("csr", 1.0, "default"), ("row_sparse", 0.0, "default"),
    ("default", 1.0, "default")], ids=["csr-c0", "csr-c1", "rsp", "dense"])
def test_quadratic(stype, c, out_stype):
    out = mx.nd.contrib.quadratic(mx.nd.array(DENSE).tostype(stype), a=2, b=3, c=c)
    assert out.stype == out_stype
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), 2 * DENSE ** 2 + 3 * DENSE + c)
    if out_stype == "csr":  # MXNet 1.9.1: 2x^2 + 3x on the stored values only
        np.testing.assert_array_equal(out.data.asnumpy(), [5, 14, 27, 44, 65])


def test_quadratic_defaults_are_zero():
    np.testing.assert_array_equal(mx.nd.contrib.quadratic(mx.nd.array([[1, 2]])).asnumpy(),
                                  [[0, 0]])


@pytest.mark.parametrize("a, b, kw, expected", [
    ([1, np.nan], [1, np.nan], {}, 1),
    ([1, np.nan], [1, np.nan], {"equal_nan": False}, 0),
    ([1, 2], [1, 3], {"rtol": 0.1, "atol": 0.1}, 0),
    ([1, 2], [1, 2.1], {"rtol": 0.1}, 1)], ids=["nan-eq", "nan-ne", "far", "near"])
def test_allclose(a, b, kw, expected):
    out = mx.nd.contrib.allclose(mx.nd.array(a), mx.nd.array(b), **kw)
    assert out.shape == () and out.dtype == np.uint8
    assert int(out.asnumpy()) == expected


def test_contrib_namespaces():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    assert mx.sym._internal._maximum(a, b).list_arguments() == ["a", "b"]
    emb = mx.sym.contrib.SparseEmbedding(a, input_dim=4, output_dim=2)
    assert emb.list_arguments() == ["a", "sparseembedding0_weight"]  # MXNet's generated name
    for ns, name in ((mx.sym.contrib, "no_such_op"), (mx.sym._internal, "_no_such_op"),
                     (mx.nd.contrib, "no_such_op")):
        with pytest.raises(AttributeError, match=name):
            getattr(ns, name)


@pytest.mark.parametrize("weight_stype", ["default", "row_sparse"])
def test_sparse_embedding_gradient_is_row_sparse(weight_stype):
    in_dim, out_dim, idx = 6, 3, np.array([4, 1, 4, 0], dtype=np.float32)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((in_dim, out_dim)).astype(np.float32)
    dy = rng.standard_normal((idx.size, out_dim)).astype(np.float32)
    data = mx.sym.Variable("data")
    weight = mx.sym.Variable("w", stype=weight_stype)
    sym = mx.sym.contrib.SparseEmbedding(data, weight, input_dim=in_dim, output_dim=out_dim,
                                         deterministic=True)
    exe = sym.simple_bind(mx.cpu(), grad_req={"data": "null", "w": "write"}, data=idx.shape)
    exe.arg_dict["data"][:] = idx
    exe.arg_dict["w"][:] = w
    out = exe.forward(is_train=True)[0]
    np.testing.assert_array_equal(out.asnumpy(), w[idx.astype(int)])
    exe.backward([mx.nd.array(dy)])
    grad = exe.grad_dict["w"]
    assert grad.stype == "row_sparse"
    np.testing.assert_array_equal(grad.indices.asnumpy(), [0, 1, 4])
    dense = np.zeros_like(w)
    np.add.at(dense, idx.astype(int), dy)
    np.testing.assert_allclose(grad.asnumpy(), dense, rtol=1e-6)


@pytest.mark.parametrize("bias_stype", ["default", "row_sparse"])
def test_fully_connected_takes_a_column_bias(bias_stype):
    """MXNet 1.9.1's CPU FullyConnected accepts a ``(num_hidden, 1)`` bias (its sparse test
    passes a row_sparse one); the bias gradient keeps that shape."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((5, 10)), rng.standard_normal((8, 10))
    b = rng.standard_normal((8, 1))
    bias = mx.nd.array(b).tostype(bias_stype)
    out = mx.nd.sparse.FullyConnected(mx.nd.array(x).tostype("csr"), mx.nd.array(w).tostype(
        "row_sparse"), num_hidden=8, bias=bias)
    np.testing.assert_allclose(out.asnumpy(), x @ w.T + b.reshape(-1), rtol=1e-5, atol=1e-5)
    sym = mx.sym.FullyConnected(mx.sym.Variable("x"), mx.sym.Variable("w"),
                                mx.sym.Variable("b"), num_hidden=8)
    assert sym.infer_shape(x=(5, 10), b=(8, 1))[0] == [(5, 10), (8, 10), (8, 1)]
    exe = sym.simple_bind(mx.cpu(), x=(5, 10), b=(8, 1))
    exe.arg_dict["x"][:], exe.arg_dict["w"][:], exe.arg_dict["b"][:] = x, w, b
    exe.forward(is_train=True)
    exe.backward([mx.nd.ones((5, 8))])
    np.testing.assert_allclose(exe.grad_dict["b"].asnumpy(), np.full((8, 1), 5.0))


@pytest.mark.parametrize("shape", [(1, 8), (2, 4), (9,)], ids=str)
def test_fully_connected_rejects_other_bias_shapes(shape):
    x, w = mx.nd.ones((2, 3)), mx.nd.ones((8, 3))
    with pytest.raises(MXNetError, match="bias"):
        mx.nd.FullyConnected(x, w, mx.nd.ones(shape), num_hidden=8)


@pytest.mark.parametrize("stype", ["row_sparse", "csr", "default"])
def test_zeros_takes_stype_fourth(stype):
    z = mx.nd.zeros((3, 4), mx.cpu(), "float64", stype)  # MXNet's positional order
    assert z.stype == stype and z.dtype == np.float64 and z.shape == (3, 4)
    np.testing.assert_array_equal(z.asnumpy(), np.zeros((3, 4)))


# MXNet 1.9.1's mx.nd._internal._square_sum of row_sparse rows [1, 3] = [[1, 2], [3, 4]] in (5, 2)
@pytest.mark.parametrize("kw, stype, expected", [
    ({"axis": 1, "keepdims": True}, "row_sparse", [[0], [5], [0], [25], [0]]),
    ({"axis": 1}, "default", [0, 5, 0, 25, 0]),
    ({"axis": 0}, "default", [10, 20]),
    ({"axis": 0, "keepdims": True}, "default", [[10, 20]])],
    ids=["rows-keep", "rows", "cols", "cols-keep"])
def test_square_sum_row_sparse(kw, stype, expected):
    rsp = mx.nd.sparse.row_sparse_array((np.array([[1.0, 2], [3, 4]]), [1, 3]), shape=(5, 2))
    out = mx.nd._internal._square_sum(rsp, **kw)
    assert out.stype == stype
    np.testing.assert_array_equal(out.asnumpy(), expected)
    dense = mx.nd._internal._square_sum(rsp.tostype("default"), **kw)
    np.testing.assert_array_equal(dense.asnumpy(), expected)


@pytest.mark.parametrize("axis, keepdims", [(0, False), (1, True), (1, False)])
def test_square_sum_symbol_gradient(axis, keepdims):
    x = np.random.default_rng(2).standard_normal((4, 3))
    sym = mx.sym._internal._square_sum(mx.sym.Variable("x"), axis=axis, keepdims=keepdims)
    exe = sym.simple_bind(mx.cpu(), x=x.shape, type_dict={"x": np.float64})
    exe.arg_dict["x"][:] = x
    out = exe.forward(is_train=True)[0]
    np.testing.assert_allclose(out.asnumpy(), (x * x).sum(axis=axis, keepdims=keepdims))
    og = np.random.default_rng(3).standard_normal(out.shape)
    exe.backward([mx.nd.array(og, dtype=np.float64)])
    og_full = og if keepdims else np.expand_dims(og, axis)
    np.testing.assert_allclose(exe.grad_dict["x"].asnumpy(), 2 * x * og_full)


def test_square_sum_rejects_bad_axis():
    with pytest.raises(MXNetError, match="axis"):
        mx.nd._internal._square_sum(mx.nd.ones((2, 2)), axis=2)
    with pytest.raises(MXNetError, match="2-D"):
        mx.nd._internal._square_sum(mx.nd.ones((2, 2, 2)), axis=1)
