"""``mx.test_utils.rand_sparse_ndarray``: MXNet 1.9.1's signature, return values and the
distributions its docstring describes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite import test_utils as tu


def _rows_of(indptr):
    return np.diff(np.asarray(indptr))


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 12), cols=st.integers(1, 12), density=st.floats(0, 1),
       seed=st.integers(0, 2**31 - 1))
def test_uniform_csr_has_exactly_round_density_times_size_entries(rows, cols, density, seed):
    np.random.seed(seed)  # noqa: NPY002  (test_utils draws from the global generator)
    arr, (indptr, indices, data) = tu.rand_sparse_ndarray((rows, cols), "csr", density=density)
    assert isinstance(arr, mx.nd.sparse.CSRNDArray) and arr.shape == (rows, cols)
    for part, name in ((indptr, "indptr"), (indices, "indices"), (data, "data")):
        np.testing.assert_array_equal(part.asnumpy(), getattr(arr, name).asnumpy())
    nnz = round(density * rows * cols)
    ip, ix, values = indptr.asnumpy(), indices.asnumpy(), data.asnumpy()
    assert ip[0] == 0 and ip[-1] == nnz == len(ix) == len(values)
    assert ((values >= 0) & (values < 1)).all()
    for r in range(rows):  # distinct, sorted columns in each row
        cols_r = ix[ip[r]:ip[r + 1]]
        assert (np.diff(cols_r) > 0).all()
    dense = arr.asnumpy()
    np.testing.assert_array_equal(dense[np.repeat(np.arange(rows), _rows_of(ip)), ix], values)


def test_uniform_row_sparse_keeps_each_row_with_probability_density():
    np.random.seed(1)  # noqa: NPY002
    arr, (values, indices) = tu.rand_sparse_ndarray((4000, 2), "row_sparse", density=0.25,
                                                    dtype="float64")
    assert isinstance(arr, mx.nd.sparse.RowSparseNDArray)
    np.testing.assert_array_equal(arr.indices.asnumpy(), indices)
    np.testing.assert_array_equal(arr.data.asnumpy(), values)
    assert values.dtype == np.float64 and values.shape == (len(indices), 2)
    assert abs(len(indices) / 4000 - 0.25) < 0.03  # binomial sd 0.007
    assert ((values >= 0) & (values < 1)).all()
    assert abs(values.mean() - 0.5) < 0.03


def test_row_sparse_options_indices_data_init_modifier_and_no_rows():
    arr, (values, indices) = tu.rand_sparse_ndarray((5, 3), "row_sparse", rsp_indices=[1, 4],
                                                    data_init=2.0, modifier_func=lambda v: v * 3)
    np.testing.assert_array_equal(indices, [1, 4])
    np.testing.assert_array_equal(values, np.full((2, 3), 6.0))
    dense = arr.asnumpy()
    assert dense[[1, 4]].tolist() == [[6.0] * 3] * 2 and not dense[[0, 2, 3]].any()
    empty, (v, i) = tu.rand_sparse_ndarray((3, 2), "row_sparse", density=0.0)
    assert empty.stype == "row_sparse" and not empty.asnumpy().any()
    assert v.size == 0 and i.size == 0


def test_powerlaw_csr_rows_double_as_mxnet_documents():
    np.random.seed(2)  # noqa: NPY002
    arr, (indptr, _, data) = tu.rand_sparse_ndarray((5, 16), "csr", density=0.5,
                                                    distribution="powerlaw")
    per_row = _rows_of(indptr.asnumpy())
    assert per_row.tolist() == [2, 4, 8, 16, 10]  # 40 = 5 * 16 * 0.5; row 3 full
    values = data.asnumpy()
    assert ((values >= 1.001) & (values < 3.0)).all()
    assert arr.asnumpy()[:, 0].all()  # no empty row


def test_shuffle_csr_column_indices_moves_each_value_with_its_column():
    np.random.seed(3)  # noqa: NPY002
    arr, _ = tu.rand_sparse_ndarray((30, 30), "csr", density=0.5)
    parts = type("Parts", (), {})()
    parts.indptr = arr.indptr.asnumpy()
    parts.indices = arr.indices.asnumpy().copy()
    parts.data = arr.data.asnumpy().copy()
    tu.shuffle_csr_column_indices(parts)
    ip, ix = parts.indptr, parts.indices
    assert sum(not (np.diff(ix[ip[r]:ip[r + 1]]) > 0).all() for r in range(30)) > 20
    dense = np.zeros((30, 30), dtype=np.float32)
    dense[np.repeat(np.arange(30), _rows_of(ip)), ix] = parts.data
    np.testing.assert_array_equal(dense, arr.asnumpy())
    # mxlite's CSRNDArray keeps its columns sorted: the shuffled request is the same matrix
    shuffled, _ = tu.rand_sparse_ndarray((30, 30), "csr", density=0.5, shuffle_csr_indices=True)
    assert int(shuffled.indptr.asnumpy()[-1]) == 450


def test_rand_ndarray_sparse_goes_through_rand_sparse_ndarray():
    np.random.seed(4)  # noqa: NPY002
    arr = tu.rand_ndarray((6, 8), "csr", density=0.25, distribution="uniform")
    assert arr.stype == "csr" and int(arr.indptr.asnumpy()[-1]) == 12


@pytest.mark.parametrize("kwargs,match", [
    ({"shape": (3, 3), "stype": "dense"}, "stype must be 'csr' or 'row_sparse', got 'dense'"),
    ({"shape": (3, 3), "stype": "csr", "distribution": "normal"},
     "distribution must be 'uniform' or 'powerlaw', got 'normal'"),
    ({"shape": (3, 3), "stype": "row_sparse", "distribution": "powerlaw"},
     "'powerlaw' is not supported for row_sparse"),
    ({"shape": (3, 3), "stype": "csr", "density": 1.5}, r"density must be in \[0, 1\], got 1.5"),
    ({"shape": (2, 3, 4), "stype": "csr"}, r"a csr array is 2-D, got shape \(2, 3, 4\)"),
    ({"shape": (4, 4), "stype": "csr", "density": 0.1, "distribution": "powerlaw"},
     "powerlaw needs rows \\* cols \\* density >= 2 \\* rows"),
    ({"shape": (4, 2), "stype": "row_sparse", "rsp_indices": [5]},
     r"rsp_indices must be at most 4 row numbers in \[0, 4\)"),
], ids=["stype", "distribution", "powerlaw_rsp", "density", "csr_3d", "powerlaw_sparse",
        "rsp_indices"])
def test_bad_requests_raise_value_error_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tu.rand_sparse_ndarray(**kwargs)
