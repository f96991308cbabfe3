"""``mx.nd.sparse``: row_sparse and CSR arrays, with MXNet 1.9.1's names and semantics.

Two storage types besides ``'default'`` (dense):

* ``'row_sparse'`` (:class:`RowSparseNDArray`): a few rows of an N-D array.  ``data`` holds the
  stored rows (shape ``(k, *shape[1:])``), ``indices`` their sorted, unique row numbers.  This is
  the storage of embedding gradients: the optimizers' lazy updates touch only these rows.
* ``'csr'`` (:class:`CSRNDArray`): a 2-D matrix in compressed sparse row form, ``data`` (the
  stored values), ``indices`` (their columns) and ``indptr`` (row ``i`` holds entries
  ``indptr[i]:indptr[i + 1]``).  This is the storage of LibSVM data.

Index arrays are int64, as MXNet's defaults.  Operators pick the output storage type the way
MXNet 1.9.1 infers it (``rsp + rsp`` is row_sparse, ``csr * 2`` is csr, ``rsp + 1`` or
``exp(csr)`` is dense, ``dot(csr.T, dense)`` is row_sparse, ...); an operator without a sparse
implementation computes on the dense equivalent (MXNet's *storage fallback*), so every ``mx.nd``
function accepts sparse inputs.

>>> import mxlite as mx
>>> g = mx.nd.sparse.row_sparse_array(([[1.0, 2.0]], [2]), shape=(4, 2))
>>> g.stype, g.indices.asnumpy().tolist(), (g * 2).stype
('row_sparse', [2], 'row_sparse')
>>> m = mx.nd.sparse.csr_matrix(([1.0, 2.0], [0, 2], [0, 1, 1, 2]), shape=(3, 3))
>>> mx.nd.sparse.dot(m, mx.nd.ones((3, 1))).asnumpy().ravel().tolist()
[1.0, 0.0, 2.0]
"""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from ..base import MXNetError
from ..context import Context, check_usable
from . import _record
from . import ndarray as _nd
from .ndarray import NDArray, _ctx, _dtype, _scalar_as, _shape, _shape_str

__all__ = [
    "BaseSparseNDArray",
    "CSRNDArray",
    "RowSparseNDArray",
    "abs",
    "adagrad_update",
    "add",
    "array",
    "cast_storage",
    "ceil",
    "csr_matrix",
    "divide",
    "dot",
    "elemwise_add",
    "elemwise_div",
    "elemwise_mul",
    "elemwise_sub",
    "empty",
    "expm1",
    "floor",
    "log1p",
    "multiply",
    "negative",
    "relu",
    "retain",
    "round",
    "row_sparse_array",
    "sign",
    "slice",
    "sqrt",
    "square",
    "subtract",
    "tanh",
    "zeros",
    "zeros_like",
]

STYPES = ("default", "row_sparse", "csr")
_INDEX = np.dtype(np.int64)
_SCALARS = (numbers.Number, np.generic)


def _check_stype(stype) -> str:
    if stype not in STYPES:
        raise ValueError(f"stype must be one of {STYPES}, got {stype!r}")
    return stype


def _as_index(x, name: str) -> np.ndarray:
    """A 1-D int64 copy of ``x`` (NDArray, NumPy or list); ValueError for non-integral values."""
    if isinstance(x, NDArray):
        x = x.asnumpy()
    a = np.asarray(x)
    if a.ndim != 1:
        a = a.reshape(-1)
    if a.size and a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name} must hold integers, got {a[:8].tolist()}")
    elif a.size and a.dtype.kind not in "iub":
        raise TypeError(f"{name} must be an integer array, got dtype {a.dtype}")
    return a.astype(_INDEX, copy=True)


def _values(x, dtype) -> np.ndarray:
    """A NumPy copy of ``x`` in ``dtype`` (None: the source's dtype if it has one, else f32)."""
    if isinstance(x, NDArray):
        src = x.asnumpy()
    else:
        src = np.asarray(x)
    if dtype is None:
        dtype = src.dtype if isinstance(x, (NDArray, np.ndarray)) else np.float32
    with np.errstate(invalid="ignore", over="ignore"):
        return np.array(src, dtype=_dtype(dtype), copy=True)


