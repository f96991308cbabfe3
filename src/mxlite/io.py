"""Data iterators: ``DataDesc``, ``DataBatch``, ``DataIter``, ``NDArrayIter``, ``ResizeIter``.

An iterator hands out :class:`DataBatch` objects of ``batch_size`` examples each, and describes
them up front through ``provide_data`` / ``provide_label`` (lists of :class:`DataDesc`), which is
what :meth:`mxlite.module.Module.bind` consumes.

>>> import numpy as np, mxlite as mx
>>> it = mx.io.NDArrayIter(np.arange(10.0).reshape(5, 2), np.arange(5.0), batch_size=2)
>>> [int(b.pad) for b in it]
[0, 0, 1]
>>> it.provide_data
[DataDesc[data,(2, 2),<class 'numpy.float32'>,NCHW]]

``NDArrayIter`` follows MXNet 1.9.1 exactly, including how ``last_batch_handle`` treats the tail
of the data:

* ``'pad'`` (default): the last batch is filled up with examples from the start of the data and
  ``batch.pad`` says how many of them are filler;
* ``'discard'``: an incomplete last batch is dropped;
* ``'roll_over'``: the incomplete tail is kept and becomes the head of the first batch of the next
  epoch (after ``reset()``); that batch reports ``pad`` as MXNet does, i.e. the number of
  examples that came from the previous epoch.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict, namedtuple

import numpy as np

from .ndarray import NDArray
from .ndarray import array as _nd_array

__all__ = [
    "DataBatch", "DataDesc", "DataIter", "LibSVMIter", "NDArrayIter", "PrefetchingIter",
    "ResizeIter",
]

_LAST_BATCH_HANDLES = ("pad", "discard", "roll_over")


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one input (data or label).

    Behaves as the tuple ``(name, shape)`` so that ``[('data', (128, 20))]`` and
    ``[DataDesc('data', (128, 20))]`` can be used interchangeably; ``dtype`` and ``layout`` ride
    along as attributes.  ``layout`` tells which axis is the batch axis (``'N'``).
    """

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        if not isinstance(name, str):
            raise TypeError(f"DataDesc name must be a string, got {name!r}")
        try:
            shape = tuple(int(s) for s in shape)
        except TypeError:
            raise TypeError(f"DataDesc shape must be a tuple of ints, got {shape!r}") from None
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self):
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout):
        """The axis of ``layout`` holding the batch (0 when ``layout`` is None, -1 if none)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """``DataDesc`` list from ``[(name, shape), ...]`` and optional ``[(name, dtype), ...]``."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(name, shape, type_dict[name]) for name, shape in shapes]
        return [DataDesc(name, shape) for name, shape in shapes]


