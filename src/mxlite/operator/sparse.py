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
        g = np.zeros_like(data)
        g[saved] = out_grads[0][saved]
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