# ---------------------------------------------------------------------- the array classes
class BaseSparseNDArray(NDArray):
    """What row_sparse and CSR arrays share.  ``_data`` is the dense equivalent (computed on
    each access): the storage fallback every dense operator goes through."""

    # _fmt: check_format's message for indices given unsorted (and sorted at construction)
    __slots__ = ("_fmt", "_idx", "_shape", "_values")

    @property
    def _data(self) -> np.ndarray:
        return self._dense()

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> type:
        return self._values.dtype.type

    @property
    def size(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def data(self) -> NDArray:
        """The stored values (a copy, as MXNet's deep copy)."""
        return NDArray(self._values.copy(), self._ctx)

    @property
    def indices(self) -> NDArray:
        """Row indices (row_sparse) or column indices (csr) of the stored values (a copy)."""
        return NDArray(self._idx.copy(), self._ctx)

    @property
    def _num_aux(self) -> int:
        """Number of index arrays (MXNet's name): 1 for row_sparse, 2 for csr."""
        return 1 if self.stype == "row_sparse" else 2

    def asnumpy(self) -> np.ndarray:
        return self._dense()

    def __array__(self, dtype=None, copy=None):
        dense = self._dense()
        return dense if dtype is None else dense.astype(dtype)

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self._shape)
        return f"\n<{type(self).__name__} {shape} @{self._ctx}>"

    def __reduce__(self):
        from ._sparse_format import sparse_from_record, sparse_to_record

        return (sparse_from_record, (sparse_to_record(self),))

    def tostype(self, stype: str) -> NDArray:
        """This array in storage ``stype`` (a copy, or ``self`` when the storage is the same)."""
        return cast_storage(self, stype)

    def astype(self, dtype, copy: bool = True) -> BaseSparseNDArray:
        dtype = _dtype(dtype)
        if not copy and self._values.dtype == dtype:
            return self
        with np.errstate(invalid="ignore", over="ignore"):
            return self._like(self._values.astype(dtype))

    def copy(self) -> BaseSparseNDArray:
        return self._like(self._values.copy())

    def copyto(self, other):
        """Copy into ``other`` (an NDArray of the same shape; a sparse target takes this
        array's storage, a dense one its dense values) or onto a Context."""
        if isinstance(other, Context):
            out = self.copy()
            out._ctx = check_usable(other)
            return out
        if not isinstance(other, NDArray):
            raise TypeError(f"copyto does not support type {type(other)}")
        if other is self:
            return other
        if other.shape != self.shape:
            raise MXNetError(
                f"copyto: shape mismatch, source {_shape_str(self.shape)} "
                f"vs target {_shape_str(other.shape)}"
            )
        if isinstance(other, BaseSparseNDArray):
            other._assign(cast_storage(self, other.stype).astype(other.dtype, copy=False))
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                np.copyto(other._data, self._dense(), casting="unsafe")
        return other

    def check_format(self, full_check: bool = True) -> None:
        """MXNetError unless the index arrays given at construction describe a valid array of
        this shape in MXNet's format (sorted, unique, in-range indices; for csr a
        non-decreasing ``indptr`` from 0 to ``nnz``).  As in MXNet, such an array can be built
        and this call reports the problem; mxlite sorts unsorted (but otherwise valid) indices
        at construction, so the array still computes right, and refuses every other use of an
        invalid one (see :func:`csr_matrix`)."""
        message = getattr(self, "_fmt", None)
        if message is not None:
            raise MXNetError(message)
        _validate(self)

    def wait_to_read(self) -> None:
        """Computation is synchronous in mxlite."""

    # sparse-aware operators (the rest fall back to the dense equivalent)
    def __add__(self, o):
        return add(self, o)

    def __radd__(self, o):
        return add(o, self)

    def __sub__(self, o):
        return subtract(self, o)

    def __rsub__(self, o):
        return subtract(o, self)

    def __mul__(self, o):
        return multiply(self, o)

    def __rmul__(self, o):
        return multiply(o, self)

    def __truediv__(self, o):
        return divide(self, o)

    def __rtruediv__(self, o):
        return divide(o, self)

    def __neg__(self):
        return negative(self)

    def __iadd__(self, o):
        return self._inplace(add(self, o))

    def __isub__(self, o):
        return self._inplace(subtract(self, o))

    def __imul__(self, o):
        return self._inplace(multiply(self, o))

    def __itruediv__(self, o):
        return self._inplace(divide(self, o))

    def __gt__(self, o):
        return _compare(np.greater, self, o)

    def __ge__(self, o):
        return _compare(np.greater_equal, self, o)

    def __lt__(self, o):
        return _compare(np.less, self, o)

    def __le__(self, o):
        return _compare(np.less_equal, self, o)

    def __eq__(self, o):
        return _compare(np.equal, self, o)

    def __ne__(self, o):
        return _compare(np.not_equal, self, o)

    __hash__ = object.__hash__

    def _inplace(self, result: NDArray) -> BaseSparseNDArray:
        self._assign(cast_storage(result, self.stype))
        return self

    def __setitem__(self, key, value) -> None:
        if not (isinstance(key, builtins.slice) and key == builtins.slice(None)):
            raise ValueError(
                f"{type(self).__name__} only supports [:] for assignment, got key {key!r}"
            )
        if isinstance(value, NDArray):
            src = value
        elif isinstance(value, _SCALARS):
            if self.stype == "csr":
                raise ValueError("assigning a scalar to a CSRNDArray is not supported (MXNet)")
            src = NDArray(np.full(self._shape, _scalar_as(value, self._values.dtype),
                                  self._values.dtype), self._ctx)
        elif isinstance(value, (np.ndarray, list, tuple)):
            src = NDArray(np.asarray(value, dtype=self._values.dtype), self._ctx)
        else:
            raise TypeError(f"cannot assign a value of type {type(value).__name__}")
        if src.shape != self.shape:
            raise ValueError(
                f"cannot assign a value of shape {_shape_str(src.shape)} to an array of shape "
                f"{_shape_str(self.shape)}"
            )
        self._assign(cast_storage(src, self.stype).astype(self._values.dtype, copy=False))

    def sqrt(self):
        return sqrt(self)

    def square(self):
        return square(self)

    def abs(self):
        return abs(self)

    def sign(self):
        return sign(self)

    def relu(self):
        return relu(self)

    def tanh(self):
        return tanh(self)

    def floor(self):
        return floor(self)

    def ceil(self):
        return ceil(self)

    def round(self):
        return round(self)

    def expm1(self):
        return expm1(self)

    def log1p(self):
        return log1p(self)

    def clip(self, a_min, a_max):
        return _nd.clip(self, a_min, a_max)

    def zeros_like(self):
        return zeros_like(self)


class RowSparseNDArray(BaseSparseNDArray):
    """A row_sparse array: the rows ``indices`` (sorted, unique) of an N-D array hold ``data``,
    every other row is zero.  Build one with :func:`row_sparse_array` or :func:`zeros`."""

    __slots__ = ()

    def __init__(self, values: np.ndarray, indices: np.ndarray, shape, ctx=None):
        self._values = values
        self._idx = indices
        self._shape = tuple(shape)
        self._ctx = ctx if ctx is not None else Context("cpu", 0)

    @property
    def stype(self) -> str:
        return "row_sparse"

    def _like(self, values: np.ndarray) -> RowSparseNDArray:
        return RowSparseNDArray(values, self._idx.copy(), self._shape, self._ctx)

    def _assign(self, other: RowSparseNDArray) -> None:
        self._values, self._idx = other._values.copy(), other._idx.copy()

    def _dense(self) -> np.ndarray:
        out = np.zeros(self._shape, self._values.dtype)
        if self._idx.size:
            out[self._idx] = self._values
        return out

    def __getitem__(self, key):
        if isinstance(key, builtins.slice) and key == builtins.slice(None):
            return self
        raise ValueError(f"RowSparseNDArray only supports [:] for __getitem__, got {key!r}")

    def retain(self, indices) -> RowSparseNDArray:
        return retain(self, indices)


class CSRNDArray(BaseSparseNDArray):
    """A 2-D matrix in compressed sparse row form: row ``i`` holds the values
    ``data[indptr[i]:indptr[i+1]]`` at columns ``indices[indptr[i]:indptr[i+1]]``.
    Build one with :func:`csr_matrix` or :func:`zeros`."""

    __slots__ = ("_indptr",)

    def __init__(self, values: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape,
                 ctx=None):
        self._values = values
        self._idx = indices
        self._indptr = indptr
        self._shape = tuple(shape)
        self._ctx = ctx if ctx is not None else Context("cpu", 0)

    @property
    def stype(self) -> str:
        return "csr"

    @property
    def indptr(self) -> NDArray:
        """Row pointers, ``shape[0] + 1`` of them (a copy)."""
        return NDArray(self._indptr.copy(), self._ctx)

    def _like(self, values: np.ndarray) -> CSRNDArray:
        return CSRNDArray(values, self._idx.copy(), self._indptr.copy(), self._shape, self._ctx)

    def _assign(self, other: CSRNDArray) -> None:
        self._values, self._idx = other._values.copy(), other._idx.copy()
        self._indptr = other._indptr.copy()

    def _rows(self) -> np.ndarray:
        return np.repeat(np.arange(self._shape[0], dtype=_INDEX), np.diff(self._indptr))

    def _dense(self) -> np.ndarray:
        out = np.zeros(self._shape, self._values.dtype)
        if self._values.size:
            out[self._rows(), self._idx] = self._values
        return out

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            n = self._shape[0]
            k = int(key) + n if key < 0 else int(key)
            if not 0 <= k < n:
                raise IndexError(f"index {key} is out of bounds for axis 0 with size {n}")
            return slice(self, begin=(k,), end=(k + 1,))
        if isinstance(key, builtins.slice):
            if key.step not in (None, 1):
                raise ValueError(f"CSRNDArray only supports continuous slicing, got {key!r}")
            start, stop, _ = key.indices(self._shape[0])
            return slice(self, begin=(start,), end=(builtins.max(start, stop),))
        raise ValueError(
            f"CSRNDArray only supports an int or a continuous slice of rows, got {key!r}"
        )

    def asscipy(self):
        """This matrix as a ``scipy.sparse.csr_matrix`` (needs SciPy)."""
        try:
            import scipy.sparse as sp
        except ImportError:  # pragma: no cover - exercised only without SciPy
            raise ImportError("asscipy needs SciPy: pip install scipy") from None
        return sp.csr_matrix(
            (self._values.copy(), self._idx.copy(), self._indptr.copy()), shape=self._shape
        )