class DataBatch:
    """One batch: ``data`` and ``label`` (lists of NDArray), ``pad``, ``index`` and, optionally,
    the ``provide_data`` / ``provide_label`` descriptions of this batch (used to reshape a
    module when the batch shape changes) and a ``bucket_key``."""

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None,
                 provide_data=None, provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError(f"DataBatch data must be a list of NDArrays, got {type(data).__name__}")
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError(
                f"DataBatch label must be a list of NDArrays, got {type(label).__name__}"
            )
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lab.shape for lab in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base of all iterators: Python iteration over ``next()``, which builds a :class:`DataBatch`
    from ``iter_next`` / ``getdata`` / ``getlabel`` / ``getpad`` / ``getindex``."""

    def __init__(self, batch_size: int = 0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Go back to the start of the data."""

    def next(self) -> DataBatch:
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(),
                             pad=self.getpad(), index=self.getindex())
        raise StopIteration

    def __next__(self) -> DataBatch:
        return self.next()

    def iter_next(self) -> bool:
        """Advance to the next batch; False at the end of the data."""
        raise NotImplementedError(f"{type(self).__name__} does not implement iter_next")

    def getdata(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement getdata")

    def getlabel(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement getlabel")

    def getindex(self):
        return None

    def getpad(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement getpad")


def _as_named_arrays(data, allow_empty: bool, default_name: str, what: str):
    """Normalize an iterator input to a sorted list of ``(name, NDArray)``."""
    if data is None:
        if not allow_empty:
            raise ValueError(f"{what} must not be None")
        data = []
    if isinstance(data, (np.ndarray, NDArray)) or type(data).__module__.startswith(
            "scipy.sparse"):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise ValueError(f"{what} must not be empty")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict((f"_{i}_{default_name}", d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise TypeError(
            f"{what} must be an NDArray, a numpy.ndarray, a list of them or a dict of them, "
            f"got {type(data).__name__}"
        )
    out = []
    for name, value in data.items():
        if type(value).__module__.startswith("scipy.sparse"):  # a SciPy CSR matrix
            from .ndarray.sparse import csr_matrix

            value = csr_matrix(value)
        if not isinstance(value, NDArray):
            try:
                value = _nd_array(value)
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"invalid type {type(value).__name__} for {what} {name!r}: should be an "
                    f"NDArray or a numpy.ndarray ({err})"
                ) from None
        out.append((name, value))
    return sorted(out, key=lambda kv: kv[0])


class NDArrayIter(DataIter):
    """Iterate over in-memory arrays (NDArray or numpy), as ``mx.io.NDArrayIter`` in MXNet 1.9.1.

    ``data`` / ``label``: an array, a list of arrays (named ``_0_data``, ``_1_data``, ... when
    there are several) or a dict name -> array; sources are ordered by name.  ``shuffle``
    permutes the examples on every ``reset()`` (and once at construction) using
    :func:`mxlite.random.generator`.  See the module docstring for ``last_batch_handle``.
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad",
                 data_name="data", label_name="softmax_label", layout="NCHW"):
        super().__init__(batch_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if last_batch_handle not in _LAST_BATCH_HANDLES:
            raise ValueError(
                f"last_batch_handle must be one of {_LAST_BATCH_HANDLES}, "
                f"got {last_batch_handle!r}"
            )
        if not isinstance(layout, str) or "N" not in layout:
            raise ValueError(f"layout must be a string containing 'N', got {layout!r}")
        self.data = _as_named_arrays(data, False, data_name, "data")
        self.label = _as_named_arrays(label, True, label_name, "label")
        self.layout = layout
        axis = layout.find("N")
        num = None
        for name, arr in self.data + self.label:
            if arr.ndim <= axis:
                raise ValueError(
                    f"array {name!r} of shape {arr.shape} has no batch axis {axis} "
                    f"(layout {layout!r})"
                )
            if num is None:
                num = arr.shape[axis]
            elif arr.shape[axis] < num:
                # (MXNet 1.9.1 counts the examples of the first data array and never checks
                # the others: a longer array's extra examples go unused, as here; a shorter
                # one failed at some batch)
                raise ValueError(
                    f"every data and label array needs as many examples as the first data "
                    f"array: {name!r} has {arr.shape[axis]}, expected {num}"
                )
        if shuffle and axis != 0:
            raise ValueError(f"shuffle needs the batch axis first, got layout {layout!r}")
        self.idx = np.arange(self.data[0][1].shape[0])
        self.shuffle = bool(shuffle)
        self.last_batch_handle = last_batch_handle
        self.batch_size = int(batch_size)
        self.cursor = -self.batch_size
        self.num_data = int(num)
        self._cache_data = None
        self._cache_label = None
        self.reset()
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)

    # ------------------------------------------------------------------ descriptions
    def _describe(self, sources):
        axis = self.layout.find("N")
        return [
            DataDesc(name, (*arr.shape[:axis], self.batch_size, *arr.shape[axis + 1:]),
                     arr.dtype, layout=self.layout)
            for name, arr in sources
        ]

    @property
    def provide_data(self):
        return self._describe(self.data)

    @property
    def provide_label(self):
        return self._describe(self.label)

    # ------------------------------------------------------------------ iteration
    def hard_reset(self):
        """Back to the start, dropping any rolled-over examples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        if self.shuffle:
            self._shuffle_data()
        if (self.last_batch_handle == "roll_over"
                and self.num_data - self.batch_size < self.cursor < self.num_data):
            # the tail of this epoch was cached by next(); the next epoch starts early
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self) -> bool:
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self) -> DataBatch:
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self.layout.find("N")] != self.batch_size:
            # incomplete tail ('discard' / 'roll_over'): keep it for roll_over and stop
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def _slice(self, sources, start=None, end=None):
        axis = self.layout.find("N")
        start = 0 if start is None else start
        if end is None:
            end = sources[0][1].shape[axis] if sources else 0
        index = (slice(None),) * axis + (slice(start, end),)
        return [arr[start:end] if arr.stype == "csr" else  # CSR batches stay CSR
                NDArray(np.array(arr._data[index]), arr.context) for _, arr in sources]

    def _concat(self, first, second):
        if not first or not second:
            return first if first else second
        axis = self.layout.find("N")
        from .ndarray.sparse import vstack

        return [
            vstack([a, b]) if a.stype == "csr" else
            NDArray(np.concatenate([a._data, b._data], axis=axis), a.context)
            for a, b in zip(first, second, strict=False)
        ]

    def _tile(self, arrays, repeats):
        out = []
        for arr in arrays:
            if arr.stype == "csr":
                from .ndarray.sparse import vstack

                out.append(vstack([arr] * repeats))
                continue
            reps = [1] * arr.ndim
            reps[0] = repeats
            out.append(NDArray(np.tile(arr._data, reps), arr.context))
        return out

    def _batchify(self, sources):
        if self.cursor >= self.num_data:
            raise ValueError("NDArrayIter is exhausted: call reset() before reading more data")
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            if self._cache_data is None and self._cache_label is None:
                raise ValueError("NDArrayIter roll_over: no examples were cached from last epoch")
            if self._cache_data is not None:
                cached = self._cache_data
                self._cache_data = None
            else:
                cached = self._cache_label
                self._cache_label = None
            return self._concat(cached, self._slice(sources, end=self.cursor + self.batch_size))
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            pad = self.batch_size - self.num_data + self.cursor
            first = self._slice(sources, start=self.cursor)
            if pad > self.num_data:
                second = self._tile(self._slice(sources, end=self.num_data), pad // self.num_data)
                if pad % self.num_data:
                    second = self._concat(second, self._slice(sources, end=pad % self.num_data))
            else:
                second = self._slice(sources, end=pad)
            return self._concat(first, second)
        end = min(self.cursor + self.batch_size, self.num_data)
        return self._slice(sources, self.cursor, end)

    def getdata(self):
        return self._batchify(self.data)

    def getlabel(self):
        return self._batchify(self.label)

    def getpad(self) -> int:
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        from . import random as _random
        from .ndarray.sparse import take_rows

        _random.generator().shuffle(self.idx)

        def permuted(v):
            if v.stype == "csr":
                return take_rows(v, self.idx)
            return NDArray(v._data[self.idx], v.context)

        self.data = [(k, permuted(v)) for k, v in self.data]
        self.label = [(k, permuted(v)) for k, v in self.label]


class _CurrentBatchIter(DataIter):
    """An iterator whose ``iter_next`` leaves the batch in ``current_batch``; the getters read
    it."""

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class ResizeIter(_CurrentBatchIter):
    """Make ``data_iter`` yield exactly ``size`` batches per epoch, restarting it when it runs
    out early and stopping it early when it has more.  ``reset_internal=False`` lets the inner
    iterator continue where it stopped across epochs."""

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"size must be a positive int, got {size!r}")
        self.data_iter = data_iter
        self.size = int(size)
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self) -> bool:
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True


