"""KVStore with row_sparse pushes and row_sparse_pull, against MXNet 1.9.1."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx

from ._golden import ARRAYS, META, close

KV = META["kvstore"]


def test_push_and_row_sparse_pull_match_mxnet():
    w0 = np.array(KV["w0"], dtype=np.float32)
    kv = mx.kv.create("local")
    kv.init("w", mx.nd.array(w0).tostype("row_sparse"))
    kv.set_optimizer(mx.optimizer.create("sgd", learning_rate=0.5, wd=0.1))
    for i, (rows, vals) in enumerate(KV["pushes"]):
        g = mx.nd.sparse.row_sparse_array((np.array(vals, np.float32), rows), shape=(6, 4))
        kv.push("w", [g, g * 2])
        out = mx.nd.sparse.zeros("row_sparse", (6, 4))
        kv.row_sparse_pull("w", out=out, row_ids=mx.nd.array([3, 1, 5, 1]))
        assert out.stype == "row_sparse"
        assert out.indices.asnumpy().tolist() == ARRAYS[f"kv/pull{i}/indices"].tolist()
        close(out.asnumpy(), ARRAYS[f"kv/pull{i}/values"], what=f"pull {i}")
    dense = mx.nd.zeros((6, 4))
    kv.pull("w", out=dense)
    close(dense.asnumpy(), ARRAYS["kv/full"], what="full pull")


def test_push_without_optimizer_replaces_value():
    w0 = np.array(KV["w0"], dtype=np.float32)
    kv = mx.kv.create("local")
    kv.init(0, mx.nd.array(w0).tostype("row_sparse"))
    g = mx.nd.sparse.row_sparse_array((np.ones((1, 4), np.float32), [2]), shape=(6, 4))
    kv.push(0, [g, g])
    out = mx.nd.sparse.zeros("row_sparse", (6, 4))
    kv.row_sparse_pull(0, out=out, row_ids=mx.nd.array([0, 2]))
    assert out.indices.asnumpy().tolist() == ARRAYS["kv/noopt/indices"].tolist()
    close(out.asnumpy(), ARRAYS["kv/noopt/values"])


def test_row_sparse_pull_several_outs_and_errors():
    kv = mx.kv.create("local")
    kv.init(1, mx.nd.array(np.arange(12, dtype=np.float32).reshape(4, 3)))
    outs = [mx.nd.sparse.zeros("row_sparse", (4, 3)) for _ in range(2)]
    kv.row_sparse_pull(1, out=outs, row_ids=[mx.nd.array([0]), mx.nd.array([3, 2])])
    assert [o.indices.asnumpy().tolist() for o in outs] == [[0], [2, 3]]
    np.testing.assert_array_equal(outs[1].asnumpy()[3], [9, 10, 11])
    with pytest.raises(TypeError, match="RowSparseNDArray"):
        kv.row_sparse_pull(1, out=mx.nd.zeros((4, 3)), row_ids=mx.nd.array([0]))
    with pytest.raises(mx.MXNetError, match="out of range"):
        kv.row_sparse_pull(1, out=outs[0], row_ids=mx.nd.array([4]))
    with pytest.raises(ValueError, match="row_ids"):
        kv.row_sparse_pull(1, out=outs[0])
    dense = mx.nd.zeros((4, 3))
    kv.pull(1, out=[dense, outs[0]])  # a sparse out is skipped (ignore_sparse=True)
    assert outs[0].indices.asnumpy().tolist() == [0]
    kv.pull(1, out=outs[0], ignore_sparse=False)
    np.testing.assert_array_equal(outs[0].asnumpy(), dense.asnumpy())
