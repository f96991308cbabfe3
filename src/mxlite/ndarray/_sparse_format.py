"""Row_sparse and CSR records of MXNet's NDArray format (``mx.nd.save`` / ``mx.nd.load``).

A sparse record, after the ``u32`` magic (V2, or V3 in an np-shape file)::

    i32 storage type           1 row_sparse, 2 csr
    storage shape              i32 ndim, ndim x i64: the shape of the stored values
    shape                      i32 ndim, ndim x i64: the array's shape
    i32 dev_type, i32 dev_id   the context (1 = cpu)
    i32 type flag              of the values
    per aux array              i32 type flag, shape (i32 ndim, ndim x i64)
    values                     C order, size(storage shape) x itemsize
    aux data                   each aux array, C order

The aux arrays are ``indices`` (row_sparse: the stored rows) or ``indptr`` then ``indices``
(csr).  The bytes written here are those MXNet 1.9.1 writes.

The reader checks every declared size against the bytes left before allocating, and the index
arrays against the shape (sorted unique rows, monotone ``indptr``, columns in range), so a
corrupted file raises :class:`~mxlite.base.MXNetError` and never builds an inconsistent array.
Loading keeps the storage: a file of a 10M-row embedding gradient holding 100 rows loads as 100
rows.
"""

from __future__ import annotations

import struct

import numpy as np

from ..context import Context

ROW_SPARSE, CSR = 1, 2
_NAMES = {ROW_SPARSE: "row_sparse", CSR: "csr"}
#: the most elements a sparse record may declare for its dense shape (MXNet uses int64 sizes)
MAX_DENSE_ELEMENTS = 1 << 62


def read_sparse(r, stype: int, np_shape: bool, read_shape, read_ctx, read_dtype, read_values,
                size):
    """The sparse record at reader ``r`` (after its magic and storage type) as a
    RowSparseNDArray / CSRNDArray, or None for an uninitialised one.  The ``read_*`` helpers
    are those of :mod:`mxlite.ndarray.utils` (bounds-checked)."""
    from .sparse import CSRNDArray, RowSparseNDArray, _validate

    name = _NAMES[stype]
    sshape = read_shape(r, f"{name} storage shape", np_shape)
    shape = read_shape(r, f"{name} shape", np_shape)
    if shape is None:
        return None
    if sshape is None:
        raise r.error(f"corrupted NDArray data: {name} array without a storage shape")
    if size(shape) > MAX_DENSE_ELEMENTS:
        raise r.error(f"corrupted NDArray data: {name} shape {shape} is absurdly large")
    read_ctx(r)
    dtype = read_dtype(r, name)
    naux = 1 if stype == ROW_SPARSE else 2
    aux = []
    for i in range(naux):
        adtype = read_dtype(r, f"{name} aux {i}")
        if adtype.kind not in "iu":
            raise r.error(f"corrupted NDArray data: {name} aux {i} has dtype {adtype.name}")
        ashape = read_shape(r, f"{name} aux {i} shape", np_shape)
        if ashape is None or len(ashape) != 1:
            raise r.error(f"corrupted NDArray data: {name} aux {i} shape {ashape} is not 1-D")
        aux.append((adtype, ashape))
    if size(sshape) == 0:  # an array with nothing stored: MXNet writes a 0-size storage shape
        n = aux[0][1][0] if stype == ROW_SPARSE else aux[1][1][0]
        sshape = (n, *shape[1:]) if stype == ROW_SPARSE else (n,)
    values = read_values(r, sshape, dtype, f"{name} values")
    index = [read_values(r, ashape, adtype, f"{name} aux {i}")
             for i, (adtype, ashape) in enumerate(aux)]
    ctx = Context("cpu", 0)
    if stype == ROW_SPARSE:
        (idx,) = index
        if len(shape) == 0 or sshape != (idx.size, *shape[1:]):
            raise r.error(f"corrupted NDArray data: row_sparse storage shape {sshape} does not "
                          f"fit {idx.size} rows of shape {shape}")
        out = RowSparseNDArray(values, idx.astype(np.int64), shape, ctx)
    else:
        indptr, idx = index
        if len(shape) != 2 or len(sshape) != 1:
            raise r.error(f"corrupted NDArray data: csr shape {shape} / storage shape {sshape}")
        out = CSRNDArray(values, idx.astype(np.int64), indptr.astype(np.int64), shape, ctx)
    try:
        _validate(out)
    except Exception as err:  # MXNetError naming what is wrong
        raise r.error(f"corrupted NDArray data: {err}") from None
    return out


def _tshape(shape) -> bytes:
    return struct.pack(f"<i{len(shape)}q", len(shape), *shape)


def sparse_header(array, magic: int, dtype_flag) -> bytes:
    """Everything of a sparse record before its values."""
    stype = ROW_SPARSE if array.stype == "row_sparse" else CSR
    values = array._values
    flag = dtype_flag(values.dtype)
    aux = _aux(array)
    ctx = array.context
    parts = [struct.pack("<Ii", magic, stype), _tshape(values.shape), _tshape(array.shape),
             struct.pack("<iii", ctx.device_typeid, ctx.device_id, flag)]
    for a in aux:
        parts.append(struct.pack("<i", dtype_flag(a.dtype)) + _tshape(a.shape))
    return b"".join(parts)


def _aux(array) -> list[np.ndarray]:
    return [array._idx] if array.stype == "row_sparse" else [array._indptr, array._idx]


def sparse_payload(array) -> list[np.ndarray]:
    """The arrays whose bytes follow the header, in order."""
    return [array._values, *_aux(array)]


def sparse_to_record(array) -> bytes:
    """One sparse record (as ``MXNDArraySaveRawBytes``)."""
    from .utils import array_to_raw_bytes

    return array_to_raw_bytes(array)


def sparse_from_record(raw: bytes):
    """The array of one sparse record (pickling support)."""
    from .utils import array_from_raw_bytes

    return array_from_raw_bytes(raw)