class PrefetchingIter(_CurrentBatchIter):
    """Read batches of one or more iterators ahead in a background thread.

    Batches of several iterators are merged into one (their data and label lists concatenated);
    ``rename_data`` / ``rename_label`` (one dict per iterator) rename the inputs.
    """

    def __init__(self, iters, rename_data=None, rename_label=None):
        super().__init__()
        if not isinstance(iters, list):
            iters = [iters]
        if not iters:
            raise ValueError("PrefetchingIter needs at least one iterator, got an empty list")
        for name, ren in (("rename_data", rename_data), ("rename_label", rename_label)):
            if ren is not None and len(ren) != len(iters):
                raise ValueError(
                    f"{name} needs one dict per iterator ({len(iters)}), got {len(ren)}"
                )
        self.iters = iters
        self.n_iter = len(iters)
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0].shape[0]
        self.current_batch = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._start()

    @staticmethod
    def _renamed(descs, ren):
        out = []
        for d in descs:
            d = d if isinstance(d, DataDesc) else DataDesc(*d)
            name = ren[d.name] if ren is not None else d.name
            out.append(DataDesc(name, d.shape, d.dtype, d.layout))
        return out

    @property
    def provide_data(self):
        rens = self.rename_data or [None] * self.n_iter
        return [d for it, r in zip(self.iters, rens, strict=True)
                for d in self._renamed(it.provide_data, r)]

    @property
    def provide_label(self):
        rens = self.rename_label or [None] * self.n_iter
        return [d for it, r in zip(self.iters, rens, strict=True)
                for d in self._renamed(it.provide_label, r)]

    def _produce(self, q: queue.Queue, stop: threading.Event):
        while not stop.is_set():
            batches = []
            try:
                for it in self.iters:
                    try:
                        batches.append(it.next())
                    except StopIteration:
                        batches.append(None)
            except BaseException as err:  # hand errors to the consumer
                q.put(err)
                return
            q.put(batches)
            if batches[0] is None:
                return

    def _start(self):
        self._stop = threading.Event()
        self._queue = queue.Queue(maxsize=1)
        self._thread = threading.Thread(
            target=self._produce, args=(self._queue, self._stop), daemon=True
        )
        self._thread.start()

    def _halt(self):
        if self._thread is None:
            return
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.01)
            except queue.Empty:
                pass
        self._thread = None

    def __del__(self):
        try:
            self._halt()
        except Exception:  # interpreter shutdown
            pass

    def reset(self):
        self._halt()
        for it in self.iters:
            it.reset()
        self._start()

    def iter_next(self) -> bool:
        if self._thread is None:
            return False
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._thread = None
            raise item
        if item[0] is None:
            if any(b is not None for b in item):
                raise ValueError(
                    "PrefetchingIter: the iterators yield different numbers of batches"
                )
            self._thread.join()
            self._thread = None
            return False
        if any(b is None or b.pad != item[0].pad for b in item):
            raise ValueError("PrefetchingIter: the iterators yield different numbers of batches")
        self.current_batch = DataBatch(
            [d for b in item for d in b.data],
            [lab for b in item for lab in (b.label or [])],
            item[0].pad, item[0].index,
            provide_data=self.provide_data, provide_label=self.provide_label,
        )
        return True

    def next(self) -> DataBatch:
        if self.iter_next():
            return self.current_batch
        raise StopIteration


