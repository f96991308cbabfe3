"""Embedding (MXNet 1.9.1): ``out[..., :] = weight[clip(int(data), 0, input_dim - 1)]``.

``data`` holds indices (any dtype; truncated to integers and clipped into range, as MXNet's
CPU kernel does); ``weight`` is ``(input_dim, output_dim)``; the output has shape
``data.shape + (output_dim,)`` and the weight's dtype (``dtype``, through type
inference).  Backward: a dense ``d_weight`` where each
row accumulates the output gradients of the positions that looked it up; ``data`` gets a zero
gradient.  With ``sparse_grad=True`` ``d_weight`` is a RowSparseNDArray storing exactly the rows
looked up (so a lazy optimizer update touches only those rows, as in MXNet).
"""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from ._util import fmt, merge_shape


@register
class Embedding(Operator):
    name = "Embedding"
    params = {
        "input_dim": Param("int"),
        "output_dim": Param("int"),
        "dtype": Param("dtype", "float32", choices=("float16", "float32", "float64", "int32",
                                                     "int64", "int8", "uint8", "bfloat16")),
        "sparse_grad": Param("bool", False),
    }

    def arguments(self, p):
        return ["data", "weight"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        if p.input_dim <= 0 or p.output_dim <= 0:
            raise ShapeError(f"Embedding: input_dim ({p.input_dim}) and output_dim "
                             f"({p.output_dim}) must be positive")
        data, weight = in_shapes
        try:
            weight = merge_shape(self.name, "weight", weight, (p.input_dim, p.output_dim))
        except ShapeError:
            raise ShapeError(f"Embedding: weight shape {fmt(weight)} does not match "
                             f"(input_dim, output_dim) = {(p.input_dim, p.output_dim)}") from None
        if data is None:
            return [None, weight], [None], aux_shapes
        data = tuple(int(s) for s in data)
        return [data, weight], [(*data, p.output_dim)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        dt = np.dtype(p.dtype)
        data_t = in_types[0] if in_types[0] is not None else dt
        return [data_t, dt], [dt], aux_types

    @staticmethod
    def _sparse_grad(p) -> bool:
        return p.sparse_grad

    @staticmethod
    def _indices(p, data):
        return np.clip(np.asarray(data).astype(np.int64), 0, p.input_dim - 1)

    def forward(self, p, inputs, aux, is_train):
        data, weight = inputs
        idx = self._indices(p, data)
        return [np.take(weight, idx, axis=0)], idx

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        data, weight = inputs
        dy = np.asarray(out_grads[0]).reshape(-1, p.output_dim)
        acc = (np.float64 if weight.dtype == np.float64 else
               np.float32 if weight.dtype.kind == "f" else weight.dtype)
        if self._sparse_grad(p):
            from ...ndarray.sparse import RowSparseNDArray

            rows, inverse = np.unique(saved.reshape(-1), return_inverse=True)
            vals = np.zeros((rows.size, p.output_dim), dtype=acc)
            np.add.at(vals, inverse.reshape(-1), dy)
            return [np.zeros_like(data),
                    RowSparseNDArray(vals.astype(weight.dtype, copy=False), rows, weight.shape)]
        dw = np.zeros(weight.shape, dtype=acc)
        np.add.at(dw, saved.reshape(-1), dy)
        return [np.zeros_like(data), dw.astype(weight.dtype, copy=False)]


@register
class SparseEmbedding(Embedding):
    """MXNet's ``_contrib_SparseEmbedding`` (``mx.sym.contrib.SparseEmbedding``): Embedding whose
    weight gradient is always row_sparse.  ``deterministic`` is accepted for MXNet's sake; this
    backward is deterministic either way."""

    name = "_contrib_SparseEmbedding"
    params = {**{k: v for k, v in Embedding.params.items() if k != "sparse_grad"},
              "deterministic": Param("bool", False)}

    @staticmethod
    def _sparse_grad(p) -> bool:
        return True