# ---------------------------------------------------------------------- invalid arrays
# MXNet builds a sparse array from any (data, indices[, indptr]) and reports a bad one only
# when asked (check_format); its kernels then read whatever the indices say.  mxlite builds
# such an array too, but as one of these classes: check_format raises the problem, the stored
# arrays can be read back (data, indices, indptr), and every computation raises MXNetError
# instead of indexing out of bounds.
class _Invalid:
    """Mixin of the invalid sparse arrays (see above)."""

    __slots__ = ()

    def _refuse(self):
        raise MXNetError(f"invalid {self.stype} array: {self._problem}; check_format() reports "
                         "it, build the array from valid indices to compute with it")

    _values = property(lambda self: self._refuse())
    _idx = property(lambda self: self._refuse())

    @property
    def dtype(self):
        return self._raw[0].dtype.type

    @property
    def data(self):
        return NDArray(self._raw[0].copy(), self._ctx)

    @property
    def indices(self):
        return NDArray(self._raw[1].copy(), self._ctx)

    def check_format(self, full_check: bool = True) -> None:
        raise MXNetError(self._problem)

    def __repr__(self) -> str:
        shape = "x".join(str(s) for s in self._shape)
        return f"\n<{type(self).__mro__[2].__name__} {shape} @{self._ctx} (invalid)>"


class _InvalidRowSparse(_Invalid, RowSparseNDArray):
    __slots__ = ("_problem", "_raw")

    def __init__(self, values, indices, shape, ctx, problem: str):
        self._raw = (values, indices)
        self._shape = tuple(shape)
        self._ctx = ctx if ctx is not None else Context("cpu", 0)
        self._problem = problem


class _InvalidCSR(_Invalid, CSRNDArray):
    __slots__ = ("_problem", "_raw")
    _indptr = property(lambda self: self._refuse())

    def __init__(self, values, indices, indptr, shape, ctx, problem: str):
        self._raw = (values, indices, indptr)
        self._shape = tuple(shape)
        self._ctx = ctx if ctx is not None else Context("cpu", 0)
        self._problem = problem

    @property
    def indptr(self):
        return NDArray(self._raw[2].copy(), self._ctx)


def _problem(arr: BaseSparseNDArray) -> str | None:
    try:
        _validate(arr)
    except MXNetError as err:
        return str(err)
    return None


