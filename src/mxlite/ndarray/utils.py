"""MXNet's binary NDArray format: ``mx.nd.save``, ``mx.nd.load``, ``mx.nd.load_frombuffer``.

The bytes mxlite writes are identical to what MXNet 1.9.1 writes for the same arrays, and every
layout MXNet 1.9.1 reads is read here too.  All integers are little-endian.

File (what ``mx.nd.save`` writes)::

    u64 0x112                  list magic
    u64 0                      reserved
    u64 n                      number of arrays, then n array records
    u64 k                      number of names (0 for the list form, n for the dict form)
    k x (u64 length, UTF-8 bytes)

Array record (what ``NDArray.__getstate__`` of MXNet pickles as raw bytes)::

    u32 magic                  0xF993FAC9 (V2), 0xF993FACA (V3, NumPy shape semantics)
    i32 storage type           0 dense, 1 row_sparse, 2 csr
    [sparse: storage shape]
    shape                      i32 ndim, ndim x i64
    i32 dev_type, i32 dev_id   the context the array lived on (1 = cpu)
    i32 type flag              0 f32, 1 f64, 2 f16, 3 u8, 4 i32, 5 i8, 6 i64, 7 bool
    [sparse: per aux array i32 type flag + shape]
    data                       C order, size(shape) x itemsize bytes
    [sparse: aux data]

Older records, still read: V1 (magic 0xF993FAC8, dense, same shape encoding, no storage type)
and the original layout without magic, whose first u32 is ``ndim`` followed by ``ndim`` u32 dims.
In V1/V2 an empty shape (``ndim == 0``) marks an uninitialised array; V3 marks it with
``ndim == -1`` or a ``-1`` dimension, and ``ndim == 0`` there is a 0-d array.

Sparse records (``row_sparse``, ``csr``) load as :class:`~mxlite.ndarray.sparse.RowSparseNDArray`
/ :class:`~mxlite.ndarray.sparse.CSRNDArray` and sparse arrays save as MXNet does (the record
layout is in :mod:`mxlite.ndarray._sparse_format`).

Every reader checks the structure against the buffer before it allocates anything: a truncated,
corrupted or foreign file raises :class:`~mxlite.base.MXNetError` naming the source and what is
wrong, never a NumPy error and never a silently wrong array.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from ..base import MXNetError, atomic_write
from ..context import Context
from .ndarray import NDArray

__all__ = [
    "array_from_raw_bytes", "array_to_raw_bytes", "load", "load_frombuffer", "save",
    "save_to_bytes",
]

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8
V2_MAGIC = 0xF993FAC9
V3_MAGIC = 0xF993FACA

# mshadow type flags MXNet 1.9.1 can hold in an NDArray (12 = bfloat16 has no NumPy dtype)
FLAG_TO_DTYPE: dict[int, np.dtype] = {
    0: np.dtype(np.float32),
    1: np.dtype(np.float64),
    2: np.dtype(np.float16),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int32),
    5: np.dtype(np.int8),
    6: np.dtype(np.int64),
    7: np.dtype(np.bool_),
}
DTYPE_TO_FLAG: dict[np.dtype, int] = {v: k for k, v in FLAG_TO_DTYPE.items()}

_STYPE_DEFAULT, _STYPE_ROW_SPARSE, _STYPE_CSR = 0, 1, 2
_STYPE_NAMES = {-1: "undefined", 0: "default", 1: "row_sparse", 2: "csr"}
_DEV_TYPES = (1, 2, 3, 5)  # cpu, gpu, cpu_pinned, cpu_shared
_MAX_NDIM = 64  # NumPy's limit; MXNet never writes more
_MAX_NBYTES = 1 << 62  # nominal size NumPy can describe (also for 0-size arrays)


# ---------------------------------------------------------------------- reading
class _Reader:
    """Cursor over a bytes buffer; every read is bounds-checked and errors name the source."""

    __slots__ = ("buf", "pos", "source")

    def __init__(self, buf: bytes | memoryview, source: str):
        self.buf = memoryview(buf).cast("B")
        self.pos = 0
        self.source = source

    @property
    def remaining(self) -> int:
        return len(self.buf) - self.pos

    def error(self, what: str) -> MXNetError:
        return MXNetError(f"{self.source}: {what} (at byte offset {self.pos})")

    def take(self, n: int, what: str) -> memoryview:
        if n > self.remaining:
            raise self.error(
                f"truncated NDArray data: {what} needs {n} bytes, only {self.remaining} left"
            )
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def _unpack(self, fmt: str, size: int, what: str) -> int:
        return struct.unpack(fmt, self.take(size, what))[0]

    def u32(self, what: str) -> int:
        return self._unpack("<I", 4, what)

    def i32(self, what: str) -> int:
        return self._unpack("<i", 4, what)

    def u64(self, what: str) -> int:
        return self._unpack("<Q", 8, what)

    def i64_array(self, n: int, what: str) -> list[int]:
        return list(struct.unpack(f"<{n}q", self.take(8 * n, what)))

    def u32_array(self, n: int, what: str) -> list[int]:
        return list(struct.unpack(f"<{n}I", self.take(4 * n, what)))


def _read_shape(r: _Reader, what: str, np_shape: bool) -> tuple[int, ...] | None:
    """A TShape (i32 ndim, i64 dims); None for an uninitialised shape."""
    ndim = r.i32(f"{what} ndim")
    if np_shape and ndim == -1:
        return None
    if ndim < 0 or ndim > _MAX_NDIM:
        raise r.error(f"corrupted NDArray data: {what} has ndim {ndim} (expected 0..{_MAX_NDIM})")
    dims = r.i64_array(ndim, f"{what} dims")
    if np_shape and -1 in dims:
        return None
    if any(d < 0 for d in dims):
        raise r.error(f"corrupted NDArray data: {what} {tuple(dims)} has a negative size")
    if not np_shape and ndim == 0:
        return None
    return tuple(dims)


def _size(shape: tuple[int, ...]) -> int:
    size = 1
    for d in shape:
        size *= d
    return size


def _nbytes(r: _Reader, shape: tuple[int, ...], dtype: np.dtype, what: str) -> int:
    nominal = dtype.itemsize
    size = 1
    for d in shape:
        size *= d
        nominal *= max(d, 1)
    if nominal >= _MAX_NBYTES:
        raise r.error(f"corrupted NDArray data: {what} shape {shape} is absurdly large")
    return size * dtype.itemsize


def _read_dtype(r: _Reader, what: str) -> np.dtype:
    flag = r.i32(f"{what} type flag")
    dtype = FLAG_TO_DTYPE.get(flag)
    if dtype is None:
        if flag == 12:
            raise r.error(f"{what} has dtype bfloat16 (type flag 12), which NumPy cannot hold")
        raise r.error(f"corrupted NDArray data: unknown {what} type flag {flag}")
    return dtype


def _read_ctx(r: _Reader) -> None:
    dev_type = r.i32("context device type")
    dev_id = r.i32("context device id")
    if dev_type not in _DEV_TYPES or dev_id < 0:
        raise r.error(
            f"corrupted NDArray data: invalid context (device type {dev_type}, id {dev_id})"
        )


def _read_values(r: _Reader, shape: tuple[int, ...], dtype: np.dtype, what: str) -> np.ndarray:
    nbytes = _nbytes(r, shape, dtype, what)
    raw = r.take(nbytes, f"{what} of shape {shape} and dtype {dtype.name}")
    values = np.frombuffer(raw, dtype=dtype.newbyteorder("<") if dtype.itemsize > 1 else dtype)
    if dtype == np.bool_:
        return (values.view(np.uint8) != 0).reshape(shape)
    return values.astype(dtype, copy=True).reshape(shape)


def _read_dense_body(r: _Reader, shape: tuple[int, ...] | None) -> np.ndarray | None:
    """Context, type flag and data of a dense record whose shape has been read."""
    if shape is None:
        return None
    _read_ctx(r)
    dtype = _read_dtype(r, "array")
    return _read_values(r, shape, dtype, "array data")


def _read_sparse_body(r: _Reader, stype: int, np_shape: bool):
    """A row_sparse or csr record, as a RowSparseNDArray / CSRNDArray (:mod:`._sparse_format`)."""
    from ._sparse_format import read_sparse

    return read_sparse(r, stype, np_shape, _read_shape, _read_ctx, _read_dtype, _read_values,
                       _size)


def _check_shape_semantics(r: _Reader, np_shape_record: bool) -> None:
    """MXNet 1.9.1's ``mx.nd.load`` rule: a V3 record (NumPy shape semantics: 0-d arrays,
    zero-size dimensions) loads only under ``mx.util.np_shape(True)``, a V2 record only
    outside it, as the two read the same shape bytes differently."""
    from ..util import is_np_shape

    if np_shape_record and not is_np_shape():
        raise r.error("the array was saved with NumPy shape semantics (a V3 record, as "
                      "mx.nd.save writes under mx.util.np_shape(True) or for a 0-d array); "
                      "load it within mx.util.np_shape(True), as MXNet 1.9.1 requires")
    if not np_shape_record and is_np_shape():
        raise r.error("a record saved without NumPy shape semantics cannot be loaded "
                      "under mx.util.np_shape(True) (as MXNet)")


def _read_array(r: _Reader, check_np_shape: bool = True) -> np.ndarray | None:
    """One array record (any version); None for an uninitialised array.

    ``check_np_shape=False`` (an unpickled NDArray's record) reads V2 and V3 records whatever
    :func:`mxlite.util.is_np_shape` says; files follow MXNet's rule
    (:func:`_check_shape_semantics`).
    """
    start = r.pos
    magic = r.u32("array magic")
    if magic in (V2_MAGIC, V3_MAGIC):
        np_shape = magic == V3_MAGIC
        if check_np_shape:
            _check_shape_semantics(r, np_shape)
        stype = r.i32("storage type")
        if stype == _STYPE_DEFAULT:
            return _read_dense_body(r, _read_shape(r, "array shape", np_shape))
        if stype in (_STYPE_ROW_SPARSE, _STYPE_CSR):
            return _read_sparse_body(r, stype, np_shape)
        raise r.error(f"corrupted NDArray data: unknown storage type {stype}")
    if magic == V1_MAGIC:
        return _read_dense_body(r, _read_shape(r, "array shape", False))
    # the original layout: the first word is ndim, then u32 dims
    ndim = magic
    if ndim > _MAX_NDIM:
        r.pos = start
        raise r.error(
            f"not an NDArray record: unknown magic 0x{magic:08X} (and too large for the "
            "legacy layout's ndim)"
        )
    if ndim == 0:
        return None
    return _read_dense_body(r, tuple(r.u32_array(ndim, "legacy array dims")))


def _to_ndarray(values: np.ndarray | None, r: _Reader, what: str) -> NDArray:
    if values is None:
        raise r.error(f"{what} is an uninitialised (none) NDArray, which mxlite cannot hold")
    if isinstance(values, NDArray):  # a sparse record
        return values
    return NDArray(values, Context("cpu", 0))


def _parse(buf, source: str) -> list[NDArray] | dict[str, NDArray]:
    r = _Reader(buf, source)
    if r.remaining < 16:
        raise r.error(
            f"not an MXNet NDArray file: {r.remaining} bytes is shorter than the 16-byte header"
        )
    header = r.u64("header")
    if header != LIST_MAGIC:
        r.pos = 0
        raise r.error(
            f"not an MXNet NDArray file: bad magic 0x{header:X} (expected 0x{LIST_MAGIC:X})"
        )
    r.u64("reserved word")
    count = r.u64("array count")
    if count * 4 > r.remaining:
        raise r.error(f"corrupted NDArray file: {count} arrays cannot fit in {r.remaining} bytes")
    arrays = [_to_ndarray(_read_array(r), r, f"array #{i}") for i in range(count)]
    nnames = r.u64("name count")
    if nnames not in (0, count):
        raise r.error(f"corrupted NDArray file: {nnames} names for {count} arrays")
    names = []
    for i in range(nnames):
        length = r.u64(f"length of name #{i}")
        raw = r.take(length, f"name #{i}")
        try:
            name = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise r.error(f"corrupted NDArray file: name #{i} is not valid UTF-8") from None
        names.append(name)
    if r.remaining:
        raise r.error(f"corrupted NDArray file: {r.remaining} bytes of trailing garbage")
    if not nnames:
        return arrays
    out = dict(zip(names, arrays, strict=True))
    if len(out) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise r.error(f"corrupted NDArray file: duplicate names {dup}")
    return out


def _as_bytes(buf, arg: str):
    if isinstance(buf, str):
        raise TypeError(f"{arg} must be bytes-like, got str (read the file in binary mode)")
    try:
        return memoryview(buf)
    except TypeError:
        raise TypeError(f"{arg} must be bytes-like, got {type(buf).__name__}") from None


def load_frombuffer(buf) -> list[NDArray] | dict[str, NDArray]:
    """Load the list or dict of arrays held in ``buf`` (bytes-like), as :func:`load` does.

    >>> import mxlite as mx
    >>> mx.nd.load_frombuffer(mx.nd.save_to_bytes({"w": mx.nd.ones((2,))}))["w"].asnumpy()
    array([1., 1.], dtype=float32)
    """
    return _parse(_as_bytes(buf, "buf"), "<buffer>")


def load(fname) -> list[NDArray] | dict[str, NDArray]:
    """Load a file written by :func:`save` or by MXNet's ``mx.nd.save`` (any format version).

    Returns a dict ``name -> NDArray`` when the file stores names, else a list; arrays are placed
    on ``cpu(0)``.  Raises :class:`~mxlite.base.MXNetError` naming the file for anything that is
    not a well-formed NDArray file.
    """
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"fname required to be a string or path, got {type(fname).__name__}")
    path = os.fspath(fname)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise MXNetError(f"{path}: cannot read NDArray file: {err.strerror or err}") from err
    return _parse(data, path)


def array_from_raw_bytes(buf, source: str = "<raw bytes>") -> NDArray:
    """One array from a single record: MXNet's ``MXNDArrayLoadFromRawBytes``.

    This is the ``'handle'`` entry of a pickled MXNet NDArray's state.
    """
    r = _Reader(_as_bytes(buf, "buf"), source)
    array = _to_ndarray(_read_array(r, check_np_shape=False), r, "the array")
    if r.remaining:
        raise r.error(f"corrupted NDArray record: {r.remaining} bytes of trailing garbage")
    return array


# ---------------------------------------------------------------------- writing
def _record_header(array: NDArray, np_shape: bool | None) -> bytes:
    """Everything of an array record before its data (validates the array)."""
    if not isinstance(array, NDArray):
        raise TypeError(f"expected an NDArray, got {type(array).__name__}")
    if type(array) is not NDArray:  # row_sparse / csr
        from ._sparse_format import sparse_header

        return sparse_header(array, V3_MAGIC if np_shape else V2_MAGIC, _dtype_flag)
    data = array._data
    flag = DTYPE_TO_FLAG.get(data.dtype.newbyteorder("="))
    if flag is None:
        raise TypeError(
            f"MXNet's NDArray format cannot store dtype {data.dtype.name}; supported: "
            + ", ".join(d.name for d in FLAG_TO_DTYPE.values())
        )
    ctx = array.context
    if np_shape is None:
        np_shape = data.ndim == 0
    magic = V3_MAGIC if np_shape else V2_MAGIC
    return struct.pack(
        f"<Iii{data.ndim}qiii", magic, _STYPE_DEFAULT, data.ndim, *data.shape,
        ctx.device_typeid, ctx.device_id, flag,
    )


def _dtype_flag(dtype: np.dtype) -> int:
    flag = DTYPE_TO_FLAG.get(dtype.newbyteorder("="))
    if flag is None:
        raise TypeError(f"MXNet's NDArray format cannot store dtype {dtype.name}")
    return flag


def _payload(array: NDArray) -> list[np.ndarray]:
    """The arrays whose bytes follow a record's header."""
    if type(array) is NDArray:
        return [array._data]
    from ._sparse_format import sparse_payload

    return sparse_payload(array)


def _put_data(out: bytearray, pos: int, data: np.ndarray) -> int:
    """Copy ``data`` (C order, little-endian) into ``out`` at ``pos``; returns the end."""
    if data.size:
        target = np.frombuffer(
            out, dtype=data.dtype.newbyteorder("<"), count=data.size, offset=pos
        ).reshape(data.shape)
        target[...] = data
    return pos + data.nbytes


def array_to_raw_bytes(array: NDArray, np_shape: bool | None = None) -> bytes:
    """One array record, byte-identical to MXNet's ``MXNDArraySaveRawBytes``.

    A V2 record as MXNet writes by default, or with ``np_shape`` a V3 record as MXNet writes
    under ``mx.util.np_shape(True)``.  ``np_shape=None`` picks V3 only for a 0-d array: MXNet
    1.9.1 writes a V2 record for it that neither MXNet nor mxlite can read back.
    """
    header = _record_header(array, np_shape)
    payload = _payload(array)
    out = bytearray(len(header) + sum(p.nbytes for p in payload))
    out[:len(header)] = header
    pos = len(header)
    for part in payload:
        pos = _put_data(out, pos, part)
    return bytes(out)


def _entries(data) -> tuple[list[NDArray], list[str]]:
    if isinstance(data, NDArray):
        return [data], []
    if isinstance(data, dict):
        bad_key = next((k for k in data if not isinstance(k, str)), None)
        if bad_key is not None:
            raise TypeError(f"save only accepts str keys, got key {bad_key!r}")
        bad = next((k for k, v in data.items() if not isinstance(v, NDArray)), None)
        if bad is not None:
            raise TypeError(
                f"save only accepts NDArray values, got {type(data[bad]).__name__} for {bad!r}"
            )
        return list(data.values()), list(data.keys())
    if isinstance(data, (list, tuple)):
        bad = next((i for i, v in enumerate(data) if not isinstance(v, NDArray)), None)
        if bad is not None:
            raise TypeError(
                f"save only accepts a list of NDArray, "
                f"got {type(data[bad]).__name__} at index {bad}"
            )
        return list(data), []
    raise ValueError(
        "data needs to either be a NDArray, dict of str, NDArray pairs or a list of NDArrays, "
        f"got {type(data).__name__}"
    )


def _serialize(data) -> bytearray:
    """The file :func:`save` writes, built in one buffer (each array is copied once)."""
    arrays, names = _entries(data)
    # under mx.util.np_shape(True), or for a file holding a 0-d array, V3 records are written
    # (as MXNet writes under np_shape), so MXNet reads them back within np_shape(True)
    from ..util import is_np_shape

    np_shape = is_np_shape() or any(a.ndim == 0 for a in arrays)
    headers = [_record_header(a, np_shape) for a in arrays]
    encoded = [name.encode("utf-8") for name in names]
    payloads = [_payload(a) for a in arrays]
    total = 32 + sum(len(h) + sum(p.nbytes for p in ps)
                     for h, ps in zip(headers, payloads, strict=True))
    total += sum(8 + len(e) for e in encoded)
    out = bytearray(total)
    struct.pack_into("<QQQ", out, 0, LIST_MAGIC, 0, len(arrays))
    pos = 24
    for header, payload in zip(headers, payloads, strict=True):
        out[pos:pos + len(header)] = header
        pos += len(header)
        for part in payload:
            pos = _put_data(out, pos, part)
    struct.pack_into("<Q", out, pos, len(encoded))
    pos += 8
    for raw in encoded:
        struct.pack_into("<Q", out, pos, len(raw))
        out[pos + 8:pos + 8 + len(raw)] = raw
        pos += 8 + len(raw)
    assert pos == total
    return out


def save_to_bytes(data) -> bytes:
    """The bytes :func:`save` writes for an NDArray, a list of them or a dict ``str -> NDArray``."""
    return bytes(_serialize(data))


def save(fname, data) -> None:
    """Save an NDArray, a list of NDArrays or a dict ``str -> NDArray`` in MXNet's format.

    The file is byte-identical to MXNet 1.9.1's ``mx.nd.save`` and is written atomically (a
    temporary file, fsync, rename): an interrupted save leaves any previous file intact.

    >>> import mxlite as mx, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.params")
    >>> mx.nd.save(path, {"arg:w": mx.nd.arange(3)})
    >>> mx.nd.load(path)["arg:w"].asnumpy()
    array([0., 1., 2.], dtype=float32)
    """
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"fname required to be a string or path, got {type(fname).__name__}")
    atomic_write(fname, _serialize(data))
