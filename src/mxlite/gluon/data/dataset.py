"""Datasets: indexable collections of samples."""

from __future__ import annotations

from ...ndarray import NDArray

__all__ = ["ArrayDataset", "Dataset", "RecordFileDataset", "SimpleDataset"]


class Dataset:
    """Base class: ``__getitem__(idx)`` and ``__len__``; ``transform`` and friends wrap it."""

    def __getitem__(self, idx):
        raise TypeError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} must define __len__")

    def filter(self, fn):
        """The samples for which ``fn(sample)`` is true."""
        return SimpleDataset([i for i in range(len(self)) if fn(self[i])]).transform(
            lambda i: self[i])

    def shard(self, num_shards, index):
        """Shard ``index`` of ``num_shards`` contiguous parts (the first ones one longer)."""
        if not 0 <= index < num_shards:
            raise ValueError(f"Shard index of out bound: {index} out of {num_shards}")
        length = len(self)
        size, extra = divmod(length, num_shards)
        start = index * size + min(index, extra)
        end = start + size + (1 if index < extra else 0)
        return SimpleDataset(list(range(start, end))).transform(lambda i: self[i])

    def take(self, count):
        """The first ``count`` samples (all when None or larger)."""
        if count is None or count > len(self):
            count = len(self)
        return SimpleDataset(list(range(count))).transform(lambda i: self[i])

    def sample(self, sampler):
        """The samples at the indices ``sampler`` yields."""
        return SimpleDataset(list(sampler)).transform(lambda i: self[i])

    def transform(self, fn, lazy=True):
        """``fn(*sample)`` applied to every sample (on access when ``lazy``)."""
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([trans[i] for i in range(len(trans))])

    def transform_first(self, fn, lazy=True):
        """``fn`` applied to the first element of every sample only."""
        return self.transform(_TransformFirst(fn), lazy)


class _TransformFirst:
    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x), *args)
        return self._fn(x)


class SimpleDataset(Dataset):
    """A dataset over any indexable object (a list, an array)."""

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class ArrayDataset(Dataset):
    """Samples zipped from arrays of equal length (one array: its elements themselves)."""

    def __init__(self, *args):
        if not args:
            raise ValueError("Needs at least 1 arrays")
        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            if len(data) != self._length:
                raise ValueError(f"All arrays must have the same length; array[0] has length "
                                 f"{self._length} while array[{i}] has {len(data)}.")
            if isinstance(data, NDArray) and data.ndim == 1:
                data = data.asnumpy()
            self._data.append(data)

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self):
        return self._length


class RecordFileDataset(Dataset):
    """The raw records (bytes) of a RecordIO file ``filename`` (``.rec``) with its ``.idx``
    index beside it, in index order."""

    def __init__(self, filename):
        import os

        from ._recordio import IndexedRecordReader

        self.idx_file = os.path.splitext(filename)[0] + ".idx"
        self.filename = filename
        self._record = IndexedRecordReader(self.idx_file, self.filename)

    def __getitem__(self, idx):
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)