# ---------------------------------------------------------------------- validation
def _validate(arr: BaseSparseNDArray) -> None:
    shape = arr._shape
    if isinstance(arr, RowSparseNDArray):
        idx, vals = arr._idx, arr._values
        if len(shape) == 0:
            raise MXNetError("row_sparse arrays need at least one dimension")
        if vals.shape != (idx.size, *shape[1:]):
            raise MXNetError(
                f"row_sparse data of shape {_shape_str(vals.shape)} does not match "
                f"{idx.size} indices of rows of shape {_shape_str(shape[1:])}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= shape[0]):
            raise MXNetError(f"row_sparse indices out of range [0, {shape[0]}): "
                             f"{idx[:8].tolist()}")
        if idx.size > 1 and np.any(np.diff(idx) <= 0):
            raise MXNetError(f"row_sparse indices must be sorted and unique: {idx[:8].tolist()}")
        return
    vals, idx, indptr = arr._values, arr._idx, arr._indptr
    if len(shape) != 2:
        raise MXNetError(f"csr arrays are 2-D, got shape {_shape_str(shape)}")
    if vals.ndim != 1 or idx.ndim != 1 or vals.size != idx.size:
        raise MXNetError(f"csr data ({vals.size}) and indices ({idx.size}) differ in length")
    if indptr.size != shape[0] + 1 or indptr[0] != 0 or indptr[-1] != idx.size:
        raise MXNetError(
            f"csr indptr must have {shape[0] + 1} entries from 0 to {idx.size}, "
            f"got {indptr[:8].tolist()}"
        )
    if np.any(np.diff(indptr) < 0):
        raise MXNetError("csr indptr must be non-decreasing")
    if idx.size and (idx.min() < 0 or idx.max() >= shape[1]):
        raise MXNetError(f"csr indices out of range [0, {shape[1]}): {idx[:8].tolist()}")
    if idx.size > 1:
        step = np.diff(idx)
        inner = np.ones(idx.size - 1, dtype=bool)
        starts = indptr[1:-1]
        inner[starts[(starts > 0) & (starts < idx.size)] - 1] = False
        if np.any(step[inner] <= 0):
            raise MXNetError("csr column indices must be sorted and unique within each row")


def _rsp(values, indices, shape, ctx, check=True) -> RowSparseNDArray:
    """A RowSparseNDArray; with ``check``, unsorted indices are sorted with their rows (and
    check_format reports them, as MXNet) and any other problem gives an invalid array."""
    unsorted = check and indices.size > 1 and np.any(np.diff(indices) <= 0)
    if unsorted:
        order = np.argsort(indices, kind="stable")
        indices, values = indices[order], values[order]
    out = RowSparseNDArray(values, indices, shape, ctx)
    if check:
        problem = _problem(out)
        if problem is not None:
            return _InvalidRowSparse(values, indices, shape, ctx, problem)
        if unsorted:
            out._fmt = "row_sparse indices must be in ascending order"
    return out


def _sort_columns(values, indices, indptr):
    """The entries of each row ordered by column (None when indptr cannot say the rows)."""
    if indptr.size == 0 or indptr[0] != 0 or indptr[-1] != indices.size or \
            np.any(np.diff(indptr) < 0) or values.size != indices.size:
        return None
    rows = np.repeat(np.arange(indptr.size - 1, dtype=_INDEX), np.diff(indptr))
    order = np.lexsort((indices, rows))
    return values[order], indices[order]


def _csr(values, indices, indptr, shape, ctx, check=True) -> CSRNDArray:
    """A CSRNDArray; with ``check``, column indices unsorted within a row are sorted (and
    check_format reports them, as MXNet) and any other problem gives an invalid array."""
    out = CSRNDArray(values, indices, indptr, shape, ctx)
    if not check:
        return out
    problem = _problem(out)
    if problem is None:
        return out
    if problem.startswith("csr column indices must be sorted"):
        fixed = _sort_columns(values, indices, indptr)
        if fixed is not None:
            out = CSRNDArray(fixed[0], fixed[1], indptr, shape, ctx)
            if _problem(out) is None:
                out._fmt = "csr indices must be in ascending order within each row"
                return out
    return _InvalidCSR(values, indices, indptr, shape, ctx, problem)


# ---------------------------------------------------------------------- construction
def _infer_shape(shape, what: str):
    if shape is None:
        return None
    return _shape(shape)


def row_sparse_array(arg1, shape=None, ctx=None, dtype=None) -> RowSparseNDArray:
    """A :class:`RowSparseNDArray` from ``(data, indices)``, from a dense array (NDArray or
    NumPy: its non-zero rows are kept), from another RowSparseNDArray (a copy) or from a shape
    (all zero).

    ``dtype`` defaults to the source's dtype for NDArray / NumPy input, else float32; indices
    are int64.  Unsorted indices are sorted with their rows; duplicate or out-of-range indices
    raise :class:`~mxlite.base.MXNetError`.  Without ``shape`` the first dimension is
    ``max(indices) + 1``.

    >>> import mxlite as mx
    >>> a = mx.nd.sparse.row_sparse_array(([[1, 2]], [1]), shape=(3, 2))
    >>> a.asnumpy().tolist()
    [[0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]
    """
    ctx = _ctx(ctx)
    if isinstance(arg1, tuple) and len(arg1) == 2 and not all(
            isinstance(a, (int, np.integer)) for a in arg1):
        data, indices = arg1
        values = _values(data, dtype)
        idx = _as_index(indices, "indices")
        if values.ndim == 0 or values.shape[0] != idx.size:
            raise MXNetError(
                f"row_sparse_array: data of shape {_shape_str(values.shape)} needs one row per "
                f"index, got {idx.size} indices"
            )
        shape = _infer_shape(shape, "shape")
        if shape is None:
            if not idx.size:
                raise ValueError("row_sparse_array: cannot infer the shape from empty indices; "
                                 "pass shape")
            shape = (int(idx.max()) + 1, *values.shape[1:])
        return _rsp(values, idx, shape, ctx)
    if isinstance(arg1, RowSparseNDArray):
        out = arg1.astype(dtype if dtype is not None else arg1.dtype)
        out._ctx = ctx
        return out
    if isinstance(arg1, BaseSparseNDArray):
        raise ValueError("row_sparse_array: cannot build a RowSparseNDArray from a CSRNDArray "
                         "(use tostype('row_sparse'))")
    if isinstance(arg1, (tuple, list)) and all(isinstance(a, (int, np.integer)) for a in arg1):
        if shape is not None and _shape(shape) != _shape(arg1):
            raise ValueError(f"row_sparse_array: shape {tuple(shape)} differs from the shape "
                             f"{tuple(arg1)} given as arg1")
        return zeros("row_sparse", arg1, ctx=ctx, dtype=dtype)
    if isinstance(arg1, (NDArray, np.ndarray, list)):  # a dense source (a list: float32)
        dense = _values(arg1, dtype)
        out = _dense_to_rsp(dense, ctx)
        if shape is not None and _shape(shape) != out.shape:
            raise ValueError(f"row_sparse_array: shape {shape} differs from the source's "
                             f"{out.shape}")
        return out
    raise TypeError(f"row_sparse_array: unexpected source of type {type(arg1).__name__}")


def _is_scipy_csr(x) -> bool:
    return type(x).__module__.startswith("scipy.sparse") and getattr(x, "format", "") == "csr"


def csr_matrix(arg1, shape=None, ctx=None, dtype=None) -> CSRNDArray:
    """A :class:`CSRNDArray` from ``(data, indices, indptr)``, from ``(data, (row, col))``
    (coordinates; duplicates are summed), from a dense 2-D array (NDArray or NumPy), from a
    ``scipy.sparse.csr_matrix``, from another CSRNDArray (a copy) or from a shape (all zero).

    ``dtype`` defaults to the source's dtype for NDArray / NumPy / SciPy input, else float32;
    ``indices`` and ``indptr`` are int64.  Without ``shape`` it is ``(len(indptr) - 1,
    max(indices) + 1)``.

    >>> import mxlite as mx
    >>> m = mx.nd.sparse.csr_matrix(([5.0], [1], [0, 0, 1]), shape=(2, 3))
    >>> m.asnumpy().tolist()
    [[0.0, 0.0, 0.0], [0.0, 5.0, 0.0]]
    """
    ctx = _ctx(ctx)
    if isinstance(arg1, tuple) and len(arg1) == 3:
        data, indices, indptr = arg1
        values = _values(data, dtype).reshape(-1)
        idx = _as_index(indices, "indices")
        ptr = _as_index(indptr, "indptr")
        shape = _infer_shape(shape, "shape")
        if shape is None:
            if not idx.size:
                raise ValueError("csr_matrix: cannot infer the shape from empty indices; "
                                 "pass shape")
            shape = (builtins.max(ptr.size - 1, 0), int(idx.max()) + 1)
        return _csr(values, idx, ptr, shape, ctx)
    if isinstance(arg1, tuple) and len(arg1) == 2 and isinstance(arg1[1], tuple):
        data, (row, col) = arg1
        values = _values(data, dtype).reshape(-1)
        row, col = _as_index(row, "row"), _as_index(col, "col")
        if not values.size == row.size == col.size:
            raise ValueError(
                f"csr_matrix: data ({values.size}), row ({row.size}) and col ({col.size}) "
                "must have the same length"
            )
        shape = _infer_shape(shape, "shape")
        if shape is None:
            shape = (int(row.max()) + 1 if row.size else 0, int(col.max()) + 1 if col.size else 0)
        if row.size and (row.min() < 0 or row.max() >= shape[0] or col.min() < 0
                         or col.max() >= shape[1]):
            raise MXNetError(f"csr_matrix: coordinates out of range for shape {shape}")
        key = row * builtins.max(shape[1], 1) + col
        uniq, inverse = np.unique(key, return_inverse=True)
        summed = np.zeros(uniq.size, values.dtype)
        np.add.at(summed, inverse, values)
        rows = uniq // builtins.max(shape[1], 1)
        ptr = np.zeros(shape[0] + 1, _INDEX)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=ptr[1:])
        return _csr(summed, (uniq % builtins.max(shape[1], 1)).astype(_INDEX), ptr, shape, ctx)
    if isinstance(arg1, CSRNDArray):
        out = arg1.astype(dtype if dtype is not None else arg1.dtype)
        out._ctx = ctx
        return out
    if isinstance(arg1, BaseSparseNDArray):
        raise ValueError("csr_matrix: cannot build a CSRNDArray from a RowSparseNDArray "
                         "(use tostype('csr'))")
    if _is_scipy_csr(arg1):
        src = arg1.copy()
        src.sum_duplicates()  # also sorts the column indices of each row
        values = _values(src.data, dtype)
        return _csr(values, src.indices.astype(_INDEX), src.indptr.astype(_INDEX),
                    _shape(src.shape), ctx)
    if isinstance(arg1, (tuple, list)) and all(isinstance(a, (int, np.integer)) for a in arg1):
        if shape is not None and _shape(shape) != _shape(arg1):
            raise ValueError(f"csr_matrix: shape {tuple(shape)} differs from the shape "
                             f"{tuple(arg1)} given as arg1")
        return zeros("csr", arg1, ctx=ctx, dtype=dtype)
    if isinstance(arg1, (NDArray, np.ndarray, list)):  # a dense source (a list: float32)
        dense = _values(arg1, dtype)
        if dense.ndim != 2:
            raise ValueError(f"csr_matrix: a dense source must be 2-D, got shape {dense.shape}")
        if shape is not None and _shape(shape) != dense.shape:
            raise ValueError(f"csr_matrix: shape {tuple(shape)} differs from the source's "
                             f"{dense.shape}")
        return _dense_to_csr(dense, ctx)
    raise TypeError(f"csr_matrix: unexpected source of type {type(arg1).__name__}")