# ---------------------------------------------------------------------- LibSVM
def _parse_libsvm(path: str, width: int, what: str):
    """``(labels, CSRNDArray)`` of a LibSVM text file: one example per line,
    ``label index:value ...`` with 0-based feature indices below ``width``."""
    from .base import MXNetError
    from .ndarray.sparse import CSRNDArray

    labels, values, cols, ptr = [], [], [], [0]
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as err:
        raise MXNetError(f"LibSVMIter: cannot read {what} {path!r}: {err.strerror or err}") \
            from err
    for lineno, line in enumerate(lines, 1):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        try:
            labels.append(float(tokens[0].split(",")[0]))
            row = []
            for tok in tokens[1:]:
                idx, _, val = tok.partition(":")
                row.append((int(idx), float(val)))
        except ValueError:
            raise MXNetError(f"LibSVMIter: {path}:{lineno}: malformed line {line[:80]!r}") \
                from None
        row.sort()
        for idx, val in row:
            if not 0 <= idx < width:
                raise MXNetError(f"LibSVMIter: {path}:{lineno}: feature index {idx} is out of "
                                 f"range [0, {width}) (data_shape)")
            cols.append(idx)
            values.append(val)
        ptr.append(len(cols))
    csr = CSRNDArray(np.asarray(values, np.float32), np.asarray(cols, np.int64),
                     np.asarray(ptr, np.int64), (len(ptr) - 1, width))
    return np.asarray(labels, np.float32), csr


