"""Properties of the sparse arrays: conversions round-trip, operators agree with their dense
equivalents, lazy update operators agree with the optimizers, the bench runs."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import mxlite as mx

SPARSE = arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 5)),
                elements=st.sampled_from([0.0, 0.0, 0.0, 1.5, -2.0, 3.25]))


@settings(max_examples=40, deadline=None)
@given(SPARSE, st.sampled_from(["row_sparse", "csr"]))
def test_conversion_round_trip(dense, stype):
    a = mx.nd.array(dense).tostype(stype)
    a.check_format()
    np.testing.assert_array_equal(a.asnumpy(), dense)
    np.testing.assert_array_equal(mx.nd.sparse.cast_storage(a, "default").asnumpy(), dense)
    back = mx.nd.load_frombuffer(mx.nd.save_to_bytes([a]))[0]
    assert back.stype == stype
    np.testing.assert_array_equal(back.asnumpy(), dense)
    if stype == "row_sparse":
        assert a.indices.asnumpy().tolist() == np.flatnonzero(dense.any(axis=1)).tolist()
    else:
        assert a.data.asnumpy().tolist() == dense[dense != 0].tolist()


@settings(max_examples=40, deadline=None)
@given(SPARSE, SPARSE, st.sampled_from(["row_sparse", "csr"]),
       st.sampled_from(["+", "-", "*"]))
def test_elementwise_equals_dense(x, y, stype, op):
    if x.shape != y.shape:
        y = np.resize(y, x.shape)
    a, b = mx.nd.array(x).tostype(stype), mx.nd.array(y).tostype(stype)
    got = {"+": a + b, "-": a - b, "*": a * b}[op]
    want = {"+": x + y, "-": x - y, "*": x * y}[op]
    assert got.stype == stype
    got.check_format()
    np.testing.assert_allclose(got.asnumpy(), want)


@settings(max_examples=30, deadline=None)
@given(SPARSE, st.integers(1, 4), st.booleans())
def test_dot_equals_dense(x, cols, transpose_a):
    rng = np.random.default_rng(0)
    csr = mx.nd.array(x).tostype("csr")
    rhs = rng.normal(size=(x.shape[0] if transpose_a else x.shape[1], cols)).astype(np.float32)
    got = mx.nd.sparse.dot(csr, mx.nd.array(rhs), transpose_a=transpose_a)
    want = (x.T if transpose_a else x) @ rhs
    assert got.stype == ("row_sparse" if transpose_a else "default")
    np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op, states, kw", [
    ("sgd_update", 0, {"lr": 0.1, "wd": 0.1}),
    ("sgd_mom_update", 1, {"lr": 0.1, "momentum": 0.9, "wd": 0.1}),
    ("adam_update", 2, {"lr": 0.01, "wd": 0.1}),
], ids=["sgd", "sgd_mom", "adam"])
@pytest.mark.parametrize("lazy", [True, False], ids=["lazy", "standard"])
def test_update_ops_with_row_sparse_grad(op, states, kw, lazy):
    """``mx.nd.*_update`` with a row_sparse grad: lazy touches only the stored rows and equals
    the dense op on those rows; ``lazy_update=False`` equals the dense op everywhere."""
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(6, 3)).astype(np.float32)
    g = mx.nd.sparse.row_sparse_array((rng.normal(size=(2, 3)).astype(np.float32), [1, 4]),
                                      shape=(6, 3))
    fn = getattr(mx.nd, op)
    w, ss = mx.nd.array(w0), [mx.nd.zeros((6, 3)) for _ in range(states)]
    fn(w, g, *ss, out=w, lazy_update=lazy, **kw)
    wd, sd = mx.nd.array(w0), [mx.nd.zeros((6, 3)) for _ in range(states)]
    fn(wd, g.tostype("default"), *sd, out=wd, **kw)
    if lazy:
        np.testing.assert_array_equal(w.asnumpy()[[1, 4]], wd.asnumpy()[[1, 4]])
        np.testing.assert_array_equal(w.asnumpy()[[0, 2, 3, 5]], w0[[0, 2, 3, 5]])
    else:
        np.testing.assert_array_equal(w.asnumpy(), wd.asnumpy())


def test_sparse_adagrad_update_op_matches_optimizer():
    rng = np.random.default_rng(2)
    w0 = rng.normal(size=(5, 2)).astype(np.float32)
    g = mx.nd.sparse.row_sparse_array((rng.normal(size=(2, 2)).astype(np.float32), [0, 3]),
                                      shape=(5, 2))
    w, h = mx.nd.array(w0), mx.nd.zeros((5, 2))
    mx.nd.sparse.adagrad_update(w, g, h, lr=0.1, epsilon=1e-7, out=w)
    opt = mx.optimizer.AdaGrad(learning_rate=0.1)
    w2 = mx.nd.array(w0)
    opt.update(0, w2, g, opt.create_state(0, w2))
    np.testing.assert_allclose(w.asnumpy(), w2.asnumpy(), rtol=1e-6)
    with pytest.raises(mx.MXNetError, match="wd"):
        mx.nd.sparse.adagrad_update(w, g, h, lr=0.1, wd=0.1)


def test_multi_precision_adam_lazy_keeps_untouched_rows():
    w = mx.nd.array(np.ones((4, 2)), dtype="float16")
    opt = mx.optimizer.Adam(learning_rate=0.1, wd=0.1, multi_precision=True)
    state = opt.create_state_multi_precision(0, w)
    g = mx.nd.sparse.row_sparse_array((np.ones((1, 2), np.float16), [2]), shape=(4, 2),
                                      dtype="float16")
    opt.update_multi_precision(0, w, g, state)
    out = w.asnumpy()
    assert (out[[0, 1, 3]] == 1).all() and (out[2] < 1).all()
    assert (state[0].asnumpy()[2] < 1).all() and (state[0].asnumpy()[[0, 1, 3]] == 1).all()


def test_bench_runs_small():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "sparse.py")
    spec = importlib.util.spec_from_file_location("bench_sparse", path)
    bench_sparse = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_sparse)

    res = bench_sparse.run_mxlite(rows=2000, cols=4, frac=0.01, repeat=1)
    assert set(res) == {"lazy", "dense"} and all(v > 0 for v in res.values())
    assert "mxlite" in bench_sparse.table({"mxlite": res, "mxnet": "not here"},
                                          type("A", (), {"rows": 2000, "cols": 4, "frac": 0.01,
                                                         "repeat": 1}))