def zeros(stype, shape, ctx=None, dtype=None, **kwargs) -> NDArray:
    """An all-zero array of storage ``stype`` (``'row_sparse'``, ``'csr'`` or ``'default'``)."""
    _check_stype(stype)
    ctx, dtype, shape = _ctx(ctx), _dtype(dtype), _shape(shape)
    if stype == "default":
        return NDArray(np.zeros(shape, dtype), ctx)
    if stype == "row_sparse":
        if not shape:
            raise MXNetError("row_sparse arrays need at least one dimension")
        return RowSparseNDArray(np.zeros((0, *shape[1:]), dtype), np.zeros(0, _INDEX), shape,
                                ctx)
    if len(shape) != 2:
        raise MXNetError(f"csr arrays are 2-D, got shape {_shape_str(shape)}")
    return CSRNDArray(np.zeros(0, dtype), np.zeros(0, _INDEX), np.zeros(shape[0] + 1, _INDEX),
                      shape, ctx)


def empty(stype, shape, ctx=None, dtype=None) -> NDArray:
    """An array of storage ``stype`` with nothing stored (all zero), as MXNet's ``empty``."""
    return zeros(stype, shape, ctx, dtype)


def array(source_array, ctx=None, dtype=None) -> BaseSparseNDArray:
    """A sparse copy of a RowSparseNDArray, a CSRNDArray or a ``scipy.sparse.csr_matrix``."""
    if isinstance(source_array, RowSparseNDArray):
        return row_sparse_array(source_array, ctx=ctx, dtype=dtype)
    if isinstance(source_array, CSRNDArray) or _is_scipy_csr(source_array):
        return csr_matrix(source_array, ctx=ctx, dtype=dtype)
    raise ValueError(
        "Unexpected source_array type: expected a sparse NDArray or a scipy.sparse.csr_matrix, "
        f"got {type(source_array).__name__}"
    )


def zeros_like(data, out=None) -> NDArray:
    """Zeros with ``data``'s shape, dtype and storage type."""
    if not isinstance(data, BaseSparseNDArray):
        return _nd.zeros_like(data, out=out)
    result = zeros(data.stype, data.shape, data.context, data.dtype)
    return result if out is None else result.copyto(out)


# ---------------------------------------------------------------------- conversion
def _dense_to_rsp(dense: np.ndarray, ctx) -> RowSparseNDArray:
    if dense.ndim == 0:
        raise MXNetError("row_sparse arrays need at least one dimension")
    flat = dense.reshape(dense.shape[0], -1) if dense.shape[0] else dense.reshape(0, 1)
    rows = np.flatnonzero(np.any(flat != 0, axis=1)).astype(_INDEX)
    return RowSparseNDArray(np.ascontiguousarray(dense[rows]), rows, dense.shape, ctx)


def _dense_to_csr(dense: np.ndarray, ctx) -> CSRNDArray:
    if dense.ndim != 2:
        raise MXNetError(f"csr arrays are 2-D, got shape {_shape_str(dense.shape)}")
    rows, cols = np.nonzero(dense)
    ptr = np.zeros(dense.shape[0] + 1, _INDEX)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=ptr[1:])
    return CSRNDArray(dense[rows, cols].copy(), cols.astype(_INDEX), ptr, dense.shape, ctx)


def cast_storage(data, stype: str) -> NDArray:
    """``data`` converted to storage ``stype`` (``self`` when it already has that storage, as
    ``tostype``).  Dense to sparse keeps the non-zero rows (row_sparse) or entries (csr)."""
    _check_stype(stype)
    if not isinstance(data, NDArray):
        raise TypeError(f"data must be an NDArray, got {type(data).__name__}")
    if data.stype == stype:
        return data
    if stype == "default":
        return NDArray(data._dense(), data.context)
    if isinstance(data, CSRNDArray) and stype == "row_sparse":
        rows = np.flatnonzero(np.diff(data._indptr)).astype(_INDEX)
        dense = data._dense()
        return RowSparseNDArray(np.ascontiguousarray(dense[rows]), rows, data.shape,
                                data.context)
    dense = data._data if type(data) is NDArray else data._dense()
    if stype == "row_sparse":
        return _dense_to_rsp(dense, data.context)
    return _dense_to_csr(dense, data.context)


def retain(data, indices=None, **kwargs) -> RowSparseNDArray:
    """The rows ``indices`` of a RowSparseNDArray: a RowSparseNDArray storing exactly those
    rows (zero where ``data`` stored nothing).  MXNet 1.9.1 keeps the requested order (an
    unsorted request gives invalid row_sparse indices); mxlite sorts and deduplicates them."""
    if kwargs:
        raise MXNetError(f"retain: unknown argument(s) {sorted(kwargs)}")
    if not isinstance(data, RowSparseNDArray):
        raise TypeError(f"retain needs a RowSparseNDArray, got {type(data).__name__}")
    if indices is None:
        raise TypeError("retain: indices must be given")
    want = np.unique(_as_index(indices, "indices"))
    if want.size and (want[0] < 0 or want[-1] >= data.shape[0]):
        raise MXNetError(f"retain: indices out of range [0, {data.shape[0]}): "
                         f"{want[:8].tolist()}")
    values = np.zeros((want.size, *data.shape[1:]), data._values.dtype)
    pos = np.searchsorted(data._idx, want)
    pos_ok = np.minimum(pos, builtins.max(data._idx.size - 1, 0))
    hit = (pos < data._idx.size) & (data._idx[pos_ok] == want) if data._idx.size else \
        np.zeros(want.size, bool)
    values[hit] = data._values[pos[hit]]
    return RowSparseNDArray(values, want, data.shape, data.context)