class LibSVMIter(DataIter):
    """Batches of CSR data read from a LibSVM file, as MXNet 1.9.1's ``mx.io.LibSVMIter``.

    ``data_libsvm``: the file (``label index:value ...`` per line, 0-based indices);
    ``data_shape``: ``(num_features,)``.  The labels are the first column, or come from
    ``label_libsvm`` (then CSR batches of ``label_shape``).  Each batch is a
    :class:`~mxlite.ndarray.sparse.CSRNDArray` of ``batch_size`` rows.  The last batch of an
    epoch is completed with examples from the start (``pad`` counts them) and the next epoch
    starts after those examples, as MXNet's ``round_batch``.  ``num_parts`` / ``part_index``
    read one contiguous part of the file.

    >>> import mxlite as mx, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.libsvm")
    >>> _ = open(path, "w").write("1 0:2.5 3:1\\n0 2:4\\n")
    >>> batch = next(iter(mx.io.LibSVMIter(data_libsvm=path, data_shape=(4,), batch_size=2)))
    >>> batch.data[0].stype, batch.data[0].asnumpy().tolist(), batch.label[0].asnumpy().tolist()
    ('csr', [[2.5, 0.0, 0.0, 1.0], [0.0, 0.0, 4.0, 0.0]], [1.0, 0.0])
    """

    def __init__(self, data_libsvm, data_shape, label_libsvm=None, label_shape=(1,),
                 batch_size=1, round_batch=True, num_parts=1, part_index=0, data_name="data",
                 label_name="softmax_label", **kwargs):
        from .base import MXNetError

        super().__init__(batch_size)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        shape = tuple(int(s) for s in (data_shape if isinstance(data_shape, (tuple, list))
                                       else (data_shape,)))
        if len(shape) != 1 or shape[0] <= 0:
            raise ValueError(f"data_shape must be (num_features,), got {data_shape!r}")
        if not round_batch:
            raise MXNetError("LibSVMIter: round_batch=False is not supported (as in MXNet "
                             "1.9.1's sparse batch loader)")
        if not (isinstance(num_parts, int) and num_parts >= 1
                and isinstance(part_index, int) and 0 <= part_index < num_parts):
            raise ValueError(f"need num_parts >= 1 and 0 <= part_index < num_parts, got "
                             f"{num_parts}, {part_index}")
        labels, data = _parse_libsvm(data_libsvm, shape[0], "data_libsvm")
        label_shape = tuple(int(s) for s in (label_shape if isinstance(label_shape,
                                                                        (tuple, list))
                                             else (label_shape,)))
        if label_libsvm is not None:
            _, label_csr = _parse_libsvm(label_libsvm, label_shape[0], "label_libsvm")
            if label_csr.shape[0] != data.shape[0]:
                raise MXNetError(f"LibSVMIter: {label_csr.shape[0]} labels for "
                                 f"{data.shape[0]} examples")
            self._labels = label_csr
        else:
            self._labels = labels
        n = data.shape[0]
        lo, hi = n * part_index // num_parts, n * (part_index + 1) // num_parts
        from .ndarray.sparse import slice as csr_slice

        self._data = csr_slice(data, (lo,), (hi,))
        if label_libsvm is not None:
            self._labels = csr_slice(self._labels, (lo,), (hi,))
        else:
            self._labels = self._labels[lo:hi]
        self.num_data = hi - lo
        if self.num_data < self.batch_size:
            raise MXNetError(f"LibSVMIter: the number of examples ({self.num_data}) must be at "
                             f"least batch_size ({self.batch_size})")
        self._data_name, self._label_name = data_name, label_name
        self._label_shape = label_shape
        self._start = 0  # first example of this epoch (after the previous epoch's padding)
        self._cursor = 0
        self._next_start = 0
        self._batch = None

    @property
    def provide_data(self):
        return [DataDesc(self._data_name, (self.batch_size, self._data.shape[1]), np.float32)]

    @property
    def provide_label(self):
        if isinstance(self._labels, np.ndarray):
            shape = (self.batch_size,) if self._label_shape == (1,) else \
                (self.batch_size, *self._label_shape)
        else:
            shape = (self.batch_size, self._labels.shape[1])
        return [DataDesc(self._label_name, shape, np.float32)]

    def reset(self):
        self._start = self._next_start
        self._cursor = self._start
        self._batch = None

    def _rows(self, rows):
        from .ndarray.sparse import take_rows

        data = take_rows(self._data, rows)
        if isinstance(self._labels, np.ndarray):
            label = NDArray(self._labels[rows].copy())
        else:
            label = take_rows(self._labels, rows)
        return data, label

    def iter_next(self) -> bool:
        if self._cursor >= self.num_data:
            return False
        end = self._cursor + self.batch_size
        rows = np.arange(self._cursor, end) % self.num_data
        pad = max(0, end - self.num_data)
        self._cursor = end
        self._next_start = pad  # the next epoch skips the examples used as padding
        data, label = self._rows(rows)
        self._batch = DataBatch(data=[data], label=[label], pad=pad)
        return True

    def next(self) -> DataBatch:
        if not self.iter_next():
            raise StopIteration
        return self._batch

    def getdata(self):
        """The current batch's data: one CSRNDArray (MXNet's C++ iterators hand out the array,
        not a list)."""
        return self._batch.data[0]

    def getlabel(self):
        """The current batch's label array."""
        return self._batch.label[0]

    def getpad(self):
        return self._batch.pad


_FILE_ITERS = ("MNISTIter", "CSVIter", "ImageRecordIter")


def __getattr__(name: str):
    # the file-reading iterators live in data_iters.py (ImageRecordIter needs Pillow)
    if name in _FILE_ITERS:
        from . import data_iters

        return getattr(data_iters, name)
    raise AttributeError(f"module 'mxlite.io' has no attribute {name!r}")
