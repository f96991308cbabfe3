"""MXNet's scatter operators (``_scatter_elemwise_div``, ``_scatter_plus_scalar``,
``_scatter_minus_scalar``: the sparsity pattern of the sparse input is kept), and sparse arrays
built from invalid indices (MXNet builds them and ``check_format`` reports the problem).

Values against MXNet 1.9.1 are in test_executor_stypes.py (the ``scatter_*`` and
``_scatter_elemwise_div-*`` cases of tools/gen_golden_sparse_executor.py); this file checks the
stored structure, the gradients (float64, numerically) and the nd / sym entry points.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx

X = np.array([[0, 0, 0], [2, 0, 3], [0, 0, 0], [0, 4, 1.5]], dtype=np.float64)
P = np.array([[1, 2, 4], [2, 0.5, 3], [4, 1, 2], [1, 4, 8]], dtype=np.float64)
def _rsp_with_zero_rows():
    return mx.nd.sparse.row_sparse_array((np.array([[0, 0, 0], [2, 0, 3]], np.float32),
                                          [0, 1]), shape=(4, 3))


SCALAR_CASES = [
    ("plus", "_scatter_plus_scalar", np.add),
    ("minus", "_scatter_minus_scalar", np.subtract),
]


@pytest.mark.parametrize("opname,fn", [(c[1], c[2]) for c in SCALAR_CASES],
                         ids=[c[0] for c in SCALAR_CASES])
@pytest.mark.parametrize("stype", ["row_sparse", "csr", "default"])
def test_scatter_scalar_touches_stored_elements_only(opname, fn, stype):
    x = mx.nd.array(X).tostype(stype) if stype != "row_sparse" else _rsp_with_zero_rows()
    dense = x.asnumpy()
    out = getattr(mx.nd._internal, opname)(x, scalar=1.5)
    assert out.stype == stype
    if stype == "default":
        expected = fn(dense, 1.5)
    elif stype == "row_sparse":  # every element of the stored rows 0 and 1
        expected = dense.copy()
        expected[[0, 1]] = fn(dense[[0, 1]], 1.5)
        assert out.indices.asnumpy().tolist() == [0, 1]
    else:  # the stored (non-zero) entries
        expected = np.where(dense != 0, fn(dense, 1.5), 0)
        assert out.indices.asnumpy().tolist() == x.indices.asnumpy().tolist()
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("rhs_stype", ["default", "row_sparse", "csr"])
def test_scatter_div_keeps_the_rows_of_lhs(rhs_stype):
    lhs = _rsp_with_zero_rows()
    rhs = mx.nd.array(P).tostype(rhs_stype)
    for out in (mx.nd._internal._scatter_elemwise_div(lhs, rhs),
                _bound(mx.sym._internal._scatter_elemwise_div(
                    mx.sym.Variable("l", stype="row_sparse"),
                    mx.sym.Variable("r", stype=rhs_stype)), {"l": lhs, "r": rhs})):
        assert out.stype == "row_sparse"
        assert out.indices.asnumpy().tolist() == [0, 1]  # row 0 stored though zero
        expected = np.zeros((4, 3))
        expected[:2] = lhs.asnumpy()[:2] / P[:2]
        np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-6)


def test_scatter_div_of_dense_lhs_is_the_dense_quotient():
    out = mx.nd._internal._scatter_elemwise_div(mx.nd.array(X), mx.nd.array(P))
    assert out.stype == "default"
    np.testing.assert_allclose(out.asnumpy(), X / P, rtol=1e-6)


def _bound(sym, args):
    exe = sym.bind(mx.cpu(), args=args)
    exe.forward()
    return exe.outputs[0]


def _numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        g[idx] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def _grad(sym, inputs, head):
    names = sym.list_arguments()
    exe = sym.simple_bind(mx.cpu(), type_dict=dict.fromkeys(names, np.float64),
                          **{n: inputs[n].shape for n in names})
    for n in names:
        exe.arg_dict[n][:] = mx.nd.array(inputs[n], dtype=np.float64)
    exe.forward(is_train=True)
    exe.backward(mx.nd.array(head, dtype=np.float64))
    return {n: exe.grad_dict[n].asnumpy() for n in names}


def test_scatter_div_gradients_numerically():
    rng = np.random.default_rng(0)
    lhs, rhs = rng.normal(size=(3, 4)), rng.uniform(0.5, 2, size=(3, 4))
    head = rng.normal(size=(3, 4))
    sym = mx.sym._internal._scatter_elemwise_div(mx.sym.Variable("l"), mx.sym.Variable("r"))
    got = _grad(sym, {"l": lhs, "r": rhs}, head)
    np.testing.assert_allclose(got["l"], _numeric_grad(lambda a: (a / rhs * head).sum(), lhs),
                               rtol=1e-6)
    np.testing.assert_allclose(got["r"], _numeric_grad(lambda b: (lhs / b * head).sum(), rhs),
                               rtol=1e-6)


@pytest.mark.parametrize("opname,fn", [(c[1], c[2]) for c in SCALAR_CASES],
                         ids=[c[0] for c in SCALAR_CASES])
def test_scatter_scalar_gradient_is_the_output_gradient(opname, fn):
    x = np.random.default_rng(1).normal(size=(3, 2))
    head = np.random.default_rng(2).normal(size=(3, 2))
    sym = getattr(mx.sym._internal, opname)(mx.sym.Variable("x"), scalar=0.5)
    got = _grad(sym, {"x": x}, head)["x"]
    np.testing.assert_allclose(got, _numeric_grad(lambda a: (fn(a, 0.5) * head).sum(), x),
                               rtol=1e-6)


# ---------------------------------------------------------------------- check_format
INVALID = [
    ("csr_indptr_past_nnz", "csr", ([7, 8, 9], [0, 2, 1], [0, 5, 2, 3]), (3, 4)),
    ("csr_indptr_end", "csr", ([7, 8, 9], [1, 2, 1], [0, 2, 2, 4]), (3, 4)),
    ("csr_negative_indptr", "csr", ([7, 8, 9], [0, 2, 1], [0, -2, 2, 3]), (3, 4)),
    ("csr_column_out_of_range", "csr", ([7, 8, 9], [0, 4, 1], [0, 2, 2, 3]), (3, 4)),
    ("csr_duplicate_column", "csr", ([7, 8, 9], [1, 1, 1], [0, 2, 2, 3]), (3, 4)),
    ("rsp_row_out_of_range", "row_sparse", ([[1, 2], [3, 4]], [1, 4]), (3, 2)),
    ("rsp_duplicate_row", "row_sparse", ([[1, 2], [3, 4]], [1, 1]), (3, 2)),
]


def _build(stype, parts, shape):
    if stype == "csr":
        return mx.nd.sparse.csr_matrix(parts, shape=shape)
    return mx.nd.sparse.row_sparse_array(parts, shape=shape)


@pytest.mark.parametrize("stype,parts,shape", [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_array_is_built_reported_and_refused(stype, parts, shape):
    arr = _build(stype, parts, shape)  # MXNet builds it too
    assert arr.stype == stype and arr.shape == shape
    assert isinstance(arr, mx.nd.sparse.BaseSparseNDArray)
    with pytest.raises(mx.MXNetError):
        arr.check_format()
    # what was given can be read back ...
    np.testing.assert_array_equal(arr.data.asnumpy().ravel(), np.ravel(parts[0]))
    np.testing.assert_array_equal(arr.indices.asnumpy(), parts[1])
    # ... but nothing computes with it (MXNet's kernels would index out of bounds)
    uses = [arr.asnumpy, lambda: arr * 2, lambda: arr.tostype("default"), arr.copy]
    if stype == "csr":
        uses.append(lambda: mx.nd.sparse.dot(arr, mx.nd.ones((shape[1], 1))))
    for use in uses:
        with pytest.raises(mx.MXNetError, match="invalid"):
            use()


def test_invalid_array_cannot_be_saved(tmp_path):
    arr = _build(*INVALID[0][1:])
    with pytest.raises(mx.MXNetError, match="invalid"):
        mx.nd.save(str(tmp_path / "a.nd"), [arr])
    assert not (tmp_path / "a.nd").exists()


UNSORTED = [
    ("csr_columns", "csr", ([7, 8, 9], [2, 1, 1], [0, 2, 2, 3]), (3, 4),
     [[0, 8, 7, 0], [0, 0, 0, 0], [0, 9, 0, 0]], [1, 2, 1]),
    ("rsp_rows", "row_sparse", ([[1, 2], [3, 4]], [1, 0]), (3, 2), [[3, 4], [1, 2], [0, 0]],
     [0, 1]),
]


@pytest.mark.parametrize("stype,parts,shape,dense,stored", [c[1:] for c in UNSORTED],
                         ids=[c[0] for c in UNSORTED])
def test_unsorted_indices_are_sorted_and_reported(stype, parts, shape, dense, stored):
    arr = _build(stype, parts, shape)
    with pytest.raises(mx.MXNetError, match="ascending"):
        arr.check_format()  # as MXNet: the indices given were not in order
    np.testing.assert_array_equal(arr.asnumpy(), dense)  # yet it computes right (sorted)
    np.testing.assert_array_equal((arr * 2).asnumpy(), np.asarray(dense) * 2)
    assert arr.indices.asnumpy().tolist() == stored


@pytest.mark.parametrize("stype", ["csr", "row_sparse"])
def test_valid_arrays_pass_check_format(stype):
    arr = mx.nd.array(X).tostype(stype)
    arr.check_format()
    mx.nd.sparse.zeros(stype, (3, 4)).check_format()