def slice(data, begin, end, step=(), out=None) -> NDArray:
    """Rows (and optionally columns) ``begin:end`` of an array; a CSRNDArray gives a CSRNDArray
    (``begin``/``end`` of one or two entries, no step), anything else the dense slice."""
    if not isinstance(data, CSRNDArray):
        dense = data._data if type(data) is NDArray else data._dense()
        key = tuple(builtins.slice(b, e, s) for b, e, s in zip(
            begin, end, tuple(step) + (None,) * (len(begin) - len(tuple(step))), strict=True))
        return _nd._finish(dense[key].copy(), out, data.context)
    begin, end = tuple(begin), tuple(end)
    if step and builtins.any(s not in (None, 1) for s in step):  # MXNet's dense fallback
        return slice(NDArray(data._dense(), data.context), begin, end, step, out)
    if not 1 <= len(begin) <= 2 or len(begin) != len(end):
        raise ValueError(f"slice: begin {begin} and end {end} need 1 or 2 entries each")
    n, m = data.shape
    r0, r1 = builtins.slice(begin[0], end[0]).indices(n)[:2]
    r1 = builtins.max(r0, r1)
    ptr = data._indptr[r0:r1 + 1]
    lo, hi = int(ptr[0]), int(ptr[-1])
    values, idx = data._values[lo:hi].copy(), data._idx[lo:hi].copy()
    ptr = ptr - lo
    ncols = m
    if len(begin) == 2:
        c0, c1 = builtins.slice(begin[1], end[1]).indices(m)[:2]
        c1 = builtins.max(c0, c1)
        keep = (idx >= c0) & (idx < c1)
        rows = np.repeat(np.arange(r1 - r0), np.diff(ptr))
        values, idx = values[keep], idx[keep] - c0
        ptr = np.zeros(r1 - r0 + 1, _INDEX)
        np.cumsum(np.bincount(rows[keep], minlength=r1 - r0), out=ptr[1:])
        ncols = c1 - c0
    result = CSRNDArray(values, idx, ptr.astype(_INDEX), (r1 - r0, ncols), data.context)
    if out is not None:
        return result.copyto(out)
    return result


# ---------------------------------------------------------------------- elementwise ops
def _unary_sparse(fn, data: BaseSparseNDArray) -> BaseSparseNDArray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = np.asarray(fn(data._values))
    if values.dtype != data._values.dtype:
        values = values.astype(data._values.dtype)
    return data._like(values)


def _make_zero_preserving(name):
    fn = _nd.UNARY[name]

    def op(data, out=None, name=None):
        if isinstance(data, BaseSparseNDArray):
            result = _unary_sparse(fn, data)
            return result if out is None else result.copyto(out)
        return getattr(_nd, op.__name__)(data, out=out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"Elementwise ``{name}``; zero-preserving, so a sparse input keeps its "
                  "storage type.")
    return op


#: the unary operators of mx.nd for which MXNet keeps the sparse storage type (f(0) == 0)
ZERO_PRESERVING = ("sqrt", "square", "abs", "sign", "expm1", "log1p", "relu", "tanh",
                   "negative", "floor", "ceil", "round")

sqrt = _make_zero_preserving("sqrt")
square = _make_zero_preserving("square")
abs = _make_zero_preserving("abs")
sign = _make_zero_preserving("sign")
expm1 = _make_zero_preserving("expm1")
log1p = _make_zero_preserving("log1p")
relu = _make_zero_preserving("relu")
tanh = _make_zero_preserving("tanh")
negative = _make_zero_preserving("negative")
floor = _make_zero_preserving("floor")
ceil = _make_zero_preserving("ceil")
round = _make_zero_preserving("round")


def unary(name: str, fn, data, out=None):
    """``mx.nd.<name>`` on a sparse array: sparse for zero-preserving ops, else dense."""
    if name in ZERO_PRESERVING:
        result = _unary_sparse(fn, data)
        return result if out is None else result.copyto(out)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _nd._finish(fn(data._dense()), out, data.context, data._values.dtype)


def clip_sparse(data, a_min, a_max, out=None):
    """``clip`` of a sparse array: sparse when ``a_min <= 0 <= a_max`` (zeros stay zero)."""
    from ..operator.tensor.elemwise import _clip

    if a_min <= 0 <= a_max:
        result = data._like(_clip(data._values, a_min, a_max))
        return result if out is None else result.copyto(out)
    return _nd._finish(_clip(data._dense(), a_min, a_max), out, data.context)


def _check_pair(a: NDArray, b: NDArray, name: str) -> None:
    if a.dtype != b.dtype:
        raise MXNetError(
            f"{name}: incompatible dtypes, expected {np.dtype(a.dtype)} at input 1, "
            f"got {np.dtype(b.dtype)}"
        )
    if a.shape != b.shape:
        raise MXNetError(
            f"{name}: shapes {_shape_str(a.shape)} and {_shape_str(b.shape)} must be equal"
        )


def _rsp_union(fn, a: RowSparseNDArray, b: RowSparseNDArray) -> RowSparseNDArray:
    rows = np.union1d(a._idx, b._idx).astype(_INDEX)
    width = (rows.size, *a.shape[1:])
    x = np.zeros(width, a._values.dtype)
    y = np.zeros(width, a._values.dtype)
    x[np.searchsorted(rows, a._idx)] = a._values
    y[np.searchsorted(rows, b._idx)] = b._values
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = _nd._apply(fn, x, y, x.dtype).astype(a._values.dtype, copy=False)
    return RowSparseNDArray(values, rows, a.shape, a.context)


def _csr_elementwise(fn, a: CSRNDArray, b: CSRNDArray) -> CSRNDArray:
    m = builtins.max(a.shape[1], 1)
    ka = a._rows() * m + a._idx
    kb = b._rows() * m + b._idx
    keys = np.union1d(ka, kb)
    x = np.zeros(keys.size, a._values.dtype)
    y = np.zeros(keys.size, a._values.dtype)
    x[np.searchsorted(keys, ka)] = a._values
    y[np.searchsorted(keys, kb)] = b._values
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = _nd._apply(fn, x, y, x.dtype).astype(a._values.dtype, copy=False)
    rows = keys // m
    ptr = np.zeros(a.shape[0] + 1, _INDEX)
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=ptr[1:])
    return CSRNDArray(values, (keys % m).astype(_INDEX), ptr, a.shape, a.context)


def _rows_of(a: RowSparseNDArray, dense: np.ndarray) -> np.ndarray:
    return dense[a._idx]


