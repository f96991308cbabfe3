"""Key-value store for parameter synchronization: MXNet's ``local`` / ``device`` KVStore.

mxlite runs on one CPU, so both types keep one copy of each value in host memory.  The semantics
are those of MXNet 1.9.1's local store:

* ``init(key, value)`` stores a copy (a key can be initialized once);
* ``push(key, value)`` sums ``value`` (an NDArray or a list of NDArrays, one per device); with an
  optimizer set (``set_optimizer``) the sum is applied as a gradient to the stored weight
  through the optimizer's :class:`~mxlite.optimizer.Updater`, otherwise it replaces the value;
* ``pull(key, out)`` copies the stored value into ``out`` (an NDArray or a list of them);
* ``pushpull(key, value, out)`` is push then pull (into ``value`` when ``out`` is None);
* ``row_sparse_pull(key, out, row_ids)`` copies only the rows ``row_ids`` into a row_sparse
  ``out``.  Row_sparse pushes are summed as row_sparse arrays and reach the optimizer as
  row_sparse gradients (lazy updates); stored values are kept dense.

Keys are ints or strings (not mixed); several keys go as a list with one value (or list of
values) per key.

>>> import mxlite as mx
>>> kv = mx.kv.create('local')
>>> kv.init(3, mx.nd.ones((2, 3)))
>>> kv.push(3, [mx.nd.ones((2, 3)), mx.nd.ones((2, 3)) * 2])
>>> out = mx.nd.zeros((2, 3))
>>> kv.pull(3, out=out)
>>> out.asnumpy()[0].tolist()
[3.0, 3.0, 3.0]
"""

from __future__ import annotations

import os

import numpy as np

from ..base import MXNetError, atomic_write
from ..ndarray import NDArray

__all__ = ["KVStore", "create"]

_LOCAL_TYPES = (
    "local", "device", "local_update_cpu", "local_allreduce_cpu", "local_allreduce_device",
)


def _check_shape(op, what, key, arr, stored):
    """ValueError unless ``arr`` (the ``what`` of ``op``) has the shape stored under ``key``."""
    if arr.shape != stored.shape:
        raise ValueError(
            f"{op}: {what} of shape {arr.shape} for key {key!r} stored with shape {stored.shape}"
        )


def _pairs(key, value, what):
    """``[(key, [NDArray, ...]), ...]`` from MXNet's key/value argument conventions."""
    if isinstance(key, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(key):
            raise ValueError(
                f"{what}: a list of {len(key)} keys needs a list of {len(key)} values, got "
                f"{type(value).__name__}"
                + (f" of length {len(value)}" if isinstance(value, (list, tuple)) else "")
            )
        pairs = []
        for k, v in zip(key, value, strict=False):
            pairs.extend(_pairs(k, v, what))
        kinds = {isinstance(k, str) for k, _ in pairs}
        if len(kinds) > 1:
            raise ValueError(f"{what}: keys must be all ints or all strings, got {key!r}")
        return pairs
    if isinstance(key, bool) or not isinstance(key, (int, np.integer, str)):
        raise TypeError(f"{what}: a key must be an int or a string, got {key!r}")
    key = key if isinstance(key, str) else int(key)
    if isinstance(value, NDArray):
        return [(key, [value])]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, NDArray) for v in value):
        return [(key, list(value))]
    raise TypeError(
        f"{what}: the value of key {key!r} must be an NDArray or a list of NDArrays, "
        f"got {value!r}"
    )


class _UsageError(MXNetError, ValueError):
    """A call MXNet rejects with MXNetError (also a ValueError, as mxlite's earlier checks)."""


class _StorageError(MXNetError, TypeError):
    """A value of the wrong storage type (MXNetError in MXNet, also a TypeError)."""


