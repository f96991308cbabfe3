"""Matrix products: ``dot`` and ``batch_dot``.

:func:`dot` is the single implementation behind the ``dot`` operator and ``mx.nd.dot``.
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from ._common import _full_shape

__all__: list[str] = []


# ---------------------------------------------------------------------- matrix products
def _dot_shapes(p, a, b, batch: bool):
    a = tuple(a)
    b = tuple(b)
    if batch:
        if len(a) != 3 or len(b) != 3 or a[0] != b[0]:
            raise ShapeError(f"batch_dot: operands must be 3-D with equal batch size, got "
                             f"{a} and {b}")
        m, k = (a[2], a[1]) if p.transpose_a else (a[1], a[2])
        k2, n = (b[2], b[1]) if p.transpose_b else (b[1], b[2])
        if k != k2:
            raise ShapeError(f"batch_dot: inner dimensions differ for {a} and {b} "
                             f"(transpose_a={p.transpose_a}, transpose_b={p.transpose_b})")
        return (a[0], m, n)
    ka, ra = (a[0], a[1:]) if p.transpose_a else (a[-1], a[:-1])
    kb, rb = (b[-1], b[:-1]) if p.transpose_b else (b[0], b[1:])
    if ka != kb:
        raise ShapeError(f"dot: inner dimensions differ for {a} and {b} "
                         f"(transpose_a={p.transpose_a}, transpose_b={p.transpose_b})")
    out = ra + rb
    return out if out else (1,)


class _DotBase(Operator):
    params = {
        "transpose_a": Param("bool", False),
        "transpose_b": Param("bool", False),
        "forward_stype": Param("str", None, choices=(None, "default", "row_sparse", "csr"),
                               optional=True),
    }
    batch = False

    def arguments(self, p):
        return ["lhs", "rhs"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        a, b = in_shapes
        if a is None or b is None:
            return in_shapes, [None], aux_shapes
        return in_shapes, [_dot_shapes(p, a, b, self.batch)], aux_shapes


def _dense(x):
    """The NumPy array of an operand that may be a sparse NDArray."""
    return x if isinstance(x, np.ndarray) else x._dense()


def _as_2d(x, transpose: bool, lead: bool):
    """View an N-d dot operand as a matrix (MXNet transposes N-d operands as 2-d reshapes)."""
    if lead:  # lhs: (..., K)
        m = x.reshape(-1, x.shape[-1]) if not transpose else x.reshape(x.shape[0], -1).T
    else:  # rhs: (K, ...)
        m = x.reshape(x.shape[0], -1) if not transpose else x.reshape(-1, x.shape[-1]).T
    return m


def dot(a: np.ndarray, b: np.ndarray, transpose_a: bool = False,
        transpose_b: bool = False) -> np.ndarray:
    """MXNet's dot: the last axis of ``a`` with the first of ``b`` (1-D x 1-D gives shape
    ``(1,)``).  For N-D operands ``transpose_a`` moves the first axis of ``a`` last and
    ``transpose_b`` the last axis of ``b`` first (MXNet transposes them as 2-D reshapes)."""
    if a.dtype != b.dtype:
        raise MXNetError(f"dot: incompatible dtypes, expected {a.dtype} at input 1, got {b.dtype}")
    sa = a.shape[1:] + a.shape[:1] if transpose_a else a.shape
    sb = b.shape[-1:] + b.shape[:-1] if transpose_b else b.shape
    if not sa or not sb or sa[-1] != sb[0]:
        fmt = ["[" + ",".join(str(d) for d in s) + "]" for s in (sa, sb)]
        raise MXNetError(f"dot: shapes {fmt[0]} and {fmt[1]} are not aligned")
    if a.ndim <= 2 and b.ndim <= 2:
        return _full_shape(np.dot(a.T if transpose_a else a, b.T if transpose_b else b))
    out = _as_2d(a, transpose_a, True) @ _as_2d(b, transpose_b, False)
    return out.reshape(sa[:-1] + sb[1:])


@register
class Dot(_DotBase):
    """``dot(lhs, rhs)``: contracts the last axis of ``lhs`` with the first of ``rhs``
    (``transpose_a``/``transpose_b`` transpose 2-D operands first)."""

    name = "dot"
    # a CSR ``lhs`` (a ``stype='csr'`` data variable) is multiplied without densifying it, and
    # the gradient of ``rhs`` is then row_sparse (the rows of the columns ``lhs`` stores)
    sparse_inputs = True

    def forward(self, p, inputs, aux, is_train):
        a, b = inputs
        if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
            from ...ndarray import sparse as sp

            if isinstance(a, sp.CSRNDArray) and isinstance(b, np.ndarray) and b.ndim == 2:
                out = sp.dot(a, sp.NDArray(b), p.transpose_a, p.transpose_b)
                return [out._data], None
            a, b = _dense(a), _dense(b)
        return [dot(a, b, p.transpose_a, p.transpose_b)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, b = inputs
        if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
            from ...ndarray import sparse as sp

            b = _dense(b)
            if isinstance(a, sp.CSRNDArray) and b.ndim == 2 and not p.transpose_b:
                g = sp.NDArray(np.ascontiguousarray(out_grads[0]))
                gb = sp.dot(a, g, transpose_a=not p.transpose_a)  # row_sparse for csr.T
                return [np.zeros(a.shape, a.dtype), gb]
            a = _dense(a)
        am = _as_2d(a, p.transpose_a, True)
        bm = _as_2d(b, p.transpose_b, False)
        g = out_grads[0].reshape(am.shape[0], bm.shape[1])
        ga = g @ bm.T
        gb = am.T @ g
        if p.transpose_a:
            ga = ga.T
        if p.transpose_b:
            gb = gb.T
        return [ga.reshape(a.shape).astype(a.dtype), gb.reshape(b.shape).astype(b.dtype)]


@register
class BatchDot(_DotBase):
    """``batch_dot``: ``out[i] = op(lhs[i]) @ op(rhs[i])`` for 3-D operands."""

    name = "batch_dot"
    batch = True

    def forward(self, p, inputs, aux, is_train):
        a, b = inputs
        _dot_shapes(p, a.shape, b.shape, True)
        am = a.transpose(0, 2, 1) if p.transpose_a else a
        bm = b.transpose(0, 2, 1) if p.transpose_b else b
        return [np.matmul(am, bm).astype(a.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        a, b = inputs
        g = out_grads[0]
        am = a.transpose(0, 2, 1) if p.transpose_a else a
        bm = b.transpose(0, 2, 1) if p.transpose_b else b
        ga = np.matmul(g, bm.transpose(0, 2, 1))
        gb = np.matmul(am.transpose(0, 2, 1), g)
        if p.transpose_a:
            ga = ga.transpose(0, 2, 1)
        if p.transpose_b:
            gb = gb.transpose(0, 2, 1)
        return [np.ascontiguousarray(ga, dtype=a.dtype), np.ascontiguousarray(gb, dtype=b.dtype)]