def _elemwise(fn, name: str, lhs: NDArray, rhs: NDArray) -> NDArray:
    """Same-shape binary op of two arrays, with MXNet 1.9.1's output storage types."""
    _check_pair(lhs, rhs, name)
    ls, rs = lhs.stype, rhs.stype
    if ls == rs == "row_sparse" and name in ("add", "sub", "mul"):
        return _rsp_union(fn, lhs, rhs)
    if ls == rs == "csr" and name in ("add", "sub", "mul"):
        return _csr_elementwise(fn, lhs, rhs)
    if name == "mul" and ls == "row_sparse" and rs == "default":
        with np.errstate(invalid="ignore", over="ignore"):
            values = _nd._apply(fn, lhs._values, _rows_of(lhs, rhs._data),
                               lhs._values.dtype).astype(lhs._values.dtype)
        return RowSparseNDArray(values, lhs._idx.copy(), lhs.shape, lhs.context)
    if name in ("mul", "div") and ls == "csr" and rs == "default":
        dense = rhs._data
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            values = _nd._apply(fn, lhs._values, dense[lhs._rows(), lhs._idx],
                               lhs._values.dtype).astype(lhs._values.dtype)
        return lhs._like(values)
    # everything else: MXNet's storage fallback, computed on the dense equivalents
    return _nd._binary(fn, NDArray(lhs._data, lhs.context), NDArray(rhs._data, rhs.context),
                       name)


def _scalar_sparse(fn, name: str, arr: BaseSparseNDArray, scalar, reflected: bool):
    s = _scalar_as(scalar, arr._values.dtype)
    keeps = name == "mul" or (name == "div" and not reflected)
    if keeps:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            dt = arr._values.dtype
            values = (_nd._apply(fn, s, arr._values, dt) if reflected
                      else _nd._apply(fn, arr._values, s, dt))
        return arr._like(np.asarray(values).astype(arr._values.dtype, copy=False))
    dense = NDArray(arr._dense(), arr.context)
    return _nd._binary(fn, scalar, dense, name) if reflected else \
        _nd._binary(fn, dense, scalar, name)


_FUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": _nd._divide}


def _binary_entry(name: str, lhs, rhs) -> NDArray:
    fn = _FUNCS[name]
    if _record.STATE.recording and _record.tracked((lhs, rhs)):
        # a sparse operand autograd follows (a row_sparse Gluon Parameter): the dense path
        # records the operation, and the gradient reaches the parameter's (sparse) gradient;
        # the result is then dense (same values as MXNet's, which may keep the storage)
        return _record._binary_route(name)(lhs, rhs)
    if isinstance(lhs, NDArray) and isinstance(rhs, NDArray):
        if lhs.shape == rhs.shape:
            return _elemwise(fn, name, lhs, rhs)
        return _nd._binary(fn, NDArray(lhs._data, lhs.context),
                           NDArray(rhs._data, rhs.context), name)
    if isinstance(lhs, BaseSparseNDArray) and isinstance(rhs, _SCALARS):
        return _scalar_sparse(fn, name, lhs, rhs, False)
    if isinstance(rhs, BaseSparseNDArray) and isinstance(lhs, _SCALARS):
        return _scalar_sparse(fn, name, rhs, lhs, True)
    return _nd._binary(fn, lhs, rhs, name)


def add(lhs, rhs) -> NDArray:
    """``lhs + rhs``: row_sparse + row_sparse and csr + csr stay sparse, the rest is dense."""
    return _binary_entry("add", lhs, rhs)


def subtract(lhs, rhs) -> NDArray:
    """``lhs - rhs``, storage types as :func:`add`."""
    return _binary_entry("sub", lhs, rhs)


def multiply(lhs, rhs) -> NDArray:
    """``lhs * rhs``: sparse times a scalar keeps its storage; rsp * rsp, rsp * dense, csr *
    csr and csr * dense are sparse; dense * sparse is dense (MXNet 1.9.1's inference)."""
    return _binary_entry("mul", lhs, rhs)


def divide(lhs, rhs) -> NDArray:
    """``lhs / rhs``: sparse / scalar and csr / dense keep the sparse storage, the rest is
    dense."""
    return _binary_entry("div", lhs, rhs)


def _make_elemwise(name, short):
    def op(lhs, rhs, out=None, name=None):
        if not isinstance(lhs, NDArray) or not isinstance(rhs, NDArray):
            raise TypeError(f"{op.__name__}: lhs and rhs must be NDArrays")
        if short == "mul" and lhs.stype == "default" and rhs.stype != "default":
            lhs, rhs = rhs, lhs  # elemwise_mul(dense, sparse) is sparse too (commutes)
        if short == "div":  # MXNet's elemwise_div is dense for every storage
            _check_pair(lhs, rhs, op.__name__)
            result = _nd._binary(_FUNCS["div"],
                                 NDArray(lhs._data, lhs.context),
                                 NDArray(rhs._data, rhs.context), "elemwise_div")
        else:
            result = _elemwise(_FUNCS[short], short, lhs, rhs)
        return result if out is None else result.copyto(out)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``{name}`` of two arrays of the same shape, with MXNet's storage inference."
    return op


elemwise_add = _make_elemwise("elemwise_add", "add")
elemwise_sub = _make_elemwise("elemwise_sub", "sub")
elemwise_mul = _make_elemwise("elemwise_mul", "mul")
elemwise_div = _make_elemwise("elemwise_div", "div")


def _compare(fn, arr: BaseSparseNDArray, other):
    """Comparisons: with a scalar for which ``0 op scalar`` is false, the sparse storage is
    kept (MXNet keeps it for ``rsp > 0``); otherwise the result is dense."""
    if isinstance(other, _SCALARS):
        s = _scalar_as(other, arr._values.dtype)
        if not fn(arr._values.dtype.type(0), s):
            values = fn(arr._values, s).astype(arr._values.dtype)
            return arr._like(values)
    dense = NDArray(arr._dense(), arr.context)
    other = NDArray(other._data, other.context) if isinstance(other, NDArray) else other
    return _nd._binary(fn, dense, other, fn.__name__)


def add_n(*args, out=None) -> NDArray:
    """The sum of arrays of one shape; all row_sparse gives row_sparse, else dense."""
    if not args:
        raise ValueError("add_n needs at least one array")
    if all(isinstance(a, RowSparseNDArray) for a in args):
        result = args[0].copy()
        for a in args[1:]:
            result = _rsp_union(np.add, result, a)
    else:
        result = NDArray(args[0]._data.copy(), args[0].context)
        for a in args[1:]:
            result = _nd._binary(np.add, result, NDArray(a._data, a.context), "add_n")
    return result if out is None else result.copyto(out)