def _rows_into(out, stored, row_ids, key) -> None:
    """``out`` (row_sparse) := the rows ``row_ids`` of the dense ``stored`` value."""
    from ..ndarray.sparse import RowSparseNDArray, _as_index

    if not isinstance(out, RowSparseNDArray):
        raise _StorageError(f"row_sparse_pull: out must be a RowSparseNDArray, got "
                            f"{type(out).__name__} (stype {out.stype!r})")
    _check_shape("row_sparse_pull", "out", key, out, stored)
    want = np.unique(_as_index(row_ids, "row_ids"))
    if want.size and (want[0] < 0 or want[-1] >= stored.shape[0]):
        raise MXNetError(f"row_sparse_pull: row_ids out of range [0, {stored.shape[0]}): "
                         f"{want[:8].tolist()}")
    values = stored._data[want].astype(np.dtype(out.dtype))
    out._assign(RowSparseNDArray(values, want, out.shape, out.context))


class KVStore:
    """A single-process key-value store (``create('local')`` / ``create('device')``)."""

    def __init__(self, kv_type: str = "local"):
        self._type = kv_type
        self._store: dict = {}
        self._key_kind: type | None = None
        self._updater = None
        self._optimizer = None

    # ------------------------------------------------------------------ properties
    @property
    def type(self) -> str:
        return self._type

    @property
    def rank(self) -> int:
        return 0

    @property
    def num_workers(self) -> int:
        return 1

    OPTIMIZER = "optimizer"

    def is_capable(self, capability: str) -> bool:
        """Whether the store supports ``capability`` (only ``'optimizer'`` exists)."""
        if capability.lower() == self.OPTIMIZER:
            return True
        raise ValueError(f"Unknown capability: {capability!r}")

    # ------------------------------------------------------------------ data
    def _check_kind(self, key):
        kind = str if isinstance(key, str) else int
        if self._key_kind is None:
            self._key_kind = kind
        elif kind is not self._key_kind:
            raise _UsageError(
                f"key {key!r}: this store uses {self._key_kind.__name__} keys; "
                "int and string keys cannot be mixed"
            )

    def _stored(self, key):
        try:
            return self._store[key]
        except KeyError:
            raise MXNetError(f"key {key!r} has not been initialized in the kvstore") from None

    def init(self, key, value):
        """Store a copy of ``value`` under ``key`` (a key or a list of keys)."""
        for k, vals in _pairs(key, value, "init"):
            if len(vals) != 1:
                raise ValueError(f"init: key {k!r} needs one value, got {len(vals)}")
            self._check_kind(k)
            if k in self._store:
                raise MXNetError(f"duplicate init of key {k!r}")
            self._store[k] = NDArray(vals[0]._data.copy(), vals[0].context)  # dense copy

    def push(self, key, value, priority=0):
        """Sum the values of each key and update the stored value with the sum."""
        for k, vals in _pairs(key, value, "push"):
            stored = self._stored(k)
            for v in vals:
                _check_shape("push", "value", k, v, stored)
            if any(type(v) is not NDArray for v in vals):  # row_sparse / csr pushes
                from ..ndarray.sparse import add_n

                merged = add_n(*vals)
            else:
                merged = vals[0].copy()
                for v in vals[1:]:
                    merged._data += v._data
            if self._updater is not None:
                self._updater(k, merged, stored)
            else:
                stored._data[...] = merged._data

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copy the stored value of each key into ``out``."""
        if out is None:
            raise ValueError("pull: out must be given (an NDArray or a list of NDArrays)")
        for k, outs in _pairs(key, out, "pull"):
            stored = self._stored(k)
            for o in outs:
                _check_shape("pull", "out", k, o, stored)
                if type(o) is not NDArray:  # a sparse out: skipped unless asked (as MXNet)
                    if not ignore_sparse:
                        o[:] = stored
                    continue
                o._data[...] = stored._data

    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        """Copy the rows ``row_ids`` of the stored value of ``key`` into the row_sparse ``out``.

        ``out`` then stores exactly those rows, sorted and without duplicates.  With a list of
        outs per key, ``row_ids`` is one array for all or a list (one per out); with a list of
        keys, ``row_ids`` is a list with one such entry per key (MXNet's conventions).
        """
        if out is None:
            raise ValueError("row_sparse_pull: out must be given (a RowSparseNDArray or a list)")
        if row_ids is None:
            raise ValueError("row_sparse_pull: row_ids must be given")
        if isinstance(key, (list, tuple)):
            if not isinstance(row_ids, (list, tuple)) or len(row_ids) != len(key):
                raise ValueError(f"row_sparse_pull: {len(key)} keys need a list of "
                                 f"{len(key)} row_ids entries")
            if not isinstance(out, (list, tuple)) or len(out) != len(key):
                raise ValueError(f"row_sparse_pull: {len(key)} keys need a list of "
                                 f"{len(key)} outs")
            for k, o, r in zip(key, out, row_ids, strict=True):
                self.row_sparse_pull(k, out=o, priority=priority, row_ids=r)
            return
        for k, outs in _pairs(key, out, "row_sparse_pull"):
            self._check_kind(k)
            stored = self._stored(k)
            ids = row_ids if isinstance(row_ids, (list, tuple)) else [row_ids] * len(outs)
            if len(ids) != len(outs):
                raise ValueError(f"row_sparse_pull: {len(ids)} row_ids for {len(outs)} outs")
            for o, r in zip(outs, ids, strict=True):
                _rows_into(o, stored, r, k)

    def pushpull(self, key, value, out=None, priority=0):
        """``push(key, value)`` then ``pull(key, out)`` (``out`` defaults to ``value``)."""
        self.push(key, value, priority)
        self.pull(key, value if out is None else out, priority)

    def broadcast(self, key, value, out, priority=0):
        """``init(key, value)`` then ``pull(key, out)``."""
        self.init(key, value)
        self.pull(key, out, priority)

    # ------------------------------------------------------------------ optimizer
    def set_optimizer(self, optimizer):
        """Apply ``optimizer`` to stored weights on every push (the pushed value is a gradient)."""
        from .. import optimizer as opt

        if not isinstance(optimizer, opt.Optimizer):
            raise TypeError(f"optimizer must be an mx.optimizer.Optimizer, got {optimizer!r}")
        self._optimizer = optimizer
        self._set_updater(opt.get_updater(optimizer))

    def _set_updater(self, updater):
        """Use ``updater(key, merged_value, stored_value)`` on push."""
        if not callable(updater):
            raise TypeError(f"updater must be callable, got {updater!r}")
        self._updater = updater

    set_updater = _set_updater

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Write the updater's states (and the optimizer when ``dump_optimizer``) to ``fname``."""
        if self._updater is None or not hasattr(self._updater, "get_states"):
            raise MXNetError("save_optimizer_states: no optimizer was set on this kvstore")
        atomic_write(fname, self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        """Load states written by :meth:`save_optimizer_states`."""
        if self._updater is None or not hasattr(self._updater, "set_states"):
            raise MXNetError("load_optimizer_states: no optimizer was set on this kvstore")
        with open(fname, "rb") as f:
            data = f.read()
        if hasattr(self._updater, "_set_states_from"):  # errors name the file
            self._updater._set_states_from(data, os.fspath(fname))
        else:
            self._updater.set_states(data)

    def set_gradient_compression(self, compression_params):
        """Gradient compression needs several devices or machines; mxlite has neither."""
        if self._type == "local":
            raise MXNetError("Gradient compression is not supported for this type of kvstore")
        raise MXNetError(
            f"Gradient compression ({compression_params!r}) is not supported by mxlite's "
            f"{self._type!r} kvstore: mxlite runs on a single CPU device"
        )

    def _barrier(self):
        """Nothing to wait for in a single process."""

    def __repr__(self):
        return f"<KVStore {self._type} with {len(self._store)} keys>"


def create(name: str = "local") -> KVStore:
    """A KVStore of type ``name``: ``'local'`` or ``'device'`` (and MXNet's ``local_*``
    variants); ``horovod``, ``byteps`` and ``nccl`` raise (``dist_*``: see
    :func:`mxlite.kvstore.create`)."""
    if isinstance(name, KVStore):
        return name
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    if name not in _LOCAL_TYPES:
        raise ValueError(
            f"kvstore type {name!r} is not supported: mxlite offers {', '.join(_LOCAL_TYPES)} "
            "and the dist_* types under `mxlite launch`"
        )
    return KVStore(name)
