"""Storage operators of MXNet's sparse API as graph operators: ``cast_storage`` and
``_sparse_retain`` (``mx.sym.sparse.retain``).

Inside an executor values are computed densely (a bound row_sparse / csr argument is sparse;
see :mod:`mxlite.executor`), so ``cast_storage`` is the identity on the values and
``_sparse_retain`` keeps the rows ``indices`` of ``data`` and zeroes the others.
"""

from __future__ import annotations

import numpy as np

from .registry import Operator, Param, register


@register
class CastStorage(Operator):
    """``cast_storage(data, stype)``: the same values in storage ``stype``."""

    name = "cast_storage"
    params = {"stype": Param("str", choices=("default", "row_sparse", "csr"))}

    def forward(self, p, inputs, aux, is_train):
        return [np.array(inputs[0], copy=True)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [out_grads[0]]


@register
class SparseRetain(Operator):
    """``_sparse_retain(data, indices)``: the rows ``indices`` of ``data``, zero elsewhere; the
    gradient of ``data`` is the output gradient on those rows."""

    name = "_sparse_retain"
    params: dict = {}

    def arguments(self, p):
        return ["data", "indices"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        data, indices = in_shapes
        return [data, indices], [data], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        data, indices = in_types
        return [data, indices if indices is not None else data], [data], aux_types

    @staticmethod
    def _rows(data, indices):
        rows = np.unique(np.asarray(indices).reshape(-1).astype(np.int64))
        return rows[(rows >= 0) & (rows < data.shape[0])]

    def forward(self, p, inputs, aux, is_train):
        data, indices = inputs
        out = np.zeros_like(data)
        rows = self._rows(data, indices)
        out[rows] = data[rows]
        return [out], rows

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        data, indices = inputs
        rows = saved if saved is not None else self._rows(data, indices)  # (sparse forward)
        g = np.zeros_like(data)
        g[rows] = out_grads[0][rows]
        return [g, np.zeros_like(indices)]


@register
class SquareSum(Operator):
    """``_square_sum(data, axis, keepdims)``: ``sum(data ** 2, axis)`` of a 2-D array, axis 0
    or 1 (MXNet's operator for row_sparse data, ``mx.nd._internal._square_sum``; imperatively
    a row_sparse ``data`` with ``axis=1, keepdims=True`` gives a row_sparse result).  Gradient
    ``2 * data * d_out``."""

    name = "_square_sum"
    params = {"axis": Param("int", 0), "keepdims": Param("bool", False)}

    @staticmethod
    def _axis(p, shape):
        from .registry import ShapeError

        if shape is not None and len(shape) != 2:
            raise ShapeError(f"_square_sum: data must be 2-D, got shape {tuple(shape)}")
        if p.axis not in (0, 1, -1, -2):
            raise ShapeError(f"_square_sum: axis must be 0 or 1, got {p.axis}")
        return p.axis % 2

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        axis = self._axis(p, data)
        if data is None:
            return in_shapes, [None], aux_shapes
        data = tuple(int(d) for d in data)
        out = (tuple(1 if i == axis else d for i, d in enumerate(data)) if p.keepdims
               else (data[1 - axis],))
        return [data], [out], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = np.asarray(inputs[0])
        axis = self._axis(p, x.shape)
        return [np.sum(x * x, axis=axis, keepdims=p.keepdims)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = np.asarray(inputs[0])
        og = np.asarray(out_grads[0])
        if not p.keepdims:
            og = np.expand_dims(og, self._axis(p, x.shape))
        return [(2 * x * og).astype(x.dtype, copy=False)]


# ---------------------------------------------------------------------- scatter operators
# MXNet's ``_scatter_*`` operators act on the *stored* elements of a sparse input only: the
# result keeps the input's sparsity pattern (a row_sparse ``lhs`` keeps exactly its rows, a csr
# ``data`` its entries), where the ordinary operator would give a dense result.  On dense
# inputs they are the ordinary operators.
class _ScatterScalar(Operator):
    """``data op scalar`` on the stored elements of ``data`` (row_sparse / csr keep their
    storage; dense data: every element).  The gradient is the output gradient (MXNet's
    ``_copy`` backward)."""

    params = {"scalar": Param("float", 1.0), "is_int": Param("bool", True)}
    fn = staticmethod(np.add)

    def _apply(self, p, values):
        s = np.asarray(p.scalar).astype(values.dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(self.fn(values, s)).astype(values.dtype, copy=False)

    def forward(self, p, inputs, aux, is_train):
        return [self._apply(p, np.asarray(inputs[0]))], None

    def forward_sparse(self, p, inputs):
        x = inputs[0]
        if x.stype == "default":
            return [self._apply(p, x._data)]
        return [x._like(self._apply(p, x._values))]

    def infer_storage_type(self, p, in_stypes):
        st = in_stypes[0]
        return [st], "dense" if st == "default" else "sparse"

    def infer_grad_storage_type(self, p, in_stypes, out_stypes, ograd_stypes):
        return [ograd_stypes[0]]

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return [np.array(out_grads[0], copy=True)]


@register
class ScatterPlusScalar(_ScatterScalar):
    """``_scatter_plus_scalar(data, scalar)``: ``scalar`` added to the stored elements."""

    name = "_scatter_plus_scalar"
    fn = staticmethod(np.add)


@register
class ScatterMinusScalar(_ScatterScalar):
    """``_scatter_minus_scalar(data, scalar)``: ``scalar`` subtracted from the stored
    elements."""

    name = "_scatter_minus_scalar"
    fn = staticmethod(np.subtract)


@register
class ScatterElemwiseDiv(Operator):
    """``_scatter_elemwise_div(lhs, rhs)``: ``lhs / rhs`` on the rows a row_sparse ``lhs``
    stores (a row_sparse result with exactly those rows, whatever ``rhs``'s storage); for any
    other ``lhs`` the dense ``lhs / rhs``.  Gradients as ``elemwise_div``'s:
    ``d_lhs = d_out / rhs``, ``d_rhs = -d_out * lhs / rhs ** 2``."""

    name = "_scatter_elemwise_div"
    params: dict = {}

    def arguments(self, p):
        return ["lhs", "rhs"]

    def forward(self, p, inputs, aux, is_train):
        lhs, rhs = (np.asarray(x) for x in inputs)
        with np.errstate(divide="ignore", invalid="ignore"):
            return [np.asarray(lhs / rhs).astype(lhs.dtype, copy=False)], None

    def forward_sparse(self, p, inputs):
        from ..ndarray.sparse import RowSparseNDArray

        lhs, rhs = inputs
        if lhs.shape != rhs.shape:
            from .registry import ShapeError

            raise ShapeError(f"_scatter_elemwise_div: shapes {lhs.shape} and {rhs.shape} "
                             "must be equal")
        if isinstance(lhs, RowSparseNDArray):
            rows = rhs._data[lhs._idx] if rhs.stype == "default" else rhs._dense()[lhs._idx]
            with np.errstate(divide="ignore", invalid="ignore"):
                values = np.asarray(lhs._values / rows).astype(lhs._values.dtype, copy=False)
            return [lhs._like(values)]
        out, _ = self.forward(p, [lhs._data, rhs._data], [], False)
        return [out[0]]

    def infer_storage_type(self, p, in_stypes):
        if in_stypes[0] == "row_sparse":
            return ["row_sparse"], "sparse"
        return ["default"], "dense" if all(s == "default" for s in in_stypes) else "fallback"

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        lhs, rhs = (np.asarray(x) for x in inputs)
        og = np.asarray(out_grads[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            return [(og / rhs).astype(lhs.dtype, copy=False),
                    (-og * lhs / (rhs * rhs)).astype(rhs.dtype, copy=False)]