# ---------------------------------------------------------------------- dot
def dot(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None, out=None):
    """Matrix product with sparse operands, as MXNet 1.9.1 on the CPU:

    * ``dot(csr, dense)`` and ``dot(csr, dense, transpose_b=True)``: dense;
    * ``dot(csr, dense, transpose_a=True)``: row_sparse, storing the rows of the columns that
      ``csr`` has entries in;
    * ``dot(dense, csr)`` and ``dot(dense, csr, transpose_b=True)``: csr;
    * anything else: the dense product.
    """
    from ..kernels import sparse as K

    if not isinstance(lhs, NDArray) or not isinstance(rhs, NDArray):
        raise TypeError("dot: lhs and rhs must be NDArrays")
    if lhs.dtype != rhs.dtype:
        raise MXNetError(f"dot: incompatible dtypes {np.dtype(lhs.dtype)} and "
                         f"{np.dtype(rhs.dtype)}")
    result = None
    if isinstance(lhs, CSRNDArray) and not isinstance(rhs, CSRNDArray) and rhs.ndim == 2:
        dense = rhs._data
        if transpose_b:
            dense = np.ascontiguousarray(dense.T)
        inner = lhs.shape[0] if transpose_a else lhs.shape[1]
        if dense.shape[0] != inner:
            raise MXNetError(
                f"dot: shapes {_shape_str(lhs.shape)} and {_shape_str(rhs.shape)} do not "
                f"match (transpose_a={transpose_a}, transpose_b={transpose_b})"
            )
        dense = np.ascontiguousarray(dense)
        if transpose_a:
            rows = np.unique(lhs._idx).astype(_INDEX)
            values = np.zeros((rows.size, dense.shape[1]), lhs._values.dtype)
            K.csr_t_dot_dense(lhs._indptr, lhs._idx, lhs._values, dense,
                              np.searchsorted(rows, lhs._idx), values)
            result = RowSparseNDArray(values, rows, (lhs.shape[1], dense.shape[1]),
                                      lhs.context)
        else:
            values = np.zeros((lhs.shape[0], dense.shape[1]), lhs._values.dtype)
            K.csr_dot_dense(lhs._indptr, lhs._idx, lhs._values, dense, values)
            result = NDArray(values, lhs.context)
    elif (type(lhs) is NDArray and isinstance(rhs, CSRNDArray) and lhs.ndim == 2
          and not transpose_a):
        dense = NDArray(_nd._matrix.dot(lhs._data, rhs._dense(), False, transpose_b),
                        lhs.context)
        result = _dense_to_csr(dense._data, lhs.context)
    if result is None:
        result = _nd.dot(NDArray(lhs._data, lhs.context), NDArray(rhs._data, rhs.context),
                         transpose_a, transpose_b)
    if forward_stype is not None and forward_stype != result.stype:
        result = cast_storage(result, forward_stype)
    return result if out is None else result.copyto(out)


# ---------------------------------------------------------------------- update operators
def adagrad_update(weight, grad, history, lr, epsilon=1e-7, wd=0.0, rescale_grad=1.0,
                   clip_gradient=-1.0, out=None, name=None):
    """MXNet's ``sparse.adagrad_update``: only the rows a row_sparse ``grad`` stores::

        g = clip(rescale_grad * grad);  history += g**2;  w -= lr * g / sqrt(history + eps)

    ``wd`` must be 0, as in MXNet.  (``sgd_update``, ``adam_update``, ``ftrl_update``, ...
    of ``mx.nd`` take row_sparse gradients themselves and are re-exported here.)
    """
    from ..kernels import sparse as K

    if wd != 0:
        raise MXNetError(f"sparse adagrad_update does not support wd, got wd={wd}")
    return K.adagrad_update(weight, grad, history, lr, epsilon, rescale_grad, clip_gradient,
                            out)


def __getattr__(name: str):
    # any other mx.nd operator accepts sparse inputs through the dense fallback
    if name.startswith("__"):
        raise AttributeError(name)
    from .. import ndarray as nd_pkg

    try:
        return getattr(nd_pkg, name)
    except AttributeError:
        raise AttributeError(f"module 'mxlite.ndarray.sparse' has no attribute {name!r}") \
            from None


# ---------------------------------------------------------------------- row helpers (iterators)
def take_rows(data: CSRNDArray, rows) -> CSRNDArray:
    """The rows ``rows`` of a CSR matrix, in that order (repetitions allowed)."""
    rows = _as_index(rows, "rows")
    starts, ends = data._indptr[rows], data._indptr[rows + 1]
    counts = ends - starts
    ptr = np.zeros(rows.size + 1, _INDEX)
    np.cumsum(counts, out=ptr[1:])
    pos = (np.repeat(starts - ptr[:-1], counts) + np.arange(int(ptr[-1]))).astype(_INDEX)
    return CSRNDArray(data._values[pos], data._idx[pos], ptr, (rows.size, data.shape[1]),
                      data.context)


def vstack(parts) -> CSRNDArray:
    """CSR matrices of one width stacked row-wise."""
    parts = list(parts)
    ptrs, offset = [np.zeros(1, _INDEX)], 0
    for p in parts:
        ptrs.append(p._indptr[1:] + offset)
        offset += int(p._indptr[-1])
    return CSRNDArray(np.concatenate([p._values for p in parts]),
                      np.concatenate([p._idx for p in parts]).astype(_INDEX),
                      np.concatenate(ptrs).astype(_INDEX),
                      (builtins.sum(p.shape[0] for p in parts), parts[0].shape[1]),
                      parts[0].context)


def square_sum(data, axis=0, keepdims=False, out=None):
    """``sum(data ** 2, axis)`` of a 2-D array (MXNet's ``_square_sum``, reached as
    ``mx.nd._internal._square_sum``): a row_sparse ``data`` with ``axis=1, keepdims=True``
    gives a row_sparse result on the same rows, every other case a dense one."""
    from ..operator.registry import get
    from ..operator.sparse import SquareSum

    op = get("_square_sum")
    p = op.parse_params({"axis": axis, "keepdims": keepdims})
    if not isinstance(data, NDArray):
        raise TypeError(f"_square_sum: data must be an NDArray, got {type(data).__name__}")
    ax = SquareSum._axis(p, data.shape)
    if isinstance(data, RowSparseNDArray) and ax == 1 and p.keepdims and out is None:
        vals = data._values
        return _rsp(np.sum(vals * vals, axis=1, keepdims=True), data._idx.copy(),
                    (data.shape[0], 1), data.context, check=False)
    if isinstance(data, RowSparseNDArray):  # only the stored rows contribute
        vals = data._values
        if ax == 0:
            result = np.sum(vals * vals, axis=0, keepdims=p.keepdims)
        else:
            result = np.zeros(data.shape[0], vals.dtype)
            result[data._idx] = np.sum(vals * vals, axis=1)
            if p.keepdims:
                result = result[:, None]
    else:
        result = op.forward(p, [data._data if type(data) is NDArray else data._dense()],
                            [], False)[0][0]
    if out is not None:
        out[:] = result
        return out
    return NDArray(np.asarray(result), data.context)
